"""``qc-sim run CASE`` and ``qc-sim restart CHECKPOINT``: build the case, run it, print
LAMMPS-style thermo lines, write checkpoints; SIGTERM or SIGINT (what a scheduler sends at the
end of the wall time) writes a checkpoint and stops."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import numpy as np

from qc_sim.atomistic import dynamics
from qc_sim.atomistic.random import maxwell_boltzmann_velocities
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.atomistic.thermo import Thermo, thermo
from qc_sim.backend import cpu, get_device
from qc_sim.cases.build import build_atoms, build_potential
from qc_sim.cases.schema import load_case, parse_case
from qc_sim.errors import InputError

STOP_STATUS = {signal.SIGTERM: 143, signal.SIGINT: 130}


class _Silent:
    """The stdout of an MPI rank other than 0: the lines are rank 0's to print."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def rank_out(out, comm):
    """``out`` on rank 0 (or without a communicator); a writer that drops everything on
    the other ranks."""
    return out if comm is None or comm.Get_rank() == 0 else _Silent()


class _Stop:
    """Remembers the first SIGTERM/SIGINT; the run loop checks it between chunks."""

    def __init__(self):
        self.signal = None
        self._old = {}

    def __enter__(self):
        for sig in STOP_STATUS:
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal = signal.Signals(signum)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


class ProgressBar:
    """A one-line progress bar on stderr when it is a terminal (``mode`` auto) or always;
    batch logs get only the thermo lines. It redraws at most ten times a second."""

    WIDTH = 30

    def __init__(self, total: int, mode: str = "auto", first: int = 0, stream=None):
        self.stream = sys.stderr if stream is None else stream
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.on = total > 0 and (mode == "always" or (mode == "auto" and tty))
        self.total, self.first = total, first
        self.start = time.perf_counter()
        self.drawn = -1.0  # when the bar was last drawn
        self.visible = False

    def update(self, done: int) -> None:
        if not self.on:
            return
        now = time.perf_counter()
        if self.visible and now - self.drawn < 0.1 and done < self.total:
            return
        self.drawn, self.visible = now, True
        frac = done / self.total
        fill = int(round(self.WIDTH * frac))
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        self.stream.write(f"\r[{'#' * fill}{'.' * (self.WIDTH - fill)}] step "
                          f"{self.first + done}/{self.first + self.total} {100 * frac:5.1f}% "
                          f"elapsed {elapsed:6.1f} s, left {eta:6.1f} s\x1b[K")
        self.stream.flush()

    def clear(self) -> None:
        """Erase the bar before a thermo line is printed; the next update redraws it."""
        if self.on and self.visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.visible = False

    def close(self) -> None:
        if self.on:
            self.stream.write("\n")
            self.stream.flush()


def _build(case, backend):
    device = get_device(backend or case.run.backend)
    if device.name == "cpu" and case.run.threads:
        cpu.set_num_threads(case.run.threads, source="[run] threads")
    potential = build_potential(case)
    atoms = build_atoms(case, potential)
    system = AtomisticSystem(atoms, potential, device, skin=case.potential.skin)
    return device, potential, atoms, system


def _checkpoint(case, system, state, path=None):
    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint

    path = Path(path or case.output.checkpoint)
    dev = system.device
    cp = Checkpoint(np.asarray(dev.to_host(system.ids)), np.array(dev.to_host(system.positions)),
                    np.array(dev.to_host(state.velocities)), state.step, state.time, case.text,
                    str(case.path))
    return write_checkpoint(path, cp, keep=case.output.keep)


def thread_warning(device, out) -> None:
    """The run header's line when the OpenMP threads of the ranks on a node (or of this
    process) exceed its cores; nothing otherwise, or off the CPU backend."""
    if device.name == "cpu":
        line = cpu.thread_warning()
        if line:
            print(line, file=out)


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


def run_case(path, backend=None, steps=None, out=sys.stdout, restart=None) -> int:
    """Run a case file (or, with ``restart``, continue a checkpoint's case)."""
    if restart is None:
        case = load_case(path)
    else:
        case = parse_case(restart.case_text, Path(restart.case_path))
    dyn = case.dynamics
    device, potential, atoms, system = _build(case, backend)
    v0, first_step, first_time, total = initial_state(case, atoms, restart, steps, path)
    if restart is not None:
        system.set_positions(atoms.positions)
    print(f"qc-sim {'restart' if restart else 'run'} {case.path}: {len(atoms)} atoms, "
          f"{potential.__class__.__name__} ({len(potential.species)} species, cutoff "
          f"{potential.cutoff:.3f} Å), {device.describe()}"
          + (f", from step {first_step}" if restart else ""), file=out)
    thread_warning(device, out)
    thermostat = None
    if dyn.ensemble == "langevin":
        target = dyn.thermostat_temperature if dyn.thermostat_temperature >= 0 else dyn.temperature
        thermostat = dynamics.Langevin(target, dyn.damping, dyn.seed)
    state = dynamics.init_state(system, v0, step=first_step, time=first_time)
    output = case.output
    csv = open(output.thermo_csv, "w") if output.thermo_csv else None
    if csv is not None:
        csv.write("step,time_ps,pe_eV,ke_eV,etotal_eV,temperature_K,pressure_bar,fmax_eV_A\n")
    writers = []
    # a restart continues its trajectories: the frames before its first step are kept (those
    # a run on ranks stopped before merging merged first), the rest dropped
    start = None if restart is None else first_step
    from qc_sim.io.trajectory import merge_leftover_parts, open_writer, outputs, parts_name

    if start is not None and parts_name(output):
        merge_leftover_parts(parts_name(output), start, out)
    for name in outputs(output):
        writers.append(open_writer(name, system.box, atoms.ids,
                                   system.device.to_host(system.types), atoms.species,
                                   atoms.dimension, start=start))
    if output.xyz:
        from qc_sim.io.xyz import ExtXYZWriter

        symbols = np.asarray(atoms.species)[np.asarray(atoms.types)]
        writers.append(ExtXYZWriter(output.xyz, atoms.ids, symbols, start=start))

    def frame(s):
        dev = system.device
        x, v = dev.to_host(system.positions), dev.to_host(s.velocities)
        for writer in writers:
            writer.append(s.step, s.time, x, v, box=system.box)

    bar = ProgressBar(total, output.progress, first=first_step)

    last = first_step + total

    def report(s, always=False):
        """A thermo line every ``thermo`` steps, at the start and at the end (the run loop
        calls this at the end of every chunk too)."""
        if not (always or s.step == last or (dyn.thermo and s.step % dyn.thermo == 0)):
            return
        bar.clear()
        t = thermo(system, s.velocities, s.result, s.step, s.time)
        print(t.line(), file=out, flush=True)
        if csv is not None:
            csv.write(f"{t.step},{t.time!r},{t.potential!r},{t.kinetic!r},{t.total!r},"
                      f"{t.temperature!r},{t.pressure!r},{t.max_force!r}\n")

    print(Thermo.HEADER, file=out)
    report(state, always=True)
    if writers and (restart is None or first_step % output.trajectory_every == 0):
        frame(state)  # a restart writes the frames the uninterrupted run would
    every = output.checkpoint_every if output.checkpoint else 0
    frames = output.trajectory_every if writers else 0
    chunk = min(x for x in (dyn.thermo or total, every or total, frames or total, 100,
                            max(total, 1)) if x > 0)
    start = time.perf_counter()
    done = 0
    with _Stop() as stop:
        while done < total and stop.signal is None:
            # to the next multiple of the chunk: a restart from any step (one stopped by a
            # signal) meets the steps of the thermo lines, frames and checkpoints as the
            # uninterrupted run does
            n = min(chunk - state.step % chunk, total - done)
            state = dynamics.run(system, state, n, dyn.timestep, thermostat, dyn.thermo or total,
                                 report)
            done += n
            bar.update(done)
            if frames and state.step % frames == 0:
                frame(state)
            if every and state.step % every == 0 and done < total:
                _checkpoint(case, system, state)
        device.synchronize()
        bar.close()
        wall = time.perf_counter() - start
        for writer in writers:
            writer.close()
        if csv is not None:
            csv.close()
        if case.output.checkpoint:
            written = _checkpoint(case, system, state)
            print(f"checkpoint {written} at step {state.step}", file=out)
        if stop.signal is not None:
            report(state, always=True)
            print(f"stopped by {stop.signal.name} at step {state.step}"
                  + ("" if case.output.checkpoint else " (no [output] checkpoint in the case)"),
                  file=out, flush=True)
            return STOP_STATUS[stop.signal]
    rate = len(atoms) * done / wall if wall > 0 else float("inf")
    print(f"Loop time {wall:.3f} s for {done} steps of {len(atoms)} atoms: "
          f"{rate:.4g} atom-steps/s, {system.rebuilds} neighbour-list builds", file=out)
    return 0


def restart_case(checkpoint, backend=None, steps=None, out=sys.stdout, cp=None) -> int:
    """Continue the checkpoint ``checkpoint`` (``cp``: it, already read)."""
    from qc_sim.io.checkpoint import read_checkpoint

    cp = read_checkpoint(checkpoint) if cp is None else cp
    if cp.kind == "coupled":
        from qc_sim.cli.coupled import run_coupled

        return run_coupled(None, backend=backend, out=out, steps=steps, restart=cp)
    if cp.kind == "region":
        from qc_sim.cli.region import run_region

        return run_region(None, backend=backend, out=out, steps=steps, restart=cp)
    if cp.kind != "atoms":
        raise InputError(f"{checkpoint}: a checkpoint of kind '{cp.kind}' (this qc-sim knows "
                         "atoms and coupled)")
    return run_case(checkpoint, backend=backend, steps=steps, out=out, restart=cp)
