"""Dynamics: NVE conserves energy, Langevin reaches its temperature, both are deterministic."""

import numpy as np
import pytest

from qc_sim.atomistic import dynamics
from qc_sim.atomistic.random import maxwell_boltzmann_velocities
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.atomistic.thermo import thermo
from qc_sim.backend import get_device
from qc_sim.geometry.crystal import build_crystal
from qc_sim.geometry.lattice import fcc
from qc_sim.potentials import lennard_jones
from qc_sim.potentials.eam import Eam


def cu_system(potential_file, cells=5, backend="cpu", temperature=300.0, fixed=None, skin=1.0):
    atoms = build_crystal(fcc(3.615), repeats=(cells,) * 3, species=("Cu",))
    system = AtomisticSystem(atoms, Eam.from_file(potential_file), get_device(backend), skin=skin,
                             fixed=fixed)
    v = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, temperature, 4242)
    return system, dynamics.init_state(system, v)


def positions_of(system):
    """A host copy of the (unwrapped) positions."""
    return np.array(system.device.to_host(system.positions))


def total_energy(system, state):
    return thermo(system, state.velocities, state.result, state.step, state.time).total


def test_nve_energy_drift_500_atoms_10000_steps(lammps_potentials):
    """Done-when line: relative drift < 1e-4 over 10,000 steps of 1 fs, 500 Cu atoms, 300 K."""
    # a thin skin, so that the run also crosses neighbour-list rebuilds
    system, state = cu_system(lammps_potentials / "Cu_u3.eam", skin=0.3)
    assert len(system) == 500
    e0 = total_energy(system, state)
    energies = []
    state = dynamics.run(system, state, 10_000, 0.001, thermo_every=500,
                         on_thermo=lambda s: energies.append(total_energy(system, s)))
    drift = max(abs(e - e0) for e in energies) / abs(e0)
    assert state.step == 10_000 and len(energies) == 20
    print(f"NVE relative drift over 10,000 steps: {drift:.3e} ({system.rebuilds} list builds)")
    assert drift < 1e-4, drift
    assert system.rebuilds > 1


def test_nve_is_time_reversible(lammps_potentials):
    system, state = cu_system(lammps_potentials / "Cu_u3.eam", cells=3)
    x0 = positions_of(system)
    state = dynamics.run(system, state, 200, 0.002)
    state.velocities = -state.velocities
    state = dynamics.run(system, state, 200, 0.002)
    assert np.abs(positions_of(system) - x0).max() < 1e-8


def test_langevin_reaches_target_temperature(lammps_potentials):
    system, state = cu_system(lammps_potentials / "Cu_u3.eam", cells=4, temperature=0.0)
    bath = dynamics.Langevin(temperature=600.0, damping=0.05, seed=7)
    temps = []
    state = dynamics.run(system, state, 3000, 0.002, bath, thermo_every=10, on_thermo=lambda s: temps.append(
        thermo(system, s.velocities, s.result, s.step, s.time).temperature))
    mean = np.mean(temps[100:])
    # 256 atoms: the temperature fluctuates by ~sqrt(2/(3N)) ~ 5 %; its mean over 2000 steps
    # lies within ~2 % of the target
    assert abs(mean - 600.0) < 0.03 * 600.0, mean


def test_langevin_noise_depends_only_on_seed_step_and_id(lammps_potentials):
    """Two runs from the same state give bitwise-identical trajectories; a restart from the
    middle (state copied) continues exactly."""
    runs = []
    for _ in range(2):
        system, state = cu_system(lammps_potentials / "Cu_u3.eam", cells=3)
        bath = dynamics.Langevin(300.0, 0.1, 11)
        state = dynamics.run(system, state, 50, 0.002, bath)
        runs.append((positions_of(system), np.array(system.device.to_host(state.velocities))))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])

    system, state = cu_system(lammps_potentials / "Cu_u3.eam", cells=3)
    bath = dynamics.Langevin(300.0, 0.1, 11)
    state = dynamics.run(system, state, 20, 0.002, bath)
    restarted, _ = cu_system(lammps_potentials / "Cu_u3.eam", cells=3)
    restarted.set_positions(system.positions.copy())
    state2 = dynamics.init_state(restarted, state.velocities.copy(), step=state.step, time=state.time)
    state2 = dynamics.run(restarted, state2, 30, 0.002, bath)
    assert np.array_equal(positions_of(restarted), runs[0][0])


def test_fixed_atoms_do_not_move(lammps_potentials):
    atoms = build_crystal(fcc(3.615), repeats=(3, 3, 3), species=("Cu",))
    fixed = atoms.positions[:, 2] < 2.0
    system, state = cu_system(lammps_potentials / "Cu_u3.eam", cells=3, fixed=fixed)
    x0 = positions_of(system)
    state = dynamics.run(system, state, 100, 0.002)
    moved = np.abs(positions_of(system) - x0).max(axis=1)
    assert moved[fixed].max() == 0.0 and moved[~fixed].min() > 0.0
    assert np.abs(np.array(system.device.to_host(state.velocities))[fixed]).max() == 0.0


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_lj_nve_on_every_backend(backend):
    atoms = build_crystal(fcc(5.26), repeats=(3, 3, 3), species=("Ar",))
    pot = lennard_jones(0.0104, 3.4, 8.0, species=("Ar",), shift=True)
    system = AtomisticSystem(atoms, pot, get_device(backend), skin=0.5)
    v = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, 40.0, 1)
    state = dynamics.init_state(system, v)
    e0 = total_energy(system, state)
    state = dynamics.run(system, state, 500, 0.005)
    assert abs(total_energy(system, state) - e0) / abs(e0) < 1e-4


def test_fused_integrator_kernels_give_the_numpy_bits():
    """md_kick and md_drift evaluate the NumPy expressions in the same order (same bits);
    displacement_sq agrees to round-off (NumPy may sum the three squares in another order)."""
    from qc_sim.units import FTM2V

    device = get_device("cpu")
    k = device.kernels("integrate")
    rng = np.random.default_rng(3)
    n = 1000
    v, f, x, ref = (rng.normal(size=(n, 3)) for _ in range(4))
    m = rng.uniform(1, 200, n)
    w = (rng.uniform(size=n) > 0.1).astype(float)
    expect_v = v + (0.0005 * FTM2V) * f / m[:, None] * w[:, None]
    k.md_kick(n, 0.0005 * FTM2V, f, m, w, v)
    assert np.array_equal(v, expect_v)
    expect_x = x + 0.001 * v * w[:, None]
    k.md_drift(n, 0.001, v, w, x)
    assert np.array_equal(x, expect_x)
    d2 = np.empty(n)
    k.displacement_sq(n, x, ref, d2)
    assert np.allclose(d2, ((x - ref) ** 2).sum(axis=1), rtol=1e-15, atol=0)


def test_a_run_leaves_the_callers_atoms_alone(lammps_potentials):
    atoms = build_crystal(fcc(3.615), repeats=(3, 3, 3), species=("Cu",))
    before = atoms.positions.copy()
    system = AtomisticSystem(atoms, Eam.from_file(lammps_potentials / "Cu_u3.eam"),
                             get_device("cpu"))
    v = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, 300.0, 5)
    dynamics.run(system, dynamics.init_state(system, v), 20, 0.002)
    assert np.array_equal(atoms.positions, before)
    assert not np.array_equal(positions_of(system), before)
