"""Molecular dynamics of an atomistic case (NVE or Langevin) on one process: build the
crystal and its potential, run velocity Verlet in chunks, write thermo lines, CSV,
trajectories (H5MD, GSD, extended XYZ) and checkpoints that restart bitwise; a SIGTERM or
SIGINT writes a checkpoint and stops (:mod:`qc_sim.simulation.control`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qc_sim.atomistic import dynamics
from qc_sim.atomistic.random import maxwell_boltzmann_velocities
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.atomistic.thermo import Thermo, thermo
from qc_sim.backend import cpu, get_device
from qc_sim.cases.build import build_atoms, build_potential
from qc_sim.errors import InputError
from qc_sim.simulation.control import RunResult, Stop, no_progress, quiet

THERMO_COLUMNS = ("step", "time_ps", "pe_eV", "ke_eV", "etotal_eV", "temperature_K",
                  "pressure_bar", "fmax_eV_A")


@dataclass
class MDResult(RunResult):
    """A dynamics run: its result plus the system in its last state and the last thermo."""

    system: AtomisticSystem | None = None
    state: object = None
    last: Thermo | None = None


def build_system(case, backend=None):
    """(device, potential, atoms, :class:`AtomisticSystem`) of an atomistic case; ``backend``
    overrides the case's ``[run] backend``."""
    device = get_device(backend or case.run.backend)
    if device.name == "cpu" and case.run.threads:
        cpu.set_num_threads(case.run.threads, source="[run] threads")
    potential = build_potential(case)
    atoms = build_atoms(case, potential)
    system = AtomisticSystem(atoms, potential, device, skin=case.potential.skin)
    return device, potential, atoms, system


def write_atoms_checkpoint(case, system, state, path=None):
    """The checkpoint of ``system`` in ``state`` (ids, positions, velocities, step, time, the
    case), at ``path`` or the case's ``[output] checkpoint``: the path written."""
    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint

    path = Path(path or case.output.checkpoint)
    dev = system.device
    cp = Checkpoint(np.asarray(dev.to_host(system.ids)), np.array(dev.to_host(system.positions)),
                    np.array(dev.to_host(state.velocities)), state.step, state.time, case.text,
                    str(case.path))
    return write_checkpoint(path, cp, keep=case.output.keep)


def thread_warning(device) -> str:
    """The run header's line when the OpenMP threads of the ranks on a node (or of this
    process) exceed its cores; "" otherwise, or off the CPU backend."""
    return (cpu.thread_warning() or "") if device.name == "cpu" else ""


def initial_state(case, atoms, restart, steps, path):
    """(velocities, first step, first time, steps to run) of a run, or of a restart (whose
    positions are then put into ``atoms``, matched by global id)."""
    dyn = case.dynamics
    if restart is None:
        v0 = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, dyn.temperature, dyn.seed,
                                          dimension=atoms.dimension)
        return v0, 0, 0.0, dyn.steps if steps is None else steps
    order = np.argsort(atoms.ids)
    if not np.array_equal(np.asarray(atoms.ids)[order], restart.ids):
        raise InputError(f"{path}: the checkpoint's atoms are not those of its case")
    atoms.positions[order] = restart.positions
    v0 = np.empty_like(restart.velocities)
    v0[order] = restart.velocities
    total = max(dyn.steps - restart.step, 0) if steps is None else steps
    return v0, restart.step, restart.time, total


def _writers(case, system, atoms, start, log):
    """The trajectory writers the case's ``[output]`` asks for; a restart (``start``, its first
    step) continues their files."""
    from qc_sim.io.h5md_parts import merge_leftover_parts
    from qc_sim.io.trajectory import open_writer, outputs, parts_name

    output = case.output
    # a restart continues its trajectories: the frames before its first step are kept (those
    # a run on ranks stopped before merging merged first), the rest dropped
    if start is not None and parts_name(output):
        merge_leftover_parts(parts_name(output), start, log)
    writers = [open_writer(name, system.box, atoms.ids, system.device.to_host(system.types),
                           atoms.species, atoms.dimension, start=start)
               for name in outputs(output)]
    if output.xyz:
        from qc_sim.io.xyz import ExtXYZWriter

        symbols = np.asarray(atoms.species)[np.asarray(atoms.types)]
        writers.append(ExtXYZWriter(output.xyz, atoms.ids, symbols, start=start))
    return writers


def run_md(case, backend=None, steps=None, restart=None, log=None, progress=None) -> MDResult:
    """Run the atomistic ``case`` (a parsed :class:`~qc_sim.cases.schema.Case`), or with
    ``restart`` (a :class:`~qc_sim.io.checkpoint.Checkpoint`) continue it; ``steps``
    overrides the number of steps. Lines go to ``log``, progress to ``progress``."""
    from qc_sim.io.thermo_csv import ThermoCSV

    log, progress = log or quiet, progress or no_progress
    dyn = case.dynamics
    device, potential, atoms, system = build_system(case, backend)
    v0, first_step, first_time, total = initial_state(case, atoms, restart, steps, case.path)
    if restart is not None:
        system.set_positions(atoms.positions)
    log(f"qc-sim {'restart' if restart else 'run'} {case.path}: {len(atoms)} atoms, "
        f"{potential.__class__.__name__} ({len(potential.species)} species, cutoff "
        f"{potential.cutoff:.3f} Å), {device.describe()}"
        + (f", from step {first_step}" if restart else ""))
    if thread_warning(device):
        log(thread_warning(device))
    thermostat = None
    if dyn.ensemble == "langevin":
        target = dyn.thermostat_temperature if dyn.thermostat_temperature >= 0 else dyn.temperature
        thermostat = dynamics.Langevin(target, dyn.damping, dyn.seed)
    state = dynamics.init_state(system, v0, step=first_step, time=first_time)
    output = case.output
    csv = ThermoCSV(output.thermo_csv, THERMO_COLUMNS)
    writers = _writers(case, system, atoms, None if restart is None else first_step, log)
    result = MDResult(system=system)

    def frame(s):
        dev = system.device
        x, v = dev.to_host(system.positions), dev.to_host(s.velocities)
        for writer in writers:
            writer.append(s.step, s.time, x, v, box=system.box)

    last = first_step + total

    def report(s, always=False):
        """A thermo line every ``thermo`` steps, at the start and at the end (the run loop
        calls this at the end of every chunk too)."""
        if not (always or s.step == last or (dyn.thermo and s.step % dyn.thermo == 0)):
            return
        t = thermo(system, s.velocities, s.result, s.step, s.time)
        result.last = t
        log(t.line())
        csv.row(t.step, t.time, t.potential, t.kinetic, t.total, t.temperature, t.pressure,
                t.max_force)

    log(Thermo.HEADER)
    report(state, always=True)
    if writers and (restart is None or first_step % output.trajectory_every == 0):
        frame(state)  # a restart writes the frames the uninterrupted run would
    every = output.checkpoint_every if output.checkpoint else 0
    frames = output.trajectory_every if writers else 0
    chunk = min(x for x in (dyn.thermo or total, every or total, frames or total, 100,
                            max(total, 1)) if x > 0)
    start = time.perf_counter()
    done = 0
    with Stop() as stop:
        while done < total and stop.signal is None:
            # to the next multiple of the chunk: a restart from any step (one stopped by a
            # signal) meets the steps of the thermo lines, frames and checkpoints as the
            # uninterrupted run does
            n = min(chunk - state.step % chunk, total - done)
            state = dynamics.run(system, state, n, dyn.timestep, thermostat, dyn.thermo or total,
                                 report)
            done += n
            progress(done, total, first_step)
            if frames and state.step % frames == 0:
                frame(state)
            if every and state.step % every == 0 and done < total:
                write_atoms_checkpoint(case, system, state)
        device.synchronize()
        result.wall_s = time.perf_counter() - start
        for writer in writers:
            writer.close()
        csv.close()
        if case.output.checkpoint:
            result.checkpoint = write_atoms_checkpoint(case, system, state)
            log(f"checkpoint {result.checkpoint} at step {state.step}")
        result.stopped_by = stop.signal
    result.steps, result.state = done, state
    if result.stopped_by is not None:
        report(state, always=True)
        log(f"stopped by {result.stopped_by.name} at step {state.step}"
            + ("" if case.output.checkpoint else " (no [output] checkpoint in the case)"))
        return result
    wall = result.wall_s
    rate = len(atoms) * done / wall if wall > 0 else float("inf")
    result.figures = {"atom_steps_per_s": rate, "neighbour_builds": system.rebuilds}
    log(f"Loop time {wall:.3f} s for {done} steps of {len(atoms)} atoms: "
        f"{rate:.4g} atom-steps/s, {system.rebuilds} neighbour-list builds")
    return result
