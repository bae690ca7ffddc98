"""The cheap far field of the coupled model (issue 20): the Taylor expansion of Cauchy-Born
against the full lattice sum, graded meshes with a spherical fine zone under the patch test,
the node set made without the whole domain, the assembled stiffness, energies counted from
the reference state and the preconditioned L-BFGS against the plain one."""

from __future__ import annotations

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.continuum.cauchy_born import CauchyBorn, MixedCauchyBorn, TaylorCauchyBorn
from qc_sim.continuum.fem import assemble_stiffness, element_stiffness
from qc_sim.continuum.mesh import delaunay_mesh, lattice_points
from qc_sim.coupling import CoupledModel, build_geometry
from qc_sim.coupling.statics import relax
from qc_sim.geometry import fcc
from qc_sim.geometry.lattice import sites_in_box
from qc_sim.solvers.precon import precon_lbfgs

A0 = 3.6149250663890298
E0 = -3.540218330204917


@pytest.fixture(scope="module")
def mishin(lammps_potentials):
    from qc_sim.potentials.eam import Eam

    return Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")


@pytest.fixture(scope="module")
def vacancy_model(mishin):
    """bgfc, Taylor far field, spherical fine zone, a 12-cell clamped cube."""
    n = 12
    lo, hi, c = np.zeros(3), np.full(3, n * A0), np.full(3, n / 2 * A0)
    g = build_geometry(fcc(A0), lo, hi, c, A0, 1.5 * A0, reach=mishin.cutoff,
                       vacancies=[c], fine_zone="sphere")
    return g


def test_taylor_expansion_is_second_order_in_the_strain(mishin):
    cb = CauchyBorn(mishin, fcc(A0))
    rng = np.random.default_rng(1)
    F0 = np.eye(3) + 2e-3 * rng.uniform(-1, 1, (3, 3))
    taylor = TaylorCauchyBorn(cb, F0)
    H = rng.uniform(-1, 1, (3, 3))
    errors = []
    for eps in (4e-3, 2e-3, 1e-3):
        F = F0 + eps * H
        W, P = cb.energy_stress(F[None])
        Wt, Pt = taylor.energy_stress(F[None])
        errors.append((abs(Wt[0] - W[0]), np.abs(Pt[0] - P[0]).max()))
    e = np.array(errors)
    # energy error third order, stress error second order: halving the strain divides
    # them by 8 and by 4
    assert e[0, 0] / e[1, 0] == pytest.approx(8.0, rel=0.1)
    assert e[1, 0] / e[2, 0] == pytest.approx(8.0, rel=0.1)
    assert e[0, 1] / e[1, 1] == pytest.approx(4.0, rel=0.1)
    assert e[1, 1] / e[2, 1] == pytest.approx(4.0, rel=0.1)
    # and exact at F0; P the gradient of W (central differences of the expansion)
    W0, P0 = cb.energy_stress(F0[None])
    Wt0, Pt0 = taylor.energy_stress(F0[None])
    assert Wt0[0] == W0[0] and np.array_equal(Pt0[0], P0[0])
    F = F0 + 3e-3 * H
    h = 1e-6
    for i, j in ((0, 0), (0, 1), (2, 1)):
        dF = np.zeros((3, 3))
        dF[i, j] = h
        fd = (taylor.energy_stress((F + dF)[None])[0][0]
              - taylor.energy_stress((F - dF)[None])[0][0]) / (2 * h)
        assert fd == pytest.approx(taylor.energy_stress(F[None])[1][0, i, j], abs=1e-9)


def test_the_stretch_check_still_refuses_a_crushed_element(mishin):
    cb = CauchyBorn(mishin, fcc(A0))
    F = np.array([np.eye(3), np.diag([1.0, 0.65, 1.0])])
    with pytest.raises(ValueError, match="principal stretch 0.650"):
        cb.energy_stress(F)
    # a large rotation (no stretch) passes, though Gershgorin's bound alone would doubt it
    c, s = np.cos(0.7), np.sin(0.7)
    cb.energy_stress(np.array([[[c, -s, 0], [s, c, 0], [0, 0, 1.0]]]))


def test_mixed_strain_criterion_is_the_largest_principal_strain(mishin):
    mixed = MixedCauchyBorn(CauchyBorn(mishin, fcc(A0)), 3)
    F = np.array([np.eye(3), np.diag([1.02, 1.0, 0.999]), np.eye(3) + [[0, 1e-4, 0], [0] * 3,
                                                                        [0] * 3]])
    E = 0.5 * (np.einsum("eki,ekj->eij", F, F) - np.eye(3))
    expected = np.abs(np.linalg.eigvalsh(E)).max(axis=1)
    got = mixed.strain(F)
    assert np.all(got >= expected - 1e-15)  # an upper bound everywhere
    big = got > 1e-3
    assert big.tolist() == [False, True, False]
    assert np.allclose(got[big], expected[big], rtol=0, atol=1e-15)  # exact where it counts
    assert got[2] <= np.sqrt(2) * expected[2] + 1e-15


def test_lattice_points_made_level_by_level_equal_the_full_enumeration():
    lat = fcc(A0)

    for n, c, periodic in ((13, 6.5, None), (21, 8.0, None), (16, 8.0, (False, False, True))):
        lo, hi = np.zeros(3), np.full(3, n * A0)
        centre = np.full(3, c * A0)
        fine_lo, fine_hi = centre - 4 * A0, centre + 4 * A0
        if periodic:
            fine_lo[2], fine_hi[2] = lo[2], hi[2]
        fast = lattice_points(lat, lo, hi, fine_lo, fine_hi, periodic=periodic)
        # the same rule through a distance function enumerates every site of the domain
        gap = lambda x: np.sqrt((np.maximum(np.maximum(fine_lo - x, x - fine_hi), 0) ** 2)
                                .sum(axis=1))
        slow = lattice_points(lat, lo, hi, None, None, periodic=periodic, distance=gap)
        assert np.array_equal(fast, slow)


def test_homogeneous_stiffness_assembly_equals_the_element_by_element_one():
    rng = np.random.default_rng(0)
    mesh = delaunay_mesh(rng.random((80, 3)) * 10)
    A = rng.random((3, 3, 3, 3))
    A = A + A.transpose(2, 3, 0, 1)
    w = rng.random(len(mesh.elements))
    fast = assemble_stiffness(mesh, A, w)
    per_element = np.broadcast_to(A, (len(mesh.elements), 3, 3, 3, 3)).copy()
    slow = assemble_stiffness(mesh, per_element, w)
    assert abs(fast - slow).max() <= 1e-12 * abs(slow).max()
    # and it is the Hessian of the linear elastic energy: K u = -forces of P = A : H
    u = rng.normal(size=mesh.nodes.shape)
    H = np.einsum("ead,eaf->edf", u[mesh.elements], mesh.gradients)
    P = np.einsum("ijkl,ekl->eij", A, H)
    f = -np.einsum("e,edf,eaf->ead", mesh.volumes * w, P, mesh.gradients)
    assert np.allclose(fast @ u.reshape(-1), -mesh.gather(f).reshape(-1), rtol=0,
                       atol=1e-10 * abs(f).max())
    assert element_stiffness(mesh, per_element[:1].repeat(len(mesh.elements), 0)).shape[1:] == (
        4, 3, 4, 3)


def test_graded_sphere_mesh_passes_the_patch_test_with_the_taylor_far_field(vacancy_model,
                                                                             mishin):
    g = vacancy_model
    q = g.mesh.quality()
    assert q.min() > 0.05 and g.mesh.n_nodes < 0.3 * len(sites_in_box(fcc(A0), g.lo, g.hi)[0])
    device = get_device("cpu")
    model = CoupledModel(g, mishin, "Cu", "bgfc", device=device, taylor_strain=1e-2)
    assert model.continuum.linear.all()
    worst = max(r["max_ghost_force"] for r in model.patch_results[1:2])
    assert worst < 1e-8
    # at a strained far field the expansion moves with it: bgfc still exact there
    F = np.eye(3) + np.array([[1e-3, 2e-4, 0], [2e-4, -5e-4, 0], [0, 0, 3e-4]])
    model.set_far_field(F)
    r = model.check_patch_test()
    assert r[1]["max_ghost_force"] < 1e-8
    # the same patch test holds for the full Cauchy-Born model on the same mesh
    full = CoupledModel(g, mishin, "Cu", "bgfc", device=device, far_field=F)
    assert full.patch_results[1]["max_ghost_force"] < 1e-8
    with pytest.raises(ValueError, match="bqcf"):
        CoupledModel(g, mishin, "Cu", "bqcf", device=device, taylor_strain=1e-2)


def test_relative_energy_is_the_energy_less_the_reference(vacancy_model, mishin):
    device = get_device("cpu")
    for taylor in (None, 1e-2):
        model = CoupledModel(vacancy_model, mishin, "Cu", "bgfc", device=device,
                             taylor_strain=taylor, check=False)
        rng = np.random.default_rng(3)
        y = model.y + 1e-3 * rng.normal(size=model.y.shape) * model.free[:, None]
        e, f = model.evaluate(y)
        de, df = model.evaluate_relative(y)
        assert np.array_equal(f, df)
        assert de + model.reference_energy == pytest.approx(e, abs=1e-8)
        assert abs(de) < 1.0  # counted from the far field state: small, digits kept


def test_preconditioned_and_plain_lbfgs_reach_the_same_minimum(vacancy_model, mishin):
    device = get_device("cpu")
    results = {}
    for precondition in (True, False):
        model = CoupledModel(vacancy_model, mishin, "Cu", "bgfc", device=device,
                             taylor_strain=1e-2, check=False)
        r = relax(model, fmax=1e-5, precondition=precondition)
        assert r.converged
        e_f = r.energy - model.twin.evaluate(model.twin.y)[0] + E0
        results[precondition] = (e_f, model.y.copy(), r.result.evaluations, model)
    (e1, y1, n1, m1), (e2, y2, n2, _) = results[True], results[False]
    assert e1 == pytest.approx(e2, abs=1e-8)
    assert np.abs(y1 - y2).max() < 1e-5
    assert n1 < n2  # the preconditioner saves evaluations even at this small size
    # the far field's Taylor energy against the full sum at the minimum: tiny
    err = m1.taylor_error()
    assert err["taylor_elements"] > 0 and abs(err["energy_error"]) < 1e-5
    # and the same minimum as the full Cauchy-Born model relaxed by SciPy's L-BFGS
    from qc_sim.solvers import lbfgs

    full = CoupledModel(vacancy_model, mishin, "Cu", "bgfc", device=device, check=False)
    r = lbfgs(full, fmax=1e-5)
    e_full = r.energy - full.twin.evaluate(full.twin.y)[0] + E0
    assert e1 == pytest.approx(e_full, abs=1e-5)


def test_precon_lbfgs_without_a_preconditioner_is_plain_lbfgs_on_a_quadratic():
    class Quadratic:
        xp = np

        def __init__(self):
            rng = np.random.default_rng(0)
            Q = rng.normal(size=(30, 30))
            self.A = Q @ Q.T + 30 * np.eye(30)
            self.b = rng.normal(size=30)
            self.x = np.zeros(30)

        def get_dofs(self):
            return self.x.copy()

        def set_dofs(self, x):
            self.x = np.asarray(x, float).copy()

        def energy_forces(self):
            g = self.A @ self.x - self.b
            return 0.5 * self.x @ self.A @ self.x - self.b @ self.x, -g

        def max_force(self, f):
            return float(np.abs(f).max())

    q = Quadratic()
    r = precon_lbfgs(q, fmax=1e-10)
    assert r.converged
    assert np.allclose(q.x, np.linalg.solve(q.A, q.b), atol=1e-10)

    class Exact:
        def apply(self, g):
            return np.linalg.solve(q.A, g)

    q.x[:] = 0.0
    r = precon_lbfgs(q, Exact(), fmax=1e-10)
    assert r.converged and r.evaluations <= 3  # the exact Hessian: one Newton step


def test_handing_elements_to_the_full_sum_updates_the_taylor_operator(vacancy_model, mishin):
    device = get_device("cpu")
    model = CoupledModel(vacancy_model, mishin, "Cu", "bgfc", device=device,
                         taylor_strain=2e-3, check=False)
    rng = np.random.default_rng(5)
    y = model.y + 5e-3 * rng.normal(size=model.y.shape) * model.free[:, None]
    before = model.evaluate_relative(y)  # assembles the operator over every element
    handed = model.update_taylor(y)
    assert 0 < handed < len(vacancy_model.mesh.elements)
    assert not model.continuum.linear.all()
    updated = model.evaluate_relative(y)
    model._taylor = None  # a fresh assembly over the remaining Taylor elements
    fresh = model.evaluate_relative(y)
    assert updated[0] == pytest.approx(fresh[0], abs=1e-10)
    assert np.abs(updated[1] - fresh[1]).max() < 1e-10
    # the full sum on the handed elements: the energy moved by their Taylor error only
    assert abs(updated[0] - before[0]) < 1e-3


def test_the_taylor_operator_is_assembled_only_away_from_the_far_field(vacancy_model,
                                                                      mishin):
    """At y_far (bgfc's correction, the reference) f0 is the whole answer: no K is made;
    the first state away from it assembles K from the flags as they are then, which equals
    the operator assembled first and then reduced by the handed elements."""
    device = get_device("cpu")
    model = CoupledModel(vacancy_model, mishin, "Cu", "bgfc", device=device,
                         taylor_strain=2e-3, check=False)
    F = np.eye(3) + np.diag([2e-3, -1e-3, 5e-4])
    model.set_far_field(F)
    e_far, f_far = model.evaluate_relative(model.y_far)
    assert model._taylor[0] is None
    rng = np.random.default_rng(7)
    y = model.y_far + 5e-3 * rng.normal(size=model.y.shape) * model.free[:, None]
    handed = model.update_taylor(y)  # before any K: only f0 is reduced
    assert handed > 0 and model._taylor[0] is None
    lazy = model.evaluate_relative(y)
    model._taylor = None
    model.continuum.linear[:] = True
    model.evaluate_relative(y + 1e-4)  # K over every element, then reduced
    assert model.update_taylor(y) == handed
    reduced = model.evaluate_relative(y)
    assert lazy[0] == pytest.approx(reduced[0], abs=1e-10)
    assert np.abs(lazy[1] - reduced[1]).max() < 1e-10
    # and at the far field the Taylor terms are f0 exactly: the forces of the state F X
    assert abs(e_far) < 1e-8


def test_the_preconditioner_is_kept_across_a_load_step_and_per_set_of_free_nodes(
        vacancy_model, mishin):
    device = get_device("cpu")
    model = CoupledModel(vacancy_model, mishin, "Cu", "bgfc", device=device,
                         taylor_strain=1e-2, check=False)
    first = model.preconditioner()
    assert model.preconditioner() is first
    model.set_far_field(np.eye(3) + np.diag([1e-3, 0.0, 0.0]))  # a load step: kept
    assert model.preconditioner() is first
    free = model.free
    model.free = free.copy()
    model.free[np.flatnonzero(free)[:5]] = False  # pinned nodes: a preconditioner of its own
    pinned = model.preconditioner()
    assert pinned is not first and pinned.free.sum() == first.free.sum() - 15
    model.free = free
    assert model.preconditioner() is first  # both kept
    model.set_far_field(np.eye(3) + np.diag([0.15, 0.0, 0.0]))  # tangent far off: rebuilt
    assert model.preconditioner() is not first
    # a kept preconditioner still steers the relaxation to the same minimum
    model.set_far_field(np.eye(3) + np.diag([2e-3, 0.0, 0.0]))
    r = relax(model, fmax=1e-5)
    fresh = CoupledModel(vacancy_model, mishin, "Cu", "bgfc", device=device,
                         taylor_strain=1e-2, check=False)
    fresh.set_far_field(np.eye(3) + np.diag([2e-3, 0.0, 0.0]))
    r_fresh = relax(fresh, fmax=1e-5)
    assert r.converged and r_fresh.converged
    assert r.energy == pytest.approx(r_fresh.energy, abs=1e-8)


def test_core_distance_over_many_centres_is_the_dense_one_to_the_bit():
    from qc_sim.coupling.geometry import core_distance

    rng = np.random.default_rng(11)
    centres = np.zeros((300, 3))
    centres[:, 0] = np.arange(300) * 0.5 * A0  # a row of equally spaced centres: ties
    centres[:, 1] = rng.choice([0.0, A0, 2 * A0], 300)
    points = np.round(rng.uniform(-5, 160, (4000, 3)) / (0.25 * A0)) * (0.25 * A0)
    for axes in (None, np.array([True, True, False])):
        P, C = (points, centres) if axes is None else (points[:, axes], centres[:, axes])
        dense = np.linalg.norm(P[:, None] - C[None], axis=2).min(axis=1) - A0
        assert np.array_equal(core_distance(points, centres, A0, axes), dense)


def test_bqcf_by_the_preconditioned_fixed_point_reaches_fires_state(mishin):
    from qc_sim.solvers import fire

    n = 14
    lo, hi, c = np.zeros(3), np.full(3, n * A0), np.full(3, n / 2 * A0)
    g = build_geometry(fcc(A0), lo, hi, c, A0, 1.5 * A0, reach=2 * mishin.cutoff,
                       vacancies=[c], fine_zone="sphere")
    device = get_device("cpu")
    fast = CoupledModel(g, mishin, "Cu", "bqcf", device=device)
    r = relax(fast, fmax=1e-5)
    assert r.converged and r.result.message.startswith("preconditioned Anderson")
    slow = CoupledModel(g, mishin, "Cu", "bqcf", device=device, check=False)
    r_fire = fire(slow, fmax=1e-5)
    assert r_fire.converged
    assert np.abs(fast.y - slow.y).max() < 1e-4
    assert r.result.evaluations < r_fire.evaluations / 4


def test_a_hundred_million_site_model_converges_where_its_total_energy_is_huge(mishin):
    """10^8 lattice sites (292^3 cells): the total energy is -3.5e8 eV, whose rounding (6e-8
    eV) exceeds the energy changes near the minimum (SciPy's L-BFGS-B stopped at 5.8e-4
    eV/Å on 10^7 sites, issue 29). The line search weighs energies counted from the
    far-field state (and, where a change is below an energy's rounding, the forces alone):
    the solve reaches fmax 1e-4 in the usual ~10 evaluations, with the vacancy's formation
    energy of the smaller boxes."""
    n = 292
    lo, hi, c = np.zeros(3), np.full(3, n * A0), np.full(3, n / 2 * A0)
    # the benchmark's mesh (rate 1, half a lattice constant of fine margin): on this 1,055 Å
    # box Qhull once left a flat simplex among tied sites beside the vacancy
    g = build_geometry(fcc(A0), lo, hi, c, A0, 1.5 * A0, reach=mishin.cutoff,
                       vacancies=[c], fine_zone="sphere", rate=1.0, fine_margin=0.5 * A0)
    assert g.mesh.n_nodes < 1500  # the graded mesh: nodes grow with log(size)
    assert g.mesh.volumes.sum() == pytest.approx((n * A0) ** 3, rel=1e-12)
    model = CoupledModel(g, mishin, "Cu", "bgfc", device=get_device("cpu"),
                         taylor_strain=1e-2)
    r = relax(model, fmax=1e-4)
    assert r.converged and r.result.evaluations <= 20
    total = model.reference_energy
    assert total < -3e8 and np.spacing(abs(total)) > 1e-8
    e_f = r.energy - model.twin.evaluate(model.twin.y)[0] + E0
    assert e_f == pytest.approx(1.2713, abs=2e-4)  # 1.27131 at 10^6 sites (bench_coupled)


def test_a_vacancy_off_the_lattice_is_refused(mishin):
    """An odd number of cells puts the box centre between sites: the vacancy there would
    remove nothing (the model and the reference would both be perfect crystals)."""
    from qc_sim.coupling.reference import clamped_crystal

    n = 15
    lo, hi, c = np.zeros(3), np.full(3, n * A0), np.full(3, n / 2 * A0)
    with pytest.raises(ValueError, match="no lattice site"):
        build_geometry(fcc(A0), lo, hi, c, A0, 1.5 * A0, reach=mishin.cutoff,
                       vacancies=[c], fine_zone="sphere")
    with pytest.raises(ValueError, match="no lattice site"):
        clamped_crystal(fcc(A0), lo, hi, 2 * mishin.cutoff, "Cu", vacancies=[c])
