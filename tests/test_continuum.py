"""The continuum region: Cauchy-Born against the atoms, finite elements against their
promises (finite-difference forces, the patch test)."""

from __future__ import annotations

import numpy as np
import pytest

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.continuum.cauchy_born import CauchyBorn, is_bravais
from qc_sim.continuum.fem import ContinuumRegion
from qc_sim.continuum.mesh import Mesh, delaunay_mesh, lattice_points
from qc_sim.geometry import Sphere, bcc, build_crystal, fcc, keep, triangular
from qc_sim.geometry.lattice import Lattice
from qc_sim.potentials import lennard_jones
from qc_sim.potentials.eam import Eam
from qc_sim.properties.bulk import bulk_properties


@pytest.fixture(scope="module")
def mishin(lammps_potentials):
    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    return pot, bulk_properties(pot, "Cu", "fcc", get_device("cpu"))


def random_F(rng, size, dim=3):
    return np.eye(dim) + rng.uniform(-size, size, (dim, dim))


def site_energy_of_strained_crystal(pot, lattice, F, species="Cu"):
    """The per-atom energy of the homogeneously deformed crystal, from the atomistic engine:
    the centre atom of a cluster larger than the cutoff (its site energy depends only on its
    own neighbours, all present)."""
    atoms = build_crystal(lattice, (7, 7, 7), periodic=(False,) * 3, species=(species,),
                          masses=(1.0,))
    centre = atoms.box.lengths / 2
    atoms = keep(atoms, Sphere(tuple(centre), 2.2 * pot.cutoff))
    k = int(np.argmin(np.linalg.norm(atoms.positions - centre, axis=1)))
    atoms.positions = (atoms.positions - atoms.positions[k]) @ F.T + 50.0
    system = AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.3)
    return float(np.asarray(system.compute(energy=True, virial=False).site_energy)[k])


def test_cauchy_born_energy_density_is_the_strained_crystal_energy(mishin):
    pot, bulk = mishin
    lattice = fcc(bulk.lattice_constant)
    cb = CauchyBorn(pot, lattice)
    rng = np.random.default_rng(0)
    for _ in range(5):
        F = random_F(rng, 0.03)
        expected = site_energy_of_strained_crystal(pot, lattice, F) / lattice.atomic_volume
        assert cb.energy(F) == pytest.approx(expected, rel=1e-10)


def test_cauchy_born_stress_is_the_energy_derivative(mishin):
    pot, bulk = mishin
    cb = CauchyBorn(pot, fcc(bulk.lattice_constant))
    F = random_F(np.random.default_rng(1), 0.05)
    P = cb.stress(F)
    h = 1e-6
    for a in range(3):
        for b in range(3):
            dF = np.zeros((3, 3))
            dF[a, b] = h
            fd = (cb.energy(F + dF) - cb.energy(F - dF)) / (2 * h)
            assert P[a, b] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_cauchy_born_moduli_equal_the_atomistic_elastic_constants(mishin):
    """Done-when: to 0.1 GPa, EAM Cu (here to 1e-4 GPa)."""
    pot, bulk = mishin
    c = CauchyBorn(pot, fcc(bulk.lattice_constant)).cubic_moduli()
    assert np.abs(np.array(c) - [bulk.C11, bulk.C12, bulk.C44]).max() < 1e-3


def test_cauchy_born_moduli_for_lennard_jones():
    pot = lennard_jones(0.0104, 3.4, 8.5, species=("Ar",))
    bulk = bulk_properties(pot, "Ar", "fcc", get_device("cpu"))
    c = CauchyBorn(pot, fcc(bulk.lattice_constant)).cubic_moduli()
    assert np.abs(np.array(c) - [bulk.C11, bulk.C12, bulk.C44]).max() < 1e-3
    assert c[1] == pytest.approx(c[2], rel=1e-6)  # Cauchy relation of a pair potential at P = 0


def test_taylor_expansion_evaluates_batches_about_the_identity_by_default():
    """TaylorCauchyBorn(material) expands about F = I, as material.expansion() does; a batch
    of deformation gradients (any leading shape) gives each one's energy change and stress,
    W(F) - W(I) = P(I) : H + H : A : H / 2 and P = P(I) + A : H (A the major-symmetrised
    tangent), against the per-F evaluation; it keeps the material and its volume. Cubic
    moduli are for 3D lattices only."""
    from qc_sim.continuum.cauchy_born import TaylorCauchyBorn

    a2 = 2 ** (1 / 6) * 0.99
    material = CauchyBorn(lennard_jones(1.0, 1.0, 2.5), triangular(a2))
    taylor = TaylorCauchyBorn(material)
    assert np.array_equal(taylor.F0, np.eye(2)) and taylor.material is material
    assert taylor.volume == material.volume == pytest.approx(np.sqrt(3) / 2 * a2**2, rel=1e-14)
    assert np.array_equal(taylor.A, material.expansion().A)
    A = material.tangent()
    assert np.allclose(taylor.A, 0.5 * (A + A.transpose(2, 3, 0, 1)), rtol=0, atol=1e-12)
    rng = np.random.default_rng(8)
    F = np.eye(2) + 1e-3 * rng.normal(size=(2, 3, 2, 2))
    dW, P = taylor.delta_energy_stress(F)
    assert dW.shape == (2, 3) and P.shape == (2, 3, 2, 2)
    W0, P0 = material.energy_stress(np.eye(2))
    for idx in np.ndindex(2, 3):
        H = F[idx] - np.eye(2)
        AH = np.einsum("ijkl,kl->ij", taylor.A, H)
        assert dW[idx] == pytest.approx(np.sum(P0 * H) + 0.5 * np.sum(H * AH), rel=1e-12)
        assert np.allclose(P[idx], P0 + AH, rtol=1e-12, atol=1e-15)
        one_dW, one_P = taylor.delta_energy_stress(F[idx])
        assert np.shape(one_dW) == () and one_dW == pytest.approx(dW[idx], rel=1e-14)
    with pytest.raises(ValueError, match="^cubic moduli are for 3D lattices$"):
        material.cubic_moduli()
    # its tangent is A at every F; an expansion about another F0 is another one, cached
    assert np.array_equal(taylor.tangent(), taylor.A)
    assert np.array_equal(taylor.tangent(F), np.broadcast_to(taylor.A, (2, 3) + A.shape))
    F1 = np.array([[1.01, 0.002], [0.0, 0.995]])
    about = material.expansion(F1)
    assert np.array_equal(about.F0, F1) and material.expansion(F1) is about
    assert material.expansion() is material.expansion(np.eye(2)) is not about
    # W(I) is the site energy of the 2D lattice: 1/2 sum of phi over the sites within the
    # cutoff, summed here (each site once)
    k = np.arange(-4, 5)
    i, j = (g.ravel() for g in np.meshgrid(k, k))
    r = a2 * np.hypot(i + 0.5 * j, np.sqrt(3) / 2 * j)
    r = r[(r > 0) & (r < 2.5)]
    site = 0.5 * np.sum(4 * (r**-12 - r**-6))
    assert material.energy(np.eye(2)) * material.volume == pytest.approx(site, rel=1e-13)
    # a sheared, crushed element (principal stretch 0.1, diagonal of C above 0.7^2) is refused
    with pytest.raises(ValueError, match="principal stretch 0.100"):
        material.energy(np.array([[1.0, 0.9], [0.9, 1.0]]))


def test_bcc_and_triangular_are_bravais_a_two_site_basis_is_not():
    assert is_bravais(fcc(1.0)) and is_bravais(bcc(1.0)) and is_bravais(triangular(1.0))
    diamond = Lattice("diamond", 1.0, np.eye(3), np.array(
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5], [0.25, 0.25, 0.25],
         [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75]]))
    assert not is_bravais(diamond)
    with pytest.raises(ValueError, match="more than one site per primitive cell"):
        CauchyBorn(lennard_jones(1.0, 1.0, 2.5), diamond)


def graded_mesh_2d(a=1.1225):
    lat = triangular(a)
    pts = lattice_points(lat, (0, 0), (40 * a, 40 * a * 3**0.5 / 2), (15 * a, 15 * a),
                         (25 * a, 20 * a), rate=0.3)
    return lat, delaunay_mesh(pts)


def graded_mesh_3d(a=2.855):
    lat = bcc(a)
    pts = lattice_points(lat, (0, 0, 0), (8 * a,) * 3, (3 * a,) * 3, (5 * a,) * 3, rate=0.5)
    return lat, delaunay_mesh(pts)


@pytest.mark.parametrize("dim", [2, 3])
def test_patch_test_on_graded_meshes(dim, lammps_potentials):
    """Any homogeneous deformation of the boundary leaves zero force on every interior node,
    to round-off (P1 elements represent linear fields exactly)."""
    if dim == 2:
        lat, mesh = graded_mesh_2d()
        material = CauchyBorn(lennard_jones(1.0, 1.0, 2.5), lat)
    else:
        lat, mesh = graded_mesh_3d()
        material = CauchyBorn(Eam.from_file(lammps_potentials / "Fe_mm.eam.fs"), lat)
    sizes = np.ptp(mesh.nodes, axis=0)
    on_hull = np.any((np.abs(mesh.nodes - mesh.nodes.min(axis=0)) < 1e-6)
                     | (np.abs(mesh.nodes - mesh.nodes.max(axis=0)) < 1e-6), axis=1)
    assert mesh.quality().min() > 0.05 and len(mesh.elements) > 100
    assert np.isclose(mesh.volumes.sum(), np.prod(sizes))
    region = ContinuumRegion(mesh, material, held=on_hull)
    F = random_F(np.random.default_rng(3), 0.02, dim)
    region.set_dofs((mesh.nodes @ F.T).reshape(-1))
    region.deform_held(F)
    _, f = region.energy_and_forces()
    scale = np.abs(material.stress(F)).max() * mesh.volumes.max() ** ((dim - 1) / dim)
    assert np.abs(f[~on_hull]).max() < 1e-10 * scale
    assert np.abs(f[on_hull]).max() > 1e-3 * scale  # the boundary carries the load


def test_nodal_forces_are_minus_the_energy_gradient(lammps_potentials):
    lat, mesh = graded_mesh_3d()
    region = ContinuumRegion(mesh, CauchyBorn(Eam.from_file(lammps_potentials / "Fe_mm.eam.fs"),
                                              lat))
    rng = np.random.default_rng(4)
    x = mesh.nodes + rng.normal(0, 0.05, mesh.nodes.shape)
    _, f = region.energy_and_forces(x)
    h = 1e-6
    for node in rng.choice(mesh.n_nodes, 5, replace=False):
        for a in range(3):
            y = x.copy()
            y[node, a] += h
            ep = region.energy_and_forces(y)[0]
            y[node, a] -= 2 * h
            em = region.energy_and_forces(y)[0]
            assert f[node, a] == pytest.approx(-(ep - em) / (2 * h), rel=1e-5, abs=1e-7)


def square_mesh(n):
    """Unit square, n x n squares each cut into two triangles (alternating diagonals)."""
    g = np.linspace(0.0, 1.0, n + 1)
    X, Y = np.meshgrid(g, g, indexing="ij")
    nodes = np.column_stack([X.ravel(), Y.ravel()])
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    tris = []
    for i in range(n):
        for j in range(n):
            a, b, c, d = idx[i, j], idx[i + 1, j], idx[i + 1, j + 1], idx[i, j + 1]
            tris += [(a, b, c), (a, c, d)] if (i + j) % 2 == 0 else [(a, b, d), (b, c, d)]
    return Mesh(nodes, np.array(tris))


LAM, MU = 1.0, 0.5


def exact_u(p):
    x, y = p[..., 0], p[..., 1]
    return np.stack([np.sin(np.pi * x) * np.sin(np.pi * y), x * (1 - x) * y * (1 - y)], axis=-1)


def exact_grad(p):
    x, y = p[..., 0], p[..., 1]
    pi = np.pi
    g = np.empty(p.shape[:-1] + (2, 2))
    g[..., 0, 0] = pi * np.cos(pi * x) * np.sin(pi * y)
    g[..., 0, 1] = pi * np.sin(pi * x) * np.cos(pi * y)
    g[..., 1, 0] = (1 - 2 * x) * y * (1 - y)
    g[..., 1, 1] = x * (1 - x) * (1 - 2 * y)
    return g


def body_force(p):
    """b = -div sigma for the exact u: -(mu lap u + (lam + mu) grad div u)."""
    x, y = p[..., 0], p[..., 1]
    pi = np.pi
    lap = np.stack([-2 * pi**2 * np.sin(pi * x) * np.sin(pi * y),
                    -2 * y * (1 - y) - 2 * x * (1 - x)], axis=-1)
    grad_div = np.stack([-pi**2 * np.sin(pi * x) * np.sin(pi * y) + (1 - 2 * x) * (1 - 2 * y),
                         pi**2 * np.cos(pi * x) * np.cos(pi * y) - 2 * x * (1 - x)], axis=-1)
    return -(MU * lap + (LAM + MU) * grad_div)


def test_linear_elastic_p1_converges_at_the_theoretical_rates():
    """Manufactured solution on the unit square, u = 0 on the boundary, Newton-Krylov solve:
    the L2 error falls as h^2 and the energy-norm error as h."""
    from qc_sim.continuum.linear_elastic import LinearElastic
    from qc_sim.solvers import newton_krylov

    material = LinearElastic.isotropic(LAM, MU, dim=2)
    l2, energy = [], []
    sizes = [8, 16, 32, 64]
    # 6-point quadrature of degree 4 on the triangle (barycentric, weights sum to 1)
    a1, b1, w1 = 0.445948490915965, 0.108103018168070, 0.223381589678011
    a2, b2, w2 = 0.091576213509771, 0.816847572980459, 0.109951743655322
    bary = np.array([[a1, a1, b1], [a1, b1, a1], [b1, a1, a1],
                     [a2, a2, b2], [a2, b2, a2], [b2, a2, a2]])
    weights = np.array([w1] * 3 + [w2] * 3)
    for n in sizes:
        mesh = square_mesh(n)
        boundary = np.any((mesh.nodes < 1e-12) | (mesh.nodes > 1 - 1e-12), axis=1)
        region = ContinuumRegion(mesh, material, held=boundary)
        region.external = region.body_force_loads(body_force)
        result = newton_krylov(region, fmax=1e-10, max_steps=10)
        assert result.converged, result.message
        u_h = region.x - mesh.nodes
        corners = mesh.nodes[mesh.elements]
        q = np.einsum("qa,ead->eqd", bary, corners)
        uq = np.einsum("qa,ead->eqd", bary, u_h[mesh.elements])
        err = ((uq - exact_u(q)) ** 2).sum(axis=-1)
        l2.append(np.sqrt((mesh.volumes[:, None] * weights * err).sum()))
        grad_h = region.deformation_gradients() - np.eye(2)
        de = grad_h[:, None] - exact_grad(q)
        eps = 0.5 * (de + np.swapaxes(de, -1, -2))
        dens = np.einsum("eqij,ijkl,eqkl->eq", eps, material.C, eps)
        energy.append(np.sqrt((mesh.volumes[:, None] * weights * dens).sum()))
    l2_rate = np.log2(np.array(l2[:-1]) / l2[1:])
    energy_rate = np.log2(np.array(energy[:-1]) / energy[1:])
    print("L2 rates", l2_rate, "energy rates", energy_rate)
    assert np.all(np.abs(l2_rate[1:] - 2.0) < 0.1)
    assert np.all(np.abs(energy_rate[1:] - 1.0) < 0.1)


def test_explicit_dynamics_of_a_coarse_bar_conserves_energy_and_refuses_unstable_steps():
    """A coarse Cauchy-Born bar (2D triangular Lennard-Jones argon, graded mesh), released
    from a 2 % stretch: over 10,000 steps at 0.5 of the stable step the total energy drifts
    by less than 1e-4 of itself (and 1e-3 of the kinetic energy it exchanges)."""
    from qc_sim.continuum.dynamics import ExplicitDynamics, lumped_masses

    pot = lennard_jones(0.0104, 3.4, 8.5, species=("Ar",))
    a0, _ = equilibrium_lattice_2d(pot)
    lat = triangular(a0)
    pts = lattice_points(lat, (0, 0), (60 * a0, 8 * a0 * 3**0.5 / 2), (0, 0), (10 * a0, 4 * a0),
                         rate=0.5, max_level=2)
    mesh = delaunay_mesh(pts)
    region = ContinuumRegion(mesh, CauchyBorn(pot, lat))
    masses = lumped_masses(mesh, 39.948, lat.atomic_volume)
    assert masses.sum() == pytest.approx(39.948 * mesh.volumes.sum() / lat.atomic_volume)
    F = np.diag([1.02, 1.0])
    region.x = mesh.nodes @ F.T
    with pytest.raises(ValueError, match="above the stability limit"):
        ExplicitDynamics(region, masses, dt=10.0)
    probe = ExplicitDynamics(region, masses, dt=1e-6)
    dyn = ExplicitDynamics(region, masses, dt=0.5 * probe.limit)
    state = dyn.init_state()
    e0 = state.energy
    totals, kinetic = [], []

    def record(s):
        totals.append(s.energy + dyn.kinetic_energy(s))
        kinetic.append(dyn.kinetic_energy(s))

    dyn.run(state, 10_000, every=100, on_step=record)
    drift = np.abs(np.array(totals) - e0).max()
    print(f"bar: {mesh.n_nodes} nodes, dt {dyn.dt:.4g} ps, drift {drift / abs(e0):.2e} of E, "
          f"{drift / max(kinetic):.2e} of max KE")
    released = e0 - region.energy_and_forces(mesh.nodes @ np.eye(2))[0]
    assert max(kinetic) > 0.3 * released > 0  # the bar rings
    assert drift < 1e-4 * abs(e0)


def equilibrium_lattice_2d(pot):
    """Nearest-neighbour distance minimising the 2D triangular lattice energy per site."""
    from scipy.optimize import minimize_scalar

    def per_site(a):
        cb = CauchyBorn(pot, triangular(a))
        return cb.energy(np.eye(2)) * cb.volume

    res = minimize_scalar(per_site,
                          bounds=(3.0, 4.5), method="bounded", options={"xatol": 1e-10})
    return res.x, res.fun


def test_boundary_faces_tractions_and_point_location():
    lat, mesh = graded_mesh_3d()
    faces = mesh.boundary_faces()
    normals = mesh.face_normals(faces)
    assert np.abs(normals.sum(axis=0)).max() < 1e-9  # a closed surface
    sides = mesh.tag_box_sides()
    size = np.ptp(mesh.nodes, axis=0)
    for name, axis in (("xlo", 0), ("yhi", 1), ("zhi", 2)):
        n = mesh.face_normals(sides[name])
        area = np.prod(np.delete(size, axis))
        assert np.linalg.norm(n, axis=1).sum() == pytest.approx(area)
        assert np.all(np.sign(n[:, axis]) == (1 if name.endswith("hi") else -1))
    t = np.array([0.01, -0.02, 0.005])
    loads = mesh.traction_loads(sides["xhi"], t)
    assert loads.sum(axis=0) == pytest.approx(t * size[1] * size[2])
    rng = np.random.default_rng(0)
    points = mesh.nodes.min(axis=0) + rng.uniform(0, 1, (200, 3)) * size
    element, bary = mesh.locate(points)
    assert np.all(element >= 0) and np.all(bary > -1e-9)
    rebuilt = np.einsum("pa,pad->pd", bary, mesh.nodes[mesh.elements[element]])
    assert np.abs(rebuilt - points).max() < 1e-9
    assert mesh.locate(mesh.nodes.max(axis=0) + 1.0)[0][0] == -1


def test_newton_krylov_solves_a_cauchy_born_block_under_traction(lammps_potentials):
    """A bcc Fe block pulled by a traction on x-hi and held on x-lo: Newton-Krylov with the
    Cauchy-Born tangent converges in a few steps to the state L-BFGS finds, and the reaction
    of the support balances the applied load."""
    from qc_sim.solvers import lbfgs, newton_krylov

    lat, mesh = graded_mesh_3d()
    sides = mesh.tag_box_sides()
    material = CauchyBorn(Eam.from_file(lammps_potentials / "Fe_mm.eam.fs"), lat)
    load = mesh.traction_loads(sides["xhi"], [0.01, 0.0, 0.0])  # 1.6 GPa
    a = ContinuumRegion(mesh, material, held=mesh.node_sets["xlo"], external_forces=load)
    result = newton_krylov(a, fmax=1e-8, max_steps=20)
    assert result.converged and result.steps <= 8, result.message
    b = ContinuumRegion(mesh, material, held=mesh.node_sets["xlo"], external_forces=load)
    lbfgs(b, fmax=1e-5, max_steps=5000).check()
    assert np.abs(a.x - b.x).max() < 1e-3
    _, f = a.energy_and_forces()
    reaction = -f[mesh.node_sets["xlo"]].sum(axis=0)  # what the support pushes back with
    assert reaction == pytest.approx(-load.sum(axis=0), abs=1e-6)


@pytest.mark.parametrize("which", ["eam", "lj"])
def test_cauchy_born_kernel_equals_the_numpy_path(which, lammps_potentials):
    """kernels/cauchy_born.cu (element energy density and stress, node gather) against the
    NumPy path, on a deformed 3D mesh."""
    device = get_device("cpu")
    if which == "eam":
        pot, lat = Eam.from_file(lammps_potentials / "Fe_mm.eam.fs"), bcc(2.855)
    else:
        pot, lat = lennard_jones(0.0104, 3.4, 8.5), fcc(5.26)
    rng = np.random.default_rng(7)
    F = np.eye(3) + rng.uniform(-0.05, 0.05, (200, 3, 3))
    W0, P0 = CauchyBorn(pot, lat).energy_stress(F)
    W1, P1 = CauchyBorn(pot, lat, device=device).energy_stress(F)
    assert np.abs(W1 - W0).max() <= 1e-12 * np.abs(W0).max()
    assert np.abs(P1 - P0).max() <= 1e-12 * np.abs(P0).max()
    _, mesh = graded_mesh_3d()
    x = mesh.nodes + rng.normal(0, 0.05, mesh.nodes.shape)
    e0, f0 = ContinuumRegion(mesh, CauchyBorn(pot, bcc(2.855) if which == "eam" else lat)
                             ).energy_and_forces(x)
    region = ContinuumRegion(mesh, CauchyBorn(pot, bcc(2.855) if which == "eam" else lat,
                                              device=device), device=device)
    e1, f1 = region.energy_and_forces(x)
    assert e1 == pytest.approx(e0, rel=1e-12)
    assert np.abs(f1 - f0).max() <= 1e-12 * np.abs(f0).max()


def test_cauchy_born_kernel_in_2d():
    device = get_device("cpu")
    pot, lat = lennard_jones(1.0, 1.0, 2.5), triangular(1.12)
    F = np.eye(2) + np.random.default_rng(8).uniform(-0.05, 0.05, (50, 2, 2))
    W0, P0 = CauchyBorn(pot, lat).energy_stress(F)
    W1, P1 = CauchyBorn(pot, lat, device=device).energy_stress(F)
    assert np.abs(W1 - W0).max() <= 1e-12 * np.abs(W0).max()
    assert np.abs(P1 - P0).max() <= 1e-12 * np.abs(P0).max()


def periodic_slab(lammps_potentials):
    """A thin fcc slab periodic along z = [001] (two cells), graded in x and y."""
    a = 3.615
    lat = fcc(a)
    lo, hi = (0.0, 0.0, 0.0), (24 * a, 24 * a, 2 * a)
    pts = lattice_points(lat, lo, hi, (9 * a, 9 * a, 0), (15 * a, 15 * a, 2 * a), rate=0.4,
                         max_level=2, periodic=(False, False, True))
    mesh = delaunay_mesh(pts, periodic=(False, False, True), lo=lo, hi=hi)
    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    return lat, mesh, CauchyBorn(pot, fcc(3.6149250663890298))


def test_periodic_slab_tiles_its_period_and_passes_the_patch_test(lammps_potentials):
    lat, mesh, material = periodic_slab(lammps_potentials)
    a = 3.615
    assert mesh.volumes.sum() == pytest.approx(24 * a * 24 * a * 2 * a)
    assert np.any(mesh.shifts[:, :, 2] != 0)  # elements wrap across the period
    assert mesh.quality().min() > 0.05
    side = np.any((np.abs(mesh.nodes[:, :2]) < 1e-6) | (np.abs(mesh.nodes[:, :2] - 24 * a) < 1e-6),
                  axis=1)  # the open faces only: the periodic faces are interior
    region = ContinuumRegion(mesh, material, held=side)
    F = np.array([[1.01, 0.004, 0.0], [-0.003, 0.995, 0.0], [0.002, 0.001, 1.008]])
    region.set_dofs((mesh.nodes @ F.T).reshape(-1))
    region.deform_held(F)
    _, f = region.energy_and_forces()
    scale = np.abs(material.stress(F)).max() * mesh.volumes.max() ** (2 / 3)
    assert np.abs(f[~side]).max() < 1e-10 * scale
    with pytest.raises(ValueError, match="must map that axis onto itself"):
        region.deform_held(np.array([[1.0, 0, 0.01], [0, 1, 0], [0, 0, 1]]))


def test_periodic_slab_forces_are_minus_the_energy_gradient(lammps_potentials):
    lat, mesh, material = periodic_slab(lammps_potentials)
    region = ContinuumRegion(mesh, material)
    rng = np.random.default_rng(9)
    x = mesh.nodes + rng.normal(0, 0.03, mesh.nodes.shape)
    _, f = region.energy_and_forces(x)
    wrapped = np.nonzero(np.any(mesh.shifts[:, :, 2] != 0, axis=1))[0]
    nodes = np.unique(mesh.elements[wrapped])[:4]  # nodes of elements across the period
    h = 1e-6
    for node in nodes:
        for k in range(3):
            y = x.copy()
            y[node, k] += h
            ep = region.energy_and_forces(y)[0]
            y[node, k] -= 2 * h
            em = region.energy_and_forces(y)[0]
            assert f[node, k] == pytest.approx(-(ep - em) / (2 * h), rel=1e-5, abs=1e-7)


def test_periodic_delaunay_of_a_symmetric_grid_tiles_the_cell():
    """Grid points on the periodic faces put centroids exactly on them: every class of
    simplices must be kept once (a centroid test lost some on both sides)."""
    from qc_sim.continuum.mesh import delaunay_mesh

    g = np.arange(8) / 8.0
    square = delaunay_mesh(np.array([[x, y] for x in g for y in g]), periodic=[True, True],
                           lo=[0, 0], hi=[1, 1])
    assert len(square.elements) == 2 * 64 and square.volumes.sum() == pytest.approx(1.0, 1e-14)
    g = np.arange(5) / 5.0
    cube = delaunay_mesh(np.array([[x, y, z] for x in g for y in g for z in g]),
                         periodic=[True, True, True], lo=[0, 0, 0], hi=[1, 1, 1])
    assert cube.volumes.sum() == pytest.approx(1.0, 1e-14)
    assert np.all(cube.volumes > 0)
