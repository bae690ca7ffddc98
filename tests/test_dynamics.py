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


# slow (issue 22's 6-minute default run): 10,000 steps; the default run keeps the energy
# error's second order in the step and time reversibility
@pytest.mark.slow
def test_nve_energy_drift_500_atoms_10000_steps(lammps_potentials):
    """Done-when line: drift over 10,000 steps of 1 fs, 500 Cu atoms, 300 K, below 1e-4 of
    the total energy; bounded here by 5e-4 of the initial kinetic energy (the total is the
    cohesive energy, 90 times the kinetic: 1e-4 of it would allow 0.9 % of the kinetic);
    measured 1.63e-4 of it (1.8e-6 of the total)."""
    # a thin skin, so that the run also crosses neighbour-list rebuilds
    system, state = cu_system(lammps_potentials / "Cu_u3.eam", skin=0.3)
    assert len(system) == 500
    first = thermo(system, state.velocities, state.result, 0, 0.0)
    e0, ke0 = first.total, first.kinetic
    energies = []
    state = dynamics.run(system, state, 10_000, 0.001, thermo_every=500,
                         on_thermo=lambda s: energies.append(total_energy(system, s)))
    drift = max(abs(e - e0) for e in energies)
    assert state.step == 10_000 and len(energies) == 20
    print(f"NVE drift over 10,000 steps: {drift / ke0:.3e} of ke0, {drift / abs(e0):.3e} of "
          f"the total ({system.rebuilds} list builds)")
    assert drift < 5e-4 * ke0, drift / ke0
    assert system.rebuilds > 1


def ar_system(backend, cells=3, temperature=40.0):
    atoms = build_crystal(fcc(5.26), repeats=(cells,) * 3, species=("Ar",))
    pot = lennard_jones(0.0104, 3.4, 8.0, species=("Ar",), shift=True)
    system = AtomisticSystem(atoms, pot, get_device(backend), skin=0.5)
    v = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, temperature, 1)
    return system, dynamics.init_state(system, v)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_nve_energy_error_is_second_order_in_the_step(backend):
    """Velocity Verlet's energy error is O(dt^2): over the same 0.4 ps, the largest
    |E - E0| at dt = 10 fs over that at 5 fs is 4 (measured 3.993 on both backends), and a step's time and
    count advance by dt and 1."""
    errors = []
    for dt, steps in ((0.01, 40), (0.005, 80)):
        system, state = ar_system(backend)
        e0 = total_energy(system, state)
        energies = []
        state = dynamics.run(system, state, steps, dt, thermo_every=1,
                             on_thermo=lambda s: energies.append(total_energy(system, s)))
        assert state.step == steps and state.time == pytest.approx(0.4, rel=1e-12)
        assert len(energies) == steps
        errors.append(max(abs(e - e0) for e in energies))
    print(f"energy error ratio dt / (dt/2): {errors[0] / errors[1]:.3f} ({backend})")
    assert 3.8 < errors[0] / errors[1] < 4.2


def test_run_reports_on_its_thermo_steps_and_a_frictionless_langevin_step_is_verlet():
    """run() calls on_thermo every thermo_every steps and at the last step, with energies
    (NVE and Langevin); without thermo_every only at the last. A Langevin step whose damping
    time is endless (c1 = 1, no noise) is the velocity-Verlet step, forces and all."""
    system, state = ar_system("numpy")
    x0, v0 = positions_of(system), np.array(state.velocities)
    for bath in (None, dynamics.Langevin(40.0, 0.1, 3)):  # from step 0, then from 28
        seen, start = [], state.step
        state = dynamics.run(system, state, 25, 0.005, bath, thermo_every=10, on_thermo=lambda
                             s: seen.append((s.step, s.result.site_energy is not None)))
        assert seen == [(k, True) for k in range(start + 1, start + 26)
                        if k % 10 == 0 or k == start + 25]
        seen = []
        dynamics.run(system, state, 3, 0.005, bath, on_thermo=lambda s: seen.append(s.step))
        assert seen == [state.step + 3]
    verlet, _ = ar_system("numpy")
    frictionless, _ = ar_system("numpy")
    x0 = positions_of(verlet) + np.random.default_rng(6).normal(0, 0.05, x0.shape)  # forces
    for s in (verlet, frictionless):
        s.set_positions(s.device.asarray(x0))
    a = dynamics.nve_step(verlet, dynamics.init_state(verlet, v0), 0.005)
    b = dynamics.langevin_step(frictionless, dynamics.init_state(frictionless, v0), 0.005,
                               dynamics.Langevin(40.0, 1e300, 3))
    assert np.allclose(positions_of(frictionless), positions_of(verlet), rtol=0, atol=1e-13)
    assert np.allclose(np.asarray(b.velocities), np.asarray(a.velocities), rtol=1e-12,
                       atol=1e-14)
    assert not np.allclose(positions_of(verlet), x0 + 0.005 * v0, rtol=0, atol=1e-9)  # forces


def test_a_langevin_step_is_baoab():
    """One BAOAB step on atoms that feel no force (farther apart than the cutoff), against
    the formulas: x += dt/2 v; v = c1 v + sqrt((1 - c1^2) kB T / m) xi (xi the noise of
    (seed, step, id)), fixed atoms zero; x += dt/2 v. Equal to round-off."""
    from qc_sim.atomistic.random import gaussian3
    from qc_sim.units import BOLTZMANN, MVV2E

    atoms = build_crystal(fcc(12.0), repeats=(2, 2, 2), species=("Ar",))
    fixed = np.zeros(len(atoms), bool)
    fixed[3] = True
    pot = lennard_jones(0.0104, 3.4, 8.0, species=("Ar",))
    system = AtomisticSystem(atoms, pot, get_device("numpy"), skin=0.5, fixed=fixed)
    v0 = np.random.default_rng(2).normal(size=(len(atoms), 3))
    state = dynamics.init_state(system, v0, step=7, time=1.0)
    x0 = positions_of(system)
    assert np.abs(np.asarray(state.result.forces)).max() == 0.0
    dt, bath = 0.004, dynamics.Langevin(temperature=300.0, damping=0.1, seed=9)
    state = dynamics.langevin_step(system, state, dt, bath)
    c1 = np.exp(-dt / bath.damping)
    m = atoms.atom_masses
    xi = gaussian3(bath.seed, 7, atoms.ids)
    free = (~fixed)[:, None]
    v = (c1 * v0 + np.sqrt((1 - c1 * c1) * BOLTZMANN * 300.0 / (MVV2E * m))[:, None] * xi) * free
    assert np.allclose(np.asarray(state.velocities), v, rtol=1e-14, atol=1e-15)
    assert np.allclose(positions_of(system), x0 + 0.5 * dt * (v0 * free + v), rtol=0,
                       atol=1e-13)
    assert (state.step, state.time) == (8, pytest.approx(1.004, rel=1e-15))


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
    first = thermo(system, state.velocities, state.result, 0, 0.0)
    state = dynamics.run(system, state, 500, 0.005)
    # against the kinetic energy (the total is 14 times larger); reached 1.8e-4 of it
    assert abs(total_energy(system, state) - first.total) < 5e-4 * first.kinetic


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
