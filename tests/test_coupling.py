"""The blended handshake: the patch-test promises of bqce, bgfc and bqcf in 2D and 3D,
energy-consistent forces, and the build-time check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.coupling import CoupledModel, GhostForceError, build_geometry
from qc_sim.geometry import fcc, triangular
from qc_sim.potentials import lennard_jones
from qc_sim.potentials.eam import Eam

ROOT = Path(__file__).resolve().parents[1]
LJ = lennard_jones(1.0, 1.0, 2.5)
A2 = 2 ** (1 / 6) * 0.99  # a triangular lattice slightly compressed: stressed at F = I


def geometry_2d(width=4, core=4, reach=2 * 2.5):
    lat = triangular(A2)
    half = core + width + 10
    lo = (0.0, 0.0)
    hi = (2 * half * A2, 2 * (half // 2 + 1) * A2 * 3**0.5)
    center = (half * A2, (half // 2 + 1) * A2 * 3**0.5 / 1.0 / 1.0)
    return build_geometry(lat, lo, hi, center, core * A2, width * A2, reach=reach)


@pytest.fixture(scope="module")
def geometry_3d(lammps_potentials):
    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    a = 3.6149250663890298
    g = build_geometry(fcc(a), (0, 0, 0), (18 * a,) * 3, (9 * a,) * 3, 1.5 * a, 1.5 * a,
                       reach=2 * pot.cutoff)
    return g, pot


FAR = np.array([[1.001, 0.0004], [-0.0002, 0.9995]])


@pytest.mark.parametrize("dim", [2, 3])
def test_bqcf_and_bgfc_keep_their_patch_test_promises(dim, geometry_3d):
    """Done-when: bqcf at random F and bgfc at its F, ghost forces < 1e-8 eV/Å (measured
    ~1e-12), with LJ in 2D and EAM Cu in 3D."""
    if dim == 2:
        g, pot, species, far = geometry_2d(), LJ, "X", FAR
    else:
        (g, pot), species = geometry_3d, "Cu"
        far = np.eye(3) + 1e-3 * np.random.default_rng(1).uniform(-1, 1, (3, 3))
    rng = np.random.default_rng(2)
    randoms = [np.eye(dim) + 1e-2 * rng.uniform(-1, 1, (dim, dim)) for _ in range(3)]
    bqcf = CoupledModel(g, pot, species, "bqcf", device=get_device("cpu"))
    for r in bqcf.patch_test(randoms):
        assert r["max_ghost_force"] < 1e-8, r
    bgfc = CoupledModel(g, pot, species, "bgfc", far_field=far, device=get_device("cpu"))
    assert bgfc.patch_test([far])[0]["max_ghost_force"] < 1e-8
    bqce = CoupledModel(g, pot, species, "bqce", device=get_device("cpu"))
    worst = bqce.patch_test([far])[0]
    assert worst["max_ghost_force"] > 1e-3  # bqce does have ghost forces, largest in the
    assert worst["handshake"] == worst["max_ghost_force"]  # handshake


def test_bqce_ghost_forces_fall_as_the_handshake_widens():
    """Ghost forces of bqce against the handshake width w (lattice spacings). For a smooth
    blend the ghost force is driven by the curvature of beta, O(w^-2) pointwise (Van Koten &
    Luskin, SIAM J. Numer. Anal. 49 (2011) 2182, whose l2 strain error falls as w^-3/2);
    measured here (2D LJ, quintic blend): rates 1.3, 2.6, 2.5 between w = 2, 4, 8, 16."""
    widths = [2, 4, 8, 16]
    ghost = []
    for w in widths:
        model = CoupledModel(geometry_2d(width=w), LJ, "X", "bqce", device=get_device("cpu"))
        ghost.append(model.patch_test([FAR])[0]["max_ghost_force"])
    rates = np.log2(np.array(ghost[:-1]) / ghost[1:])
    print("bqce ghost force vs w:", dict(zip(widths, np.round(ghost, 6))), "rates", rates)
    assert np.all(np.diff(ghost) < 0)
    assert np.all(rates[1:] > 1.8)  # at least the predicted second order once w >= 4


@pytest.mark.parametrize("method", ["bqce", "bgfc"])
def test_coupled_forces_are_minus_the_energy_gradient(method):
    g = geometry_2d(width=3, core=3)
    model = CoupledModel(g, LJ, "X", method, far_field=FAR, device=get_device("cpu"))
    rng = np.random.default_rng(3)
    y = g.mesh.nodes @ FAR.T + rng.normal(0, 0.02, g.mesh.nodes.shape) * model.free[:, None]
    _, f = model.evaluate(y)
    h = 1e-6
    for zone in (0, 1, 2):
        nodes = np.nonzero((g.node_zone == zone) & model.free)[0]
        for node in rng.choice(nodes, 3, replace=False):
            for k in range(2):
                yp = y.copy()
                yp[node, k] += h
                ym = y.copy()
                ym[node, k] -= h
                fd = -(model.evaluate(yp)[0] - model.evaluate(ym)[0]) / (2 * h)
                assert f[node, k] == pytest.approx(fd, rel=1e-5, abs=1e-7)


def test_a_broken_promise_stops_the_build(geometry_3d, lammps_potentials):
    """bqcf with EAM needs padding two cutoffs deep (forces see the neighbours' densities);
    one cutoff leaves ghost forces at the handshake's edge, and the build refuses."""
    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    a = 3.6149250663890298
    thin = build_geometry(fcc(a), (0, 0, 0), (18 * a,) * 3, (9 * a,) * 3, 1.5 * a, 1.5 * a,
                          reach=pot.cutoff)
    with pytest.raises(GhostForceError, match=r"bqcf fails its patch test at F = .*ghost force "
                                              r".* eV/Å in the handshake"):
        CoupledModel(thin, pot, "Cu", "bqcf", device=get_device("cpu"))


# slow (the 6-minute default run): the default run keeps the coupled vacancy's formation
# energy against the atomistic cube in tests/test_api.py (the README example, 2e-3 eV) and
# the case's pinned figure in tests/test_cli.py
@pytest.mark.slow
def test_vacancy_formation_energy_converges_to_the_atomistic_value(lammps_potentials):
    """A vacancy in Mishin Cu, clamped cube of 16 cells: bgfc's formation energy approaches
    the fully atomistic value of the same clamped domain as the core grows, and is within
    0.01 eV of it already with a one-lattice-constant core. (The 24-cell study with 10x
    fewer degrees of freedom is scripts/validate_vacancy.py.)"""
    from qc_sim.coupling.reference import atomistic_reference
    from qc_sim.solvers import lbfgs

    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    a = 3.6149250663890298
    lat = fcc(a)
    lo, hi, centre = np.zeros(3), np.full(3, 16 * a), np.full(3, 8 * a)
    device = get_device("cpu")
    e0 = -3.540218330204917
    perfect, _ = atomistic_reference(lat, lo, hi, pot, "Cu", device)
    vacancy, relaxed = atomistic_reference(lat, lo, hi, pot, "Cu", device, vacancies=[centre])
    e_ref = relaxed.energy - perfect.compute().energy() + e0
    assert e_ref == pytest.approx(1.27, abs=0.01)
    errors = []
    for radius in (1.0, 2.0):
        g = build_geometry(lat, lo, hi, centre, radius * a, 1.5 * a, reach=2 * pot.cutoff,
                           vacancies=[centre])
        model = CoupledModel(g, pot, "Cu", "bgfc", device=device)
        result = lbfgs(model, fmax=1e-4, max_steps=5000).check()
        e_f = result.energy - model.twin.evaluate(model.twin.y_far)[0] + e0
        errors.append(abs(e_f - e_ref))
    print("vacancy formation energy errors (bgfc, core 1a, 2a):", errors)
    assert errors[0] < 0.01 and errors[1] < errors[0]


# slow (issue 22's 6-minute default run): 10,000 steps; the default run keeps
# test_coupled_nve_energy_error_is_second_order_in_the_step (the same integrator and model)
@pytest.mark.slow
def test_coupled_nve_with_bgfc_conserves_energy():
    """Done-when: the coupled NVE run with bgfc conserves energy over 10,000 steps (2D LJ in
    eV and Å with unit masses: 0.2 fs steps; random initial kick), bounded against the
    initial kinetic energy: 1e-2 of it (measured 4.26e-3; the total, the cohesive energy, is
    9,800 times larger: 1e-4 of it, the bound before, allowed the whole kinetic energy)."""
    from qc_sim.coupling.dynamics import CoupledDynamics, node_masses

    g = geometry_2d(width=3, core=3)
    model = CoupledModel(g, LJ, "X", "bgfc", far_field=FAR, device=get_device("cpu"))
    masses = node_masses(model, 1.0)
    rng = np.random.default_rng(4)
    v0 = rng.normal(0, 2.0, model.y.shape)
    dyn = CoupledDynamics(model, masses, dt=0.0002)
    state = dyn.init_state(v0)
    ke0 = dyn.kinetic_energy(state)
    total0 = state.energy + ke0
    totals = []
    dyn.run(state, 10_000, every=100,
            on_step=lambda s: totals.append(s.energy + dyn.kinetic_energy(s)))
    drift = np.abs(np.array(totals) - total0).max() / ke0
    print(f"coupled NVE drift over 10,000 steps: {drift:.2e} of ke0, "
          f"{drift * ke0 / abs(total0):.2e} of the total")
    assert drift < 1e-2


def test_coupled_nve_energy_error_is_second_order_in_the_step():
    """bgfc velocity Verlet: over the same 4 fs, the largest |E - E0| at dt = 0.1 fs over
    that at 0.05 fs is 4 (measured 4.008); it stays below 1e-3 of the initial kinetic energy.
    Node masses: the atom's on blended nodes, the lumped mesh mass (density m / Omega times
    a third of each triangle's area) on the others; held nodes stay put."""
    from qc_sim.coupling.dynamics import CoupledDynamics, node_masses

    g = geometry_2d(width=3, core=3)
    model = CoupledModel(g, LJ, "X", "bgfc", far_field=FAR, device=get_device("cpu"))
    masses = node_masses(model, 2.0)
    blended = g.node_beta > 0
    assert np.all(masses[blended] == 2.0)
    corners = g.mesh.element_coordinates(g.mesh.nodes)
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    lumped = np.zeros(g.mesh.n_nodes)
    np.add.at(lumped, g.mesh.elements, np.repeat(area[:, None] / 3, 3, axis=1))
    lumped *= 2.0 / (np.sqrt(3) / 2 * A2**2)
    assert np.allclose(masses[~blended], lumped[~blended], rtol=1e-12, atol=0)
    v0 = np.random.default_rng(4).normal(0, 2.0, model.y.shape)
    y0 = model.y.copy()
    errors = []
    for dt, steps in ((0.0001, 40), (0.00005, 80)):
        model.y = y0.copy()
        dyn = CoupledDynamics(model, masses, dt=dt)
        state = dyn.init_state(v0)
        ke0 = dyn.kinetic_energy(state)
        assert ke0 == pytest.approx(0.5 * 1.0364269e-4 * np.sum(
            masses[:, None] * (v0 * model.free[:, None]) ** 2), rel=1e-6)
        total0 = state.energy + ke0
        totals = []
        state = dyn.run(state, steps, every=1,
                        on_step=lambda s: totals.append(s.energy + dyn.kinetic_energy(s)))
        assert state.step == steps and state.time == pytest.approx(0.004, rel=1e-12)
        assert len(totals) == steps
        assert np.array_equal(model.y[~model.free], y0[~model.free])
        errors.append(np.abs(np.array(totals) - total0).max())
        assert errors[-1] < 1e-3 * ke0
    print(f"coupled energy error ratio dt / (dt/2): {errors[0] / errors[1]:.3f}")
    assert 3.8 < errors[0] / errors[1] < 4.2


def test_the_handshake_damping_band_takes_energy_out():
    """Damping rate * 4 beta (1 - beta) per node: zero in the core and the continuum; a
    damped step is the undamped one with the velocities scaled by exp(-rate dt); over 30
    steps the damped run's energy falls, by far more than the undamped run's moves (measured
    -5.5e-3 eV against 3.7e-4)."""
    from qc_sim.coupling.dynamics import CoupledDynamics, handshake_damping, node_masses

    g = geometry_2d(width=3, core=3)
    model = CoupledModel(g, LJ, "X", "bgfc", far_field=FAR, device=get_device("cpu"))
    rates = handshake_damping(model, 100.0)
    beta = g.node_beta
    assert np.array_equal(rates, 100.0 * 4.0 * beta * (1.0 - beta))
    assert 90.0 < rates.max() <= 100.0 and np.all(rates[(beta == 1.0) | (beta == 0.0)] == 0)
    masses = node_masses(model, 1.0)
    v0 = np.random.default_rng(5).normal(0, 2.0, model.y.shape)
    y0 = model.y.copy()
    change = {}
    for name, damping in (("undamped", None), ("damped", rates)):
        model.y = y0.copy()
        md = CoupledDynamics(model, masses, dt=0.0001, damping=damping)
        state = md.init_state(v0)
        first = md.step(state)
        change[name + " step"] = first.velocities
        totals = [state.energy + md.kinetic_energy(state)]
        md.run(first, 29, every=1, on_step=lambda s: totals.append(s.energy + md.kinetic_energy(s)))
        change[name] = totals[-1] - totals[0]
    assert np.allclose(change["damped step"],
                       change["undamped step"] * np.exp(-rates * 0.0001)[:, None], rtol=1e-14,
                       atol=1e-14)
    print(f"energy change over 30 steps: damped {change['damped']:.3e}, "
          f"undamped {change['undamped']:.3e} eV")
    assert change["damped"] < -10 * abs(change["undamped"])
    # no velocities: at rest; run() calls on_step only every ``every`` steps (never by default)
    rest = md.init_state()
    assert rest.velocities.shape == model.y.shape and not rest.velocities.any()
    calls = []
    md.run(md.run(rest, 2, on_step=calls.append), 1)
    assert calls == []


# slow (issue 22's 6-minute default run): two NEBs on a 16-cell cube; the default run keeps
# the coupled NEB against the atomistic one on a small stepped block (tests/test_step_nucleation.py)
# and the NEB bitwise on one to four ranks (tests/test_mpi.py)
@pytest.mark.slow
def test_coupled_neb_gives_the_atomistic_vacancy_migration_barrier(lammps_potentials):
    """Done-when: the vacancy migration barrier of the coupled model (bgfc, core 2a) is within
    0.01 eV of the fully atomistic barrier on the same clamped domain, a 16-cell cube (both
    CI-NEB, 5 inner images, from relaxed end points)."""
    from qc_sim.atomistic.replicas import batch_energy_forces
    from qc_sim.atomistic.system import AtomisticSystem
    from qc_sim.coupling.model import CoupledImage
    from qc_sim.coupling.reference import clamped_crystal
    from qc_sim.solvers import fire, lbfgs
    from qc_sim.solvers.neb import Band, interpolate, run_neb

    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    a = 3.6149250663890298
    lat = fcc(a)
    lo, hi, centre = np.zeros(3), np.full(3, 16 * a), np.full(3, 8 * a)
    hop = centre + np.array([0.5, 0.5, 0.0]) * a  # the neighbour that jumps into the vacancy
    device = get_device("cpu")

    g = build_geometry(lat, lo, hi, centre, 2.0 * a, 1.5 * a, reach=2 * pot.cutoff,
                       vacancies=[centre])
    model = CoupledModel(g, pot, "Cu", "bgfc", device=device)
    mover = int(np.argmin(np.linalg.norm(g.mesh.nodes - hop, axis=1)))
    ends = [CoupledImage(model, g.mesh.nodes), CoupledImage(model, g.mesh.nodes)]
    ends[1].y[mover] = centre
    for end in ends:
        lbfgs(end, fmax=1e-4, max_steps=5000).check()
    images = [ends[0]] + [CoupledImage(model, y) for y in interpolate(
        ends[0].get_dofs(), ends[1].get_dofs(), 5)] + [ends[1]]
    coupled = run_neb(Band(images, k=0.1, climb=True), fmax=0.01)
    assert coupled.converged, coupled.message

    atoms, fixed = clamped_crystal(lat, lo, hi, 2 * pot.cutoff, "Cu", vacancies=[centre])
    k = int(np.argmin(np.linalg.norm(atoms.positions - hop, axis=1)))
    systems = [AtomisticSystem(atoms, pot, device, skin=0.5, fixed=fixed) for _ in range(7)]
    final = atoms.positions.copy()
    final[k] = centre
    systems[-1].set_positions(final)
    for end in (systems[0], systems[-1]):
        fire(end, fmax=1e-4, max_steps=20_000).check()
    for s, y in zip(systems[1:-1], interpolate(systems[0].get_dofs(), systems[-1].get_dofs(), 5)):
        s.set_dofs(y)
    atomistic = run_neb(Band(systems, k=0.1, climb=True, evaluate_batch=batch_energy_forces),
                        fmax=0.01)
    assert atomistic.converged, atomistic.message
    print(f"vacancy migration, clamped 16-cell cube: coupled (bgfc) {coupled.barrier:.4f} eV with "
          f"{3 * int(model.free.sum())} dofs, atomistic {atomistic.barrier:.4f} eV with "
          f"{3 * int((~fixed).sum())}")
    assert coupled.barrier == pytest.approx(atomistic.barrier, abs=0.01)
    assert atomistic.barrier == pytest.approx(0.69, abs=0.01)


def test_a_model_periodic_along_its_line_keeps_the_promises_and_its_forces_are_exact():
    """A 3D EAM Cu model periodic along z (a slab three cells thick, the core a cylinder, as
    for a crack front or a dislocation line): the outer boundary is held only on the x and y
    faces; padding atoms near the seam are interpolated from the elements' periodic images.
    bgfc has no ghost force at its far field, bqcf none at random strains that keep the period
    (< 1e-8 eV/Å), and bgfc's forces are minus the gradient of its energy."""
    pot = Eam.from_file(ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy")
    a = 3.61
    g = build_geometry(fcc(a), np.zeros(3), [20 * a, 20 * a, 3 * a], [10 * a, 10 * a, 0.0],
                       2 * a, 1.5 * a, reach=2 * pot.cutoff, periodic=(False, False, True))
    assert np.allclose(g.mesh.period, [0, 0, 3 * a]) and np.any(g.mesh.shifts)
    z = g.mesh.nodes[:, 2]
    assert not np.any(g.held & ~np.any((np.abs(g.mesh.nodes[:, :2]) < 1e-6)
                                       | (np.abs(g.mesh.nodes[:, :2] - 20 * a) < 1e-6), axis=1))
    assert z.min() >= 0 and z.max() < 3 * a  # one copy of each site along the period
    assert np.any(g.atom_offset[:, 2] != 0)  # padding atoms across the seam
    device = get_device("cpu")
    for method in ("bgfc", "bqcf"):
        results = CoupledModel(g, pot, "Cu", method, device=device, check=True).patch_results
        promised = results[1:2] if method == "bgfc" else results
        assert max(r["max_ghost_force"] for r in promised) < 1e-8, (method, results)
        for r in results[2:]:
            assert np.allclose(np.array(r["F"])[:, 2], [0, 0, 1])  # the period kept
    with pytest.raises(ValueError, match="period is fixed"):
        CoupledModel(g, pot, "Cu", "bgfc", device=device, check=False,
                     far_field=np.eye(3) + 0.01 * np.eye(3))
    model = CoupledModel(g, pot, "Cu", "bgfc", device=device, check=False)
    rng = np.random.default_rng(1)
    y = model.y + 0.05 * rng.normal(size=model.y.shape) * model.free[:, None]
    _, f = model.evaluate(y)
    seam = np.flatnonzero(model.free & (np.abs(g.mesh.nodes[:, 2]) < 1e-6))
    h = 1e-5
    for k in rng.choice(seam, 4, replace=False):
        for axis in range(3):
            up, down = y.copy(), y.copy()
            up[k, axis] += h
            down[k, axis] -= h
            fd = -(model.evaluate(up)[0] - model.evaluate(down)[0]) / (2 * h)
            assert abs(fd - f[k, axis]) < 1e-6 * max(1.0, abs(f[k, axis])), (k, axis)


def _coupled_forces_on(backend, g, pot, species, method, far, y):
    model = CoupledModel(g, pot, species, method, far_field=far, device=get_device(backend))
    e, f = model.evaluate(y)
    return e, np.asarray(f)


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["bqce", "bgfc", "bqcf"])
@pytest.mark.parametrize("dim", [2, 3])
def test_gpu_coupled_forces_agree_with_cpu(dim, method, geometry_3d):
    """Done-when (with a GPU): the whole coupled evaluation (atoms, Cauchy-Born elements,
    padding interpolation and its transpose, ghost-force correction) on the GPU gives the CPU's
    energy and forces to 1e-10, in 2D with LJ and in 3D with EAM Cu, at a perturbed state."""
    from qc_sim.backend.device import available_backends

    reason = available_backends()["gpu"]
    if reason is not None:
        pytest.skip(f"no GPU backend: {reason}")
    if dim == 2:
        g, pot, species, far = geometry_2d(width=3, core=3), LJ, "X", FAR
    else:
        (g, pot), species = geometry_3d, "Cu"
        far = np.eye(3) + 1e-3 * np.random.default_rng(1).uniform(-1, 1, (3, 3))
    rng = np.random.default_rng(7)
    y = g.mesh.nodes @ far.T + rng.normal(0, 0.02, g.mesh.nodes.shape)
    e_c, f_c = _coupled_forces_on("cpu", g, pot, species, method, far, y)
    e_g, f_g = _coupled_forces_on("gpu", g, pot, species, method, far, y)
    if e_c is not None:
        assert e_g == pytest.approx(e_c, rel=1e-10)
    assert np.abs(f_g - f_c).max() <= 1e-10 * np.abs(f_c).max()
