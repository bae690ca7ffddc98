"""Molecular dynamics of an atomistic case on the ranks of an MPI communicator (what
``mpiexec -n N qc-sim run CASE`` and ``restart`` run): the crystal split
over the ranks by cost-weighted RCB (:class:`~qc_sim.atomistic.domain.DomainDynamics`),
thermo lines from rank 0 with every sum exact (the same lines as a serial run), checkpoints
written as one part per rank that restart on any rank count, and SIGTERM/SIGINT stopping
every rank at the same step with a checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from qc_sim.errors import InputError
from qc_sim.io.trajectory import parts_name
from qc_sim.simulation.control import RunResult, Stop, rank_log


def run_md_on_ranks(case, comm, backend=None, steps=None, restart=None, log=None) -> RunResult:
    """Run (or with ``restart``, continue) the atomistic ``case`` on the ranks of ``comm``;
    rank 0 logs. Every rank returns the result."""
    from qc_sim.atomistic import dynamics
    from qc_sim.atomistic.domain import DomainDynamics
    from qc_sim.atomistic.thermo import Thermo, thermo
    from qc_sim.simulation.atomistic import (THERMO_COLUMNS, build_system, initial_state,
                                             thread_warning)
    from qc_sim.io.thermo_csv import ThermoCSV
    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint_parts
    from qc_sim.parallel.decompose import rcb
    from qc_sim.parallel.mpi import global_max

    rank, size = comm.Get_rank(), comm.Get_size()
    log = rank_log(log, comm)
    dyn, output = case.dynamics, case.output
    if output.xyz:
        raise InputError(f"{case.path}: [output] xyz is not written on several MPI ranks yet: "
                         "use the H5MD trajectory (one part per rank, merged), or run on one "
                         "rank")
    device, potential, atoms, _ = build_system(case, backend)
    if case.run.cuda_aware_mpi:
        from qc_sim.parallel.mpi import cuda_aware, library

        if not cuda_aware():
            raise InputError(f"{case.path}: [run] cuda_aware_mpi = true but the MPI library "
                             f"({library()}) does not take device buffers (set "
                             "QC_SIM_CUDA_AWARE_MPI=1 if it does and cannot say so)")
    v0, first_step, first_time, total = initial_state(case, atoms, restart, steps, case.path)
    partition = rcb(atoms.positions, np.ones(len(atoms)), size, atoms.box.lo, atoms.box.hi)
    if partition.thinnest() < potential.cutoff:
        raise InputError(f"{case.path}: {size} ranks cut the {len(atoms)}-atom domain into "
                         f"sub-domains {partition.thinnest():.3g} Å thin, less than the "
                         f"interaction range {potential.cutoff:.3g} Å: use fewer ranks")
    thermostat = None
    if dyn.ensemble == "langevin":
        target = dyn.thermostat_temperature if dyn.thermostat_temperature >= 0 \
            else dyn.temperature
        thermostat = dynamics.Langevin(target, dyn.damping, dyn.seed)
    run = DomainDynamics(comm, atoms, v0, potential, device, partition,
                         skin=case.potential.skin, thermostat=thermostat, step=first_step,
                         time=first_time, rebalance=case.run.rebalance,
                         cuda_aware=case.run.cuda_aware_mpi)
    log(f"qc-sim {'restart' if restart else 'run'} {case.path}: {len(atoms)} atoms on "
        f"{size} MPI ranks (imbalance {partition.imbalance(np.ones(len(atoms))):.3f}), "
        f"{potential.__class__.__name__}, {device.describe()}"
        + (f", from step {first_step}" if restart else ""))
    if thread_warning(device):
        log(thread_warning(device))
    log(Thermo.HEADER)
    csv = ThermoCSV(output.thermo_csv if rank == 0 else "", THERMO_COLUMNS,
                    append=restart is not None)
    result = RunResult()

    def report():
        result = run.system.compute(energy=True, virial=True)
        t = thermo(run.system, run.state.velocities, result, run.step_count, run.time,
                   comm=comm, owned=run.n_owned)
        log(t.line())
        csv.row(t.step, t.time, t.potential, t.kinetic, t.total, t.temperature, t.pressure,
                t.max_force)

    def checkpoint():
        mine = run.owned()
        cp = Checkpoint(mine["ids"], mine["x"], mine["v"], run.step_count, run.time,
                        case.text, str(case.path))
        return write_checkpoint_parts(output.checkpoint, cp, comm, keep=output.keep)

    writer = _trajectory(output, comm, atoms, None if restart is None else first_step, log) \
        if parts_name(output) else None

    def frame():
        mine = run.owned()
        writer.append(run.step_count, run.time, mine["ids"], mine["types"], mine["x"],
                      mine["v"])

    report()
    if writer is not None and (restart is None or first_step % output.trajectory_every == 0):
        frame()  # a restart writes the frames the uninterrupted run would
    last = first_step + total
    every = output.checkpoint_every if output.checkpoint else 0
    start = time.perf_counter()
    with Stop() as stop:
        while run.step_count < last:
            run.step(dyn.timestep)
            s = run.step_count
            if (dyn.thermo and s % dyn.thermo == 0) or s == last:
                report()
            if every and s % every == 0 and s < last:
                checkpoint()
            if writer is not None and s % output.trajectory_every == 0:
                frame()
            if s % 10 == 0 and global_max(comm, 1.0 if stop.signal else 0.0) > 0:
                break  # every rank stops at the same step
        wall = time.perf_counter() - start
        csv.close()
        if writer is not None:
            writer.close()
        if output.checkpoint:
            result.checkpoint = checkpoint()
            log(f"checkpoint {result.checkpoint} ({size} parts) at step {run.step_count}")
        result.stopped_by = stop.signal
        result.stopped_elsewhere = global_max(comm, 1.0 if stop.signal else 0.0) > 0
    done = run.step_count - first_step
    result.steps, result.wall_s = done, wall
    if result.stopped_elsewhere:
        log(f"stopped at step {run.step_count}")
        if writer is not None:
            log(f"trajectory in {size} parts: qc-sim merge {parts_name(output)}")
        return result
    log(f"Loop time {wall:.3f} s for {done} steps of {len(atoms)} atoms on {size} ranks: "
        f"{len(atoms) * done / wall if wall > 0 else float('inf'):.4g} atom-steps/s, "
        f"{run.exchanges} exchanges, {run.migrated} atoms migrated from rank 0")
    if writer is not None:
        _merge(output, comm, log)
    return result


def _trajectory(output, comm, atoms, start, log):
    """This rank's part writer of the H5MD and GSD trajectories (``start``: a restart's first
    step). Rank 0 first removes what a run on more ranks left under that name, and the files
    of an earlier run; a restart's merges the frames before ``start`` of the parts a stopped
    run left, and the merge at the end appends to those files."""
    from qc_sim.io.h5md_parts import H5MDPartWriter
    from qc_sim.io.h5md_parts import merge_leftover_parts, remove_parts
    from qc_sim.io.trajectory import outputs
    from qc_sim.parallel.mpi import barrier

    rank, size = comm.Get_rank(), comm.Get_size()
    name = parts_name(output)
    if rank == 0:
        if start is None:
            for target in outputs(output):
                Path(target).unlink(missing_ok=True)
            remove_parts(name, size)
        else:
            merge_leftover_parts(name, start, log)
    barrier(comm)
    return H5MDPartWriter(name, rank, size, len(atoms), atoms.box, atoms.species,
                          atoms.dimension, targets=outputs(output), start=start)


def _merge(output, comm, log) -> None:
    """Rank 0 merges the trajectory's parts into its H5MD and GSD files (frame by frame)
    unless the case says not to; the parts are removed once merged."""
    from qc_sim.io.h5md_parts import merge_trajectory, remove_parts
    from qc_sim.parallel.mpi import barrier

    rank, size = comm.Get_rank(), comm.Get_size()
    barrier(comm)
    if rank != 0:
        return
    name = parts_name(output)
    if not output.merge:
        log(f"trajectory in {size} parts: qc-sim merge {name}")
        return
    merged = merge_trajectory(name)
    remove_parts(name)
    for path, frames, atoms in merged:
        log(f"trajectory {path}: {frames} frames of {atoms} atoms merged from {size} parts")
