"""Velocity Verlet on a coupled model, atoms and nodes together: thermo lines and CSV, mesh
fields as XDMF, atoms and nodes as H5MD and GSD trajectories, checkpoints of the node
positions and velocities that restart bitwise on any rank count; a SIGTERM or SIGINT writes
a checkpoint and stops."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from qc_sim.simulation.control import RunResult, Stop, no_progress, quiet

THERMO_COLUMNS = ("step", "time_ps", "pe_eV", "ke_eV", "etotal_eV", "temperature_K",
                  "fmax_eV_A")


@dataclass
class CoupledDynamicsResult(RunResult):
    """A coupled dynamics run: the model in its last state, the last dynamics state
    (velocities, forces) and the last thermo row (name to value)."""

    model: object = None
    state: object = None
    thermo: dict | None = None


def coupled_dynamics(case, model, serial=None, steps=None, restart=None, comm=None, log=None,
                     progress=None) -> CoupledDynamicsResult:
    """Velocity Verlet on the coupled model (docs/design.md, "one MD step"): thermo lines,
    CSV, mesh frames, checkpoints of the node positions and velocities keyed by node id;
    SIGTERM or SIGINT writes a checkpoint and stops. ``model`` is ``serial`` itself, or its
    share of this rank of ``comm`` (the thermo sums exact and global, checkpoints one part
    per rank, a stop agreed by every rank); ``restart`` a coupled checkpoint to continue."""
    from qc_sim.atomistic.random import maxwell_boltzmann_velocities
    from qc_sim.coupling.dynamics import CoupledDynamics, handshake_damping, node_masses
    from qc_sim.errors import InputError
    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint, write_checkpoint_parts
    from qc_sim.parallel.mpi import global_exact_sum, global_max
    from qc_sim.units import BOLTZMANN, MVV2E

    from qc_sim.io.thermo_csv import ThermoCSV
    from qc_sim.io.xdmf import write_xdmf
    from qc_sim.simulation.models import atom_mass, frame_fields
    from qc_sim.simulation.particles import CoupledTrajectory

    serial = model if serial is None else serial
    log, progress = log or quiet, progress or no_progress
    ranks = 1 if comm is None else comm.Get_size()
    main = ranks == 1 or comm.Get_rank() == 0
    dyn, c, output = case.dynamics, case.coupling, case.output
    mesh = serial.geometry.mesh
    nn, d = serial.y.shape
    ids = np.arange(nn)
    mine = ids if ranks == 1 else model.nodes  # the nodes this rank advances
    masses = node_masses(serial, atom_mass(case, serial.atoms.potential))
    damping = handshake_damping(serial, c.damping)[mine] if c.damping > 0 else None
    md = CoupledDynamics(model, masses[mine], dyn.timestep, damping)
    # The kinetic degrees of freedom, one count for the initial velocities and the thermo:
    # d (N_free - 1), the centre-of-mass motion removed (LAMMPS's default, as atoms count).
    dof = max(d * int(serial.free.sum()) - d, 0)
    if restart is None:
        v0 = maxwell_boltzmann_velocities(masses, ids, dyn.temperature, dyn.seed, dimension=d,
                                          fixed_mask=~serial.free, dof=dof)[:, :d]
        first_step, first_time = 0, 0.0
        total = dyn.steps if steps is None else steps
    else:
        reference = restart.fields.get("reference_nodes")
        if (restart.kind != "coupled" or not np.array_equal(restart.ids, ids)
                or reference is None or not np.array_equal(reference, mesh.nodes)):
            raise InputError(f"{restart.case_path}: the checkpoint's nodes are not those of the "
                             "coupled model its case builds")
        model.y = np.array(restart.positions, float)[mine]
        v0 = restart.velocities
        first_step, first_time = restart.step, restart.time
        total = max(dyn.steps - restart.step, 0) if steps is None else steps
    state = md.init_state(np.asarray(v0)[mine])
    state.step, state.time = first_step, first_time
    csv = ThermoCSV(output.thermo_csv if main else "", THERMO_COLUMNS, append=restart is not None)
    frames = []
    last = first_step + total
    result = CoupledDynamicsResult(model=model)
    log(f"{'Step':>10} {'Time':>10} {'PotEng':>16} {'KinEng':>14} {'TotEng':>16} "
          f"{'Temp':>10} {'Fmax':>12}")

    def report(s):
        ke = global_exact_sum(comm, 0.5 * MVV2E * md.masses[:, None] * s.velocities**2)
        temp = 2 * ke / (dof * BOLTZMANN) if dof else 0.0
        fmax = global_max(comm, float(np.sqrt((s.forces**2).sum(axis=1)).max(initial=0.0)))
        log(f"{s.step:>10d} {s.time:>10.4f} {s.energy:>16.8f} {ke:>14.8f} "
              f"{s.energy + ke:>16.8f} {temp:>10.3f} {fmax:>12.5e}")
        result.thermo = {"step": s.step, "time_ps": s.time, "pe_eV": s.energy, "ke_eV": ke,
                         "etotal_eV": s.energy + ke, "temperature_K": temp, "fmax_eV_A": fmax}
        csv.row(s.step, s.time, s.energy, ke, s.energy + ke, temp, fmax)

    def checkpoint(s):
        cp = Checkpoint(mine, model.y.copy(), s.velocities.copy(), s.step, s.time, case.text,
                        str(case.path), kind="coupled", fields={"reference_nodes": mesh.nodes})
        if ranks == 1:
            return write_checkpoint(output.checkpoint, cp, keep=output.keep)
        cp.fields = {}
        return write_checkpoint_parts(output.checkpoint, cp, comm, keep=output.keep,
                                      fields={"reference_nodes": mesh.nodes})

    def frame(s):
        fields = frame_fields(model, serial, comm, s.velocities)
        if fields is not None:  # rank 0 keeps the frames
            frames.append((s.time,) + fields)

    def stopping(s, signal) -> bool:
        """Whether to stop: at once on one rank; on several, every rank together, checked
        every 10 steps."""
        if ranks == 1:
            return signal is not None
        return s.step % 10 == 0 and global_max(comm, 1.0 if signal else 0.0) > 0

    particles = CoupledTrajectory(case, model, serial, None if restart is None else first_step)
    report(state)
    if output.mesh:
        frame(state)
    if restart is None or first_step % output.trajectory_every == 0:
        particles.append(state.step, state.time, state.velocities)
    start = time.perf_counter()
    with Stop() as stop:
        while state.step < last and not stopping(state, stop.signal):
            state = md.step(state)
            done = state.step - first_step
            progress(done, total, first_step)
            if (dyn.thermo and state.step % dyn.thermo == 0) or state.step == last:
                report(state)
            if output.mesh and state.step % output.trajectory_every == 0:
                frame(state)
            if state.step % output.trajectory_every == 0:
                particles.append(state.step, state.time, state.velocities)
            if (output.checkpoint and output.checkpoint_every
                    and state.step % output.checkpoint_every == 0 and state.step < last):
                checkpoint(state)
        wall = time.perf_counter() - start
        if output.mesh and frames:
            write_xdmf(output.mesh, serial.geometry.mesh, frames)
        particles.close()
        csv.close()
        if output.checkpoint:
            result.checkpoint = checkpoint(state)
            log(f"checkpoint {result.checkpoint} at step {state.step}"
                + (f" ({ranks} parts)" if ranks > 1 else ""))
        result.stopped_by = stop.signal
        result.stopped_elsewhere = stop.signal is not None if ranks == 1 else \
            global_max(comm, 1.0 if stop.signal else 0.0) > 0
    result.steps, result.wall_s, result.state = state.step - first_step, wall, state
    if result.stopped_elsewhere:
        report(state)
        log(f"stopped by {stop.signal.name if stop.signal else 'SIGTERM'} at step "
            f"{state.step}" + ("" if output.checkpoint else
                               " (no [output] checkpoint in the case)"))
        return result
    log(f"Loop time {wall:.3f} s for {result.steps} steps of {nn} nodes"
        + (f" on {ranks} ranks" if ranks > 1 else ""))
    return result
