"""``mpiexec -n N qc-sim run CASE`` (and ``restart``) of an atomistic case: the crystal split
over the ranks by cost-weighted RCB (:class:`~qc_sim.atomistic.domain.DomainDynamics`),
thermo lines from rank 0 with every sum exact (the same lines as a serial run), checkpoints
written as one part per rank that restart on any rank count, and SIGTERM/SIGINT stopping
every rank at the same step with a checkpoint."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from qc_sim.errors import InputError
from qc_sim.io.trajectory import parts_name


def run_case_on_ranks(path, comm, backend=None, steps=None, out=sys.stdout,
                      restart=None) -> int:
    from qc_sim.atomistic import dynamics
    from qc_sim.atomistic.domain import DomainDynamics
    from qc_sim.atomistic.thermo import Thermo, thermo
    from qc_sim.cases.schema import load_case, parse_case
    from qc_sim.cli.run import STOP_STATUS, _build, _Stop, initial_state, thread_warning
    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint_parts
    from qc_sim.parallel.decompose import rcb
    from qc_sim.parallel.mpi import global_max

    rank, size = comm.Get_rank(), comm.Get_size()
    case = load_case(path) if restart is None else parse_case(restart.case_text,
                                                               Path(restart.case_path))
    dyn, output = case.dynamics, case.output
    if output.xyz:
        raise InputError(f"{case.path}: [output] xyz is not written on several MPI ranks yet: "
                         "use the H5MD trajectory (one part per rank, merged), or run on one "
                         "rank")
    device, potential, atoms, _ = _build(case, backend)
    if case.run.cuda_aware_mpi:
        from qc_sim.parallel.mpi import cuda_aware, library

        if not cuda_aware():
            raise InputError(f"{case.path}: [run] cuda_aware_mpi = true but the MPI library "
                             f"({library()}) does not take device buffers (set "
                             "QC_SIM_CUDA_AWARE_MPI=1 if it does and cannot say so)")
    v0, first_step, first_time, total = initial_state(case, atoms, restart, steps, path)
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
    if rank == 0:
        print(f"qc-sim {'restart' if restart else 'run'} {case.path}: {len(atoms)} atoms on "
              f"{size} MPI ranks (imbalance {partition.imbalance(np.ones(len(atoms))):.3f}), "
              f"{potential.__class__.__name__}, {device.describe()}"
              + (f", from step {first_step}" if restart else ""), file=out)
        thread_warning(device, out)
        print(Thermo.HEADER, file=out)
    csv = open(output.thermo_csv, "w" if restart is None else "a") \
        if output.thermo_csv and rank == 0 else None
    if csv is not None and restart is None:
        csv.write("step,time_ps,pe_eV,ke_eV,etotal_eV,temperature_K,pressure_bar,fmax_eV_A\n")

    def report():
        result = run.system.compute(energy=True, virial=True)
        t = thermo(run.system, run.state.velocities, result, run.step_count, run.time,
                   comm=comm, owned=run.n_owned)
        if rank == 0:
            print(t.line(), file=out, flush=True)
            if csv is not None:
                csv.write(f"{t.step},{t.time!r},{t.potential!r},{t.kinetic!r},{t.total!r},"
                          f"{t.temperature!r},{t.pressure!r},{t.max_force!r}\n")

    def checkpoint():
        mine = run.owned()
        cp = Checkpoint(mine["ids"], mine["x"], mine["v"], run.step_count, run.time,
                        case.text, str(case.path))
        return write_checkpoint_parts(output.checkpoint, cp, comm, keep=output.keep)

    writer = _trajectory(output, comm, atoms, None if restart is None else first_step, out) \
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
    with _Stop() as stop:
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
        if csv is not None:
            csv.close()
        if writer is not None:
            writer.close()
        if output.checkpoint:
            written = checkpoint()
            if rank == 0:
                print(f"checkpoint {written} ({size} parts) at step {run.step_count}", file=out)
        stopped = global_max(comm, 1.0 if stop.signal else 0.0) > 0
        if stopped:
            if rank == 0:
                print(f"stopped at step {run.step_count}", file=out, flush=True)
                if writer is not None:
                    print(f"trajectory in {size} parts: qc-sim merge {parts_name(output)}",
                          file=out, flush=True)
            return STOP_STATUS[stop.signal] if stop.signal else 143
    if rank == 0:
        done = run.step_count - first_step
        print(f"Loop time {wall:.3f} s for {done} steps of {len(atoms)} atoms on {size} ranks: "
              f"{len(atoms) * done / wall if wall > 0 else float('inf'):.4g} atom-steps/s, "
              f"{run.exchanges} exchanges, {run.migrated} atoms migrated from rank 0", file=out)
    if writer is not None:
        _merge(output, comm, out)
    return 0


def _trajectory(output, comm, atoms, start, out):
    """This rank's part writer of the H5MD and GSD trajectories (``start``: a restart's first
    step). Rank 0 first removes what a run on more ranks left under that name, and the files
    of an earlier run; a restart's merges the frames before ``start`` of the parts a stopped
    run left, and the merge at the end appends to those files."""
    from qc_sim.io.h5md_parts import H5MDPartWriter
    from qc_sim.io.trajectory import merge_leftover_parts, outputs, remove_parts
    from qc_sim.parallel.mpi import barrier

    rank, size = comm.Get_rank(), comm.Get_size()
    name = parts_name(output)
    if rank == 0:
        if start is None:
            for target in outputs(output):
                Path(target).unlink(missing_ok=True)
            remove_parts(name, size)
        else:
            merge_leftover_parts(name, start, out)
    barrier(comm)
    return H5MDPartWriter(name, rank, size, len(atoms), atoms.box, atoms.species,
                          atoms.dimension, targets=outputs(output), start=start)


def _merge(output, comm, out) -> None:
    """Rank 0 merges the trajectory's parts into its H5MD and GSD files (frame by frame)
    unless the case says not to; the parts are removed once merged."""
    from qc_sim.io.h5md_parts import merge_trajectory
    from qc_sim.io.trajectory import remove_parts
    from qc_sim.parallel.mpi import barrier

    rank, size = comm.Get_rank(), comm.Get_size()
    barrier(comm)
    if rank != 0:
        return
    name = parts_name(output)
    if not output.merge:
        print(f"trajectory in {size} parts: qc-sim merge {name}", file=out)
        return
    merged = merge_trajectory(name)
    remove_parts(name)
    for path, frames, atoms in merged:
        print(f"trajectory {path}: {frames} frames of {atoms} atoms merged from {size} parts",
              file=out)
