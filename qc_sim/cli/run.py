"""``qc-sim run CASE``: build the case, run it, print LAMMPS-style thermo lines."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from qc_sim.atomistic import dynamics
from qc_sim.atomistic.random import maxwell_boltzmann_velocities
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.atomistic.thermo import Thermo, thermo
from qc_sim.backend import cpu, get_device
from qc_sim.cases.build import build_atoms, build_potential
from qc_sim.cases.schema import load_case


def run_case(path, backend=None, steps=None, out=sys.stdout) -> int:
    case = load_case(path)
    if steps is not None:
        case = replace(case, dynamics=replace(case.dynamics, steps=steps))
    device = get_device(backend or case.run.backend)
    if device.name == "cpu" and case.run.threads:
        cpu.set_num_threads(case.run.threads)
    potential = build_potential(case)
    atoms = build_atoms(case, potential)
    dyn = case.dynamics
    system = AtomisticSystem(atoms, potential, device, skin=case.potential.skin)
    v0 = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, dyn.temperature, dyn.seed,
                                      dimension=atoms.dimension)
    print(f"qc-sim run {case.path}: {len(atoms)} atoms, {potential.__class__.__name__} "
          f"({len(potential.species)} species, cutoff {potential.cutoff:.3f} Å), "
          f"{device.describe()}", file=out)
    thermostat = None
    if dyn.ensemble == "langevin":
        target = dyn.thermostat_temperature if dyn.thermostat_temperature >= 0 else dyn.temperature
        thermostat = dynamics.Langevin(target, dyn.damping, dyn.seed)
    state = dynamics.init_state(system, v0)
    print(Thermo.HEADER, file=out)
    print(thermo(system, state.velocities, state.result, 0, 0.0).line(), file=out)

    def report(s):
        print(thermo(system, s.velocities, s.result, s.step, s.time).line(), file=out, flush=True)

    start = time.perf_counter()
    state = dynamics.run(system, state, dyn.steps, dyn.timestep, thermostat, dyn.thermo or dyn.steps,
                         report)
    device.synchronize()
    wall = time.perf_counter() - start
    rate = len(atoms) * dyn.steps / wall if wall > 0 else float("inf")
    print(f"Loop time {wall:.3f} s for {dyn.steps} steps of {len(atoms)} atoms: "
          f"{rate:.4g} atom-steps/s, {system.rebuilds} neighbour-list builds", file=out)
    return 0
