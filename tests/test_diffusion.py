"""Diffusion-reaction in a sphere: the analytic series (Crank 1975, ch. 6) against
independent forms, both discretisations against the series with their convergence rates,
the Damköhler reduction's 1/Da error and model choice, bitwise restart, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erfc

from qc_sim.errors import InputError
from qc_sim.regions import diffusion_analytic as analytic
from qc_sim.regions.base import Region
from qc_sim.regions.diffusion import Arrhenius, DiffusionRegion, choose_model
from qc_sim.units import BOLTZMANN

TAU = 0.1  # D t / a^2 of every comparison
A, D = 10.0, 0.5  # Å, Å^2/ps: a^2 / D = 200 ps


def run(region, tau=TAU, steps=40):
    T = tau * region.radius**2 / region.diffusivity
    for _ in range(steps):
        region.advance(T / steps)
    return region


def radial(model, Da=1.0, n_cells=200, steps=40, **kw):
    r = DiffusionRegion(A, D, 0.2, 1.0, alpha=Da * D / A, model=model, n_cells=n_cells, **kw)
    return run(r, steps=steps)


def slope(h, e):
    """Least-squares order p of |e| = C h^p."""
    return float(np.polyfit(np.log(h), np.log(np.abs(e)), 1)[0])


# -- the series ------------------------------------------------------------------------------

def test_dirichlet_series_matches_crank_short_time_form():
    """Crank eq. 6.20 against his eq. 6.21, U = 6 sqrt(tau) (pi^-1/2 + 2 sum ierfc(n /
    sqrt tau)) - 3 tau: an independent (image) form of the same solution."""
    def ierfc(x):
        return math.exp(-x * x) / math.sqrt(math.pi) - x * erfc(x)

    for tau in (1e-4, 1e-2, TAU, 0.5):
        short = 6 * math.sqrt(tau) * (1 / math.sqrt(math.pi) + 2 * sum(
            ierfc(n / math.sqrt(tau)) for n in range(1, 40))) - 3 * tau
        assert analytic.dirichlet_uptake(tau) == pytest.approx(short, abs=1e-13)


def test_series_are_converged_and_self_consistent():
    L = 3.0
    assert analytic.robin_uptake(TAU, L) == pytest.approx(
        analytic.robin_uptake(TAU, L, tol=1e-30), abs=1e-14)
    b = analytic.robin_roots(L, 50)
    assert np.abs(b * np.cos(b) + (L - 1) * np.sin(b)).max() < 1e-12 * b.max()
    lam = analytic.flux_roots(50)
    assert np.abs(np.tan(lam) - lam).max() < 1e-9 * lam.max()
    # the profiles (eqs. 6.18, 6.39, and the flux solution) integrate to the uptakes
    def content(profile):
        return quad(lambda x: 3 * x * x * profile(x)[0], 0, 1, epsabs=1e-13)[0]

    assert content(lambda x: analytic.robin_concentration(x, TAU, L)) == pytest.approx(
        analytic.robin_uptake(TAU, L), abs=1e-11)
    assert content(lambda x: analytic.dirichlet_concentration(x, TAU)) == pytest.approx(
        analytic.dirichlet_uptake(TAU), abs=1e-11)
    assert content(lambda x: analytic.flux_concentration(x, TAU)) == pytest.approx(
        3 * TAU, abs=1e-11)
    # flux solution: no change yet in the interior at early times, unit flux at rho = 1
    assert abs(analytic.flux_concentration(0.5, 1e-4)[0]) < 1e-12
    h = 1e-5
    grad = (analytic.flux_concentration(1.0, TAU) - analytic.flux_concentration(1 - h, TAU)) / h
    assert grad[0] == pytest.approx(1.0, abs=1e-4)
    # robin tends to the constant surface concentration as L -> inf, reaction-limited at t -> 0
    assert analytic.robin_uptake(TAU, 1e7) == pytest.approx(analytic.dirichlet_uptake(TAU),
                                                            abs=1e-6)
    assert analytic.robin_uptake(1e-6, 1.0) == pytest.approx(3e-6, rel=1e-3)


def _radial_residual(c, rho, tau, h=1e-4, k=1e-6):
    """dc/dtau - (c'' + 2 c' / rho) at interior rho by central differences."""
    dt = (c(rho, tau + k) - c(rho, tau - k)) / (2 * k)
    cp, c0, cm = c(rho + h, tau), c(rho, tau), c(rho - h, tau)
    return dt - ((cp - 2 * c0 + cm) / h**2 + (cp - cm) / (h * rho))


@pytest.mark.parametrize("tau", [0.02, TAU])
def test_series_solve_the_equation_with_their_boundary_conditions(tau):
    """Each profile satisfies the spherical diffusion equation dc/dtau = c'' + 2c'/rho inside
    (central differences, to 1e-6 of dc/dtau; reached 4e-8) and its own surface condition:
    c(1) = 1 (eq. 6.18); c'(1) = L (1 - c(1)) (eq. 6.39); c'(1) = 1 (the flux solution), and
    the flux solution's surface value is flux_surface_concentration. Robin's roots for L = 1
    are (n - 1/2) pi exactly (beta cot beta = 0), the flux roots those of tan = identity."""
    rho = np.array([0.13, 0.5, 0.77, 0.95])
    L = 2.5
    profiles = {"dirichlet": analytic.dirichlet_concentration,
                "robin": lambda r, t: analytic.robin_concentration(r, t, L),
                "flux": analytic.flux_concentration}
    for name, c in profiles.items():
        scale = np.abs((c(rho, tau + 1e-6) - c(rho, tau - 1e-6)) / 2e-6).max()
        assert np.abs(_radial_residual(c, rho, tau)).max() < 1e-6 * max(scale, 1.0), name
    h = 1e-6

    def slope_at_surface(c):  # one-sided, second order
        return float((3 * c(1.0, tau) - 4 * c(1 - h, tau) + c(1 - 2 * h, tau))[0] / (2 * h))

    assert analytic.dirichlet_concentration(1.0, tau)[0] == pytest.approx(1.0, abs=1e-13)
    robin = profiles["robin"]
    assert slope_at_surface(robin) == pytest.approx(L * (1 - robin(1.0, tau)[0]), abs=1e-5)
    assert slope_at_surface(analytic.flux_concentration) == pytest.approx(1.0, abs=1e-5)
    assert analytic.flux_surface_concentration(tau) == pytest.approx(
        analytic.flux_concentration(1.0, tau)[0], abs=1e-13)
    n = np.arange(1, 21)
    assert np.allclose(analytic.robin_roots(1.0, 20), (n - 0.5) * np.pi, rtol=1e-15, atol=0)
    lam = analytic.flux_roots(20)
    assert np.all((lam > n * np.pi) & (lam < (n + 0.5) * np.pi))
    assert np.abs(np.sin(lam) - lam * np.cos(lam)).max() < 1e-12 * lam.max()


def test_series_honour_their_tolerance_and_small_reaction_numbers():
    """A loose ``tol`` truncates every series (fewer terms: a different value) and its error
    against the converged one stays below that tol; at L = 0.05 Robin's first root lies near
    sqrt(3 L) (beta cot beta = 1 - L: beta^2 / 3 = L to first order), below 1, and every root
    solves beta cos beta + (L - 1) sin beta = 0 inside its bracket ((n - 1) pi, n pi)."""
    tau, loose = 0.002, 1e-3
    series = {
        "dirichlet_uptake": lambda tol: analytic.dirichlet_uptake(tau, tol),
        "dirichlet_concentration": lambda tol: analytic.dirichlet_concentration(0.9, tau, tol)[0],
        "robin_uptake": lambda tol: analytic.robin_uptake(tau, 2.0, tol),
        "robin_concentration": lambda tol: analytic.robin_concentration(0.9, tau, 2.0, tol)[0],
        "flux_concentration": lambda tol: analytic.flux_concentration(0.9, tau, tol)[0],
        "flux_surface_concentration": lambda tol: analytic.flux_surface_concentration(tau, tol),
        "reduction_error": lambda tol: analytic.reduction_error(tau, 2.0, tol),
        "reduction_error_asymptotic":
            lambda tol: analytic.reduction_error_asymptotic(tau, 2.0, tol) * 2.0 / 12.0,
    }
    for name, f in series.items():
        exact, truncated = f(analytic.TOL), f(loose)
        assert truncated != exact, name
        assert abs(truncated - exact) < loose, name
    # the reduction error at a tol is made of the series at that same tol
    assert analytic.reduction_error(tau, 2.0, loose) == (
        analytic.dirichlet_uptake(tau, loose) - analytic.robin_uptake(tau, 2.0, loose))
    n = np.arange(1, analytic.n_terms(tau, loose) + 1)
    decay = np.sum(np.exp(-(n * np.pi) ** 2 * tau))
    assert analytic.reduction_error_asymptotic(tau, 2.0, loose) == pytest.approx(
        (3 * (1 - analytic.dirichlet_uptake(tau, loose)) + 12 * tau * decay) / 2.0, rel=1e-14)
    L = 0.05
    b = analytic.robin_roots(L, 6)
    assert b[0] == pytest.approx(np.sqrt(3 * L), rel=0.02) and b[0] < 1.0
    assert np.all((b > np.arange(6) * np.pi) & (b < np.arange(1, 7) * np.pi))
    assert np.abs(b * np.cos(b) + (L - 1) * np.sin(b)).max() < 1e-13


def test_series_at_and_before_the_start():
    """At tau <= 0 every solution is its initial state: nothing taken up, the interior at c0
    (and the constant-concentration surface already at c_eq); the galvanostatic uptake is
    3 tau L_flux; the series length at tau = 0.1 is the module docstring's 8 terms."""
    for tau in (0.0, -1.0):
        assert analytic.dirichlet_uptake(tau) == 0.0
        assert analytic.robin_uptake(tau, 2.0) == 0.0
        assert analytic.flux_surface_concentration(tau) == 0.0
        assert analytic.reduction_error_asymptotic(tau, 10.0) == 0.0
        assert np.array_equal(analytic.dirichlet_concentration([0.5, 1.0], tau), [0.0, 1.0])
        assert np.array_equal(analytic.robin_concentration([0.5, 1.0], tau, 2.0), [0.0, 0.0])
        assert np.array_equal(analytic.flux_concentration([0.5, 1.0], tau), [0.0, 0.0])
        assert analytic.n_terms(tau) == 1
    assert analytic.robin_uptake(TAU, 0.0) == 0.0  # no reaction: nothing enters
    with pytest.raises(ValueError, match=r"^robin_roots needs L > 0$"):
        analytic.robin_roots(0.0, 3)
    assert analytic.flux_uptake(0.25, 0.4) == pytest.approx(0.3, rel=1e-15)
    assert analytic.n_terms(0.1) == 8 and analytic.n_terms(0.1, tol=1e-30) == 11
    assert analytic.dirichlet_concentration(0.5, TAU).dtype == np.float64


# -- the radial finite volumes -----------------------------------------------------------

@pytest.mark.parametrize("model, reference", [
    ("full", lambda: analytic.robin_uptake(TAU, 1.0)),
    ("reduced", lambda: analytic.dirichlet_uptake(TAU))])
def test_radial_models_match_series(model, reference):
    region = radial(model)
    assert region.time == pytest.approx(TAU * A * A / D)
    assert abs(region.thermo()["uptake"] - reference()) < 1e-4  # measured 3e-6 / 5e-6


@pytest.mark.parametrize("model, reference", [
    ("full", lambda: analytic.robin_uptake(TAU, 1.0)),
    ("reduced", lambda: analytic.dirichlet_uptake(TAU))])
def test_radial_space_and_time_convergence(model, reference):
    """Space: N = 25..200 shells, 1000 steps (time error ~1e-9); time: 5..40 steps on 200
    shells against 2000 steps on the same grid. Both second order, below 1e-4."""
    cells = np.array([25, 50, 100, 200])
    space = np.array([radial(model, n_cells=n, steps=1000).uptake() - reference() for n in cells])
    assert slope(1.0 / cells, space) == pytest.approx(2.0, abs=0.05)  # measured 2.00
    assert np.all(np.abs(space[1:]) < 1e-4)
    fine = radial(model, steps=2000).uptake()
    steps = np.array([5, 10, 20, 40])
    time = np.array([radial(model, steps=s).uptake() - fine for s in steps])
    assert slope(1.0 / steps, time) == pytest.approx(2.0, abs=0.1)  # measured 2.04 / 2.07
    assert np.all(np.abs(time[2:]) < 1e-4)


def test_surface_exports_match_series():
    """Full model: c(a) from eq. 6.39 at rho = 1, flux D dc/dr = alpha (c_eq - c(a))."""
    Da = 3.0
    region = radial("full", Da=Da)
    c_a = 0.2 + 0.8 * analytic.robin_concentration(1.0, TAU, Da)[0]
    out = region.exports()
    assert out["surface_concentration"] == pytest.approx(c_a, abs=1e-4)
    assert out["surface_flux"] == pytest.approx(Da * D / A * (1.0 - c_a), abs=1e-4 * D / A)


def test_galvanostatic_surface_concentration_and_uptake():
    j = 0.01  # inward flux D dc/dr(a), concentration x Å/ps
    region = run(DiffusionRegion(A, D, 0.2, 1.0, flux=j, model="galvanostatic"))
    scale = j * A / D
    expected = 0.2 + scale * analytic.flux_surface_concentration(TAU)
    assert region.surface_concentration() == pytest.approx(expected, abs=1e-4 * scale)
    assert region.uptake() == pytest.approx(3 * TAU * scale / 0.8, rel=1e-12)
    assert region.exports()["surface_flux"] == pytest.approx(j, rel=1e-12)


# -- the Damköhler reduction -------------------------------------------------------------

def test_damkohler_table_error_falls_like_one_over_da():
    """U_red - U_full at tau = 0.1 for Da = 1, 10, 100, 1000: both models on the radial grid
    within 1e-4 of their series, their difference the series' (measured 0.54184, 0.11649,
    0.011657, 0.0011599), and Da times it tending to the asymptotic 1.1591."""
    reduced = radial("reduced").uptake()
    assert reduced == pytest.approx(analytic.dirichlet_uptake(TAU), abs=1e-4)
    errors = []
    for Da in (1.0, 10.0, 100.0, 1000.0):
        full = radial("full", Da=Da).uptake()
        assert full == pytest.approx(analytic.robin_uptake(TAU, Da), abs=1e-4)
        series = analytic.reduction_error(TAU, Da)
        assert reduced - full == pytest.approx(series, abs=2e-5)
        # the asymptotic estimate is off by O(1/Da^2)
        assert abs(series - analytic.reduction_error_asymptotic(TAU, Da)) < 1.0 / Da**2
        errors.append(reduced - full)
    errors = np.array(errors)
    assert errors[0] == pytest.approx(0.5418, abs=1e-3)
    assert np.all((errors[1:] * [10, 100, 1000] > 1.15) & (errors[1:] * [10, 100, 1000] < 1.175))
    assert np.all((errors[1:-1] / errors[2:] > 9.5) & (errors[1:-1] / errors[2:] < 10.5))


def test_automatic_choice_is_reduced_only_where_it_is_accurate():
    """For each Da and tolerance the choice is 'reduced' exactly where the measured
    (radial, both models run) uptake difference at the time of interest is below it."""
    t = TAU * A * A / D
    reduced = radial("reduced").uptake()
    for Da in (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0):
        actual = reduced - radial("full", Da=Da).uptake()
        for tol in (1e-3, 1e-2, 1e-1):
            choice = choose_model(D, Da * D / A, A, t, tol)
            assert choice.damkohler == pytest.approx(Da)
            assert choice.error_estimate == pytest.approx(actual, abs=2e-5)
            assert (choice.model == "reduced") == (actual < tol)
    # forcing a model keeps the estimate
    forced = choose_model(D, D / A, A, t, 1e-3, model="reduced")
    assert forced.model == "reduced" and forced.error_estimate > 0.5
    assert choose_model(D, 1e4 * D / A, A, t, 1e-2, model="full").model == "full"
    # over the whole history up to t the error is larger (about 2.4 / Da at Da = 100)
    hist = choose_model(D, 100 * D / A, A, t, 1e-2, history=True)
    assert 2.3e-2 < hist.error_estimate < 2.5e-2 and hist.model == "full"


def test_region_auto_model_follows_the_choice():
    t = TAU * A * A / D
    fast = DiffusionRegion(A, D, 0.0, 1.0, alpha=1e4 * D / A, model="auto",
                           time_of_interest=t, tolerance=1e-3)
    slow = DiffusionRegion(A, D, 0.0, 1.0, alpha=10 * D / A, model="auto",
                           time_of_interest=t, tolerance=1e-3)
    assert fast.model == "reduced" and slow.model == "full"
    assert fast.damkohler == pytest.approx(1e4) and fast.choice.error_estimate < 1e-3


# -- the P1 tetrahedral mesh ---------------------------------------------------------------

@pytest.mark.parametrize("model, mass, order_range", [
    ("full", "lumped", (1.85, 2.15)),       # measured 1.98
    ("full", "consistent", (1.85, 2.15)),   # measured 1.95
])
def test_mesh_uptake_converges_at_second_order(model, mass, order_range):
    """Edge h = a/4 .. a/11 (420 .. 6638 nodes), 40 steps (time error ~2e-6). The
    polyhedron's volume and area are O(h^2) short of the sphere's, as is P1's error."""
    ks = np.array([4, 6, 8, 11])
    errors = []
    for k in ks:
        region = DiffusionRegion(1.0, 1.0, 0.0, 1.0, alpha=1.0, model=model,
                                 discretisation="mesh", mesh_spacing=1.0 / k, mass=mass)
        errors.append(run(region).uptake() - analytic.robin_uptake(TAU, 1.0))
    order = slope(1.0 / ks, errors)
    assert order_range[0] < order < order_range[1]
    assert abs(errors[-1]) < 1e-3  # measured 7.6e-4 (lumped), 4.2e-4 (consistent)


def test_mesh_reduced_model_converges():
    """Consistent mass, surface held at c_eq: second order (measured 1.95). (With lumped mass
    the error is smaller but irregular between meshes, ~1e-4 from h = a/6 on.)"""
    ks = np.array([4, 6, 8])
    errors = [run(DiffusionRegion(1.0, 1.0, 0.0, 1.0, model="reduced", discretisation="mesh",
                                  mesh_spacing=1.0 / k, mass="consistent")).uptake()
              - analytic.dirichlet_uptake(TAU) for k in ks]
    assert 1.8 < slope(1.0 / ks, errors) < 2.2


def test_mesh_galvanostatic_conserves_content():
    region = DiffusionRegion(1.0, 1.0, 0.0, 1.0, flux=0.3, model="galvanostatic",
                             discretisation="mesh", mesh_spacing=0.25, mass="consistent")
    run(region, steps=7)
    grid = region.grid
    assert grid.masses @ region.c == pytest.approx(0.3 * grid.area * region.time, rel=1e-12)
    assert region.exports()["surface_flux"] == pytest.approx(0.3, rel=1e-12)
    costs = region.entity_costs()
    assert costs.shape == (grid.n,) and costs.min() > 0


def test_amg_solver_agrees_with_direct_on_a_given_mesh():
    from qc_sim.regions.diffusion_mesh import sphere_mesh

    mesh = sphere_mesh(1.0, 1.0 / 6)
    runs = [run(DiffusionRegion(1.0, 1.0, 0.0, 1.0, alpha=2.0, discretisation="mesh",
                                mesh=mesh, mass="consistent", solver=s), steps=10).c
            for s in ("direct", "amg")]
    assert np.abs(runs[0] - runs[1]).max() < 1e-9


# -- the region interface ----------------------------------------------------------------

def step(region, i):
    """Step i of a schedule with uneven dt and new boundary data at steps 5 and 11."""
    region.advance((0.7, 1.3, 0.7, 2.9)[i % 4])
    if i in (5, 11):
        region.imports({"c_eq": 0.9 if i == 5 else 0.95})


@pytest.mark.parametrize("kwargs", [
    dict(model="full", alpha=0.3, diffusivity=(2.0, 0.05, 600.0)),
    dict(model="reduced", discretisation="mesh", mesh_spacing=2.5, mass="consistent",
         diffusivity=0.5),
    dict(model="galvanostatic", flux=0.01, diffusivity=0.5),
])
def test_restart_is_bitwise(kwargs):
    def make():
        return DiffusionRegion(A, c0=0.1, c_eq=1.0, **kwargs)

    n = 8
    whole, first, second = make(), make(), make()
    for i in range(2 * n):
        step(whole, i)
    for i in range(n):
        step(first, i)
    second.load_state_fields(first.state_fields())
    for i in range(n, 2 * n):
        step(second, i)
    assert np.array_equal(whole.c, second.c)
    assert whole.thermo() == second.thermo()
    assert isinstance(whole, Region) and whole.physics == "diffusion"
    assert whole.stable_time_step() == math.inf
    assert whole.entity_costs().shape == whole.c.shape


def test_arrhenius_diffusivity_and_temperature_import():
    D0, Ea, T = 2.0, 0.1, 500.0
    r = DiffusionRegion(A, (D0, Ea, T), 0.0, 1.0, alpha=0.1)
    assert r.diffusivity == pytest.approx(D0 * math.exp(-Ea / (BOLTZMANN * T)), rel=1e-14)
    law = Arrhenius(D0, Ea)
    r2 = DiffusionRegion(A, law, 0.0, 1.0, alpha=0.1, temperature=T)
    assert r2.diffusivity == r.diffusivity
    r2.imports({"temperature": 2 * T})
    assert r2.diffusivity == pytest.approx(law(2 * T))
    # a hotter particle takes up faster in the same time
    r.advance(50.0)
    r2.advance(50.0)
    assert r2.uptake() > r.uptake()
    # any callable law, e.g. a rate bridged from the atoms
    r3 = DiffusionRegion(A, lambda T: 1e-3 * T, 0.0, 1.0, alpha=0.1, temperature=300.0)
    assert r3.diffusivity == pytest.approx(0.3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(radius=-1.0), "radius"),
    (dict(radius=0.0), "radius"),
    (dict(diffusivity=-0.5), "diffusivity"),
    (dict(diffusivity=0.0), "diffusivity"),
    (dict(diffusivity=(1.0, -0.1, 300.0)), "activation_energy"),
    (dict(diffusivity=(1.0, 0.1, 0.0)), "T"),
    (dict(diffusivity=(1.0, 0.1)), "D0"),
    (dict(diffusivity=lambda T: T), "temperature"),
    (dict(diffusivity=lambda T: -1.0, temperature=300.0), "diffusivity"),
    (dict(alpha=-1.0), "alpha"),
    (dict(alpha=None), "alpha"),
    (dict(c_eq=0.0), "c_eq"),
    (dict(c0=math.nan), "c0"),
    (dict(model="equilibrium"), "model"),
    (dict(model="auto"), "time_of_interest"),
    (dict(model="auto", time_of_interest=10.0, tolerance=0.0), "tolerance"),
    (dict(model="galvanostatic"), "flux"),
    (dict(n_cells=1), "n_cells"),
    (dict(n_cells=10.5), "n_cells"),
    (dict(discretisation="spectral"), "discretisation"),
    (dict(discretisation="mesh"), "mesh_spacing"),
    (dict(discretisation="mesh", mesh_spacing=8.0), "mesh_spacing"),
    (dict(discretisation="mesh", mesh_spacing=0.05), "mesh_spacing"),
    (dict(model="auto", time_of_interest=-1.0), "time_of_interest"),
    (dict(mass="consistent"), "mass"),
    (dict(solver="cg"), "solver"),
])
def test_bad_input_is_refused(kwargs, match):
    args = dict(radius=A, diffusivity=D, c0=0.0, c_eq=1.0, alpha=0.1)
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        DiffusionRegion(**args)


def test_bad_step_imports_and_state_are_refused():
    r = DiffusionRegion(A, D, 0.0, 1.0, alpha=0.1)
    with pytest.raises(InputError, match="dt"):
        r.advance(-1.0)
    with pytest.raises(InputError, match="displacement"):
        r.imports({"displacement": 1.0})
    with pytest.raises(InputError, match="flux"):
        r.imports({"flux": 1.0})
    with pytest.raises(InputError, match="temperature"):
        r.imports({"temperature": -5.0})
    fields = r.state_fields()
    fields["concentration"] = fields["concentration"][:-1]
    with pytest.raises(InputError, match="shape"):
        r.load_state_fields(fields)
    other = DiffusionRegion(A, D, 0.0, 1.0, model="reduced")
    with pytest.raises(InputError, match="model"):
        other.load_state_fields(r.state_fields())
    with pytest.raises(InputError, match="tolerance"):
        choose_model(D, 0.1, A, 1.0, -1.0)
