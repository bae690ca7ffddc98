"""Diffusion-reaction in a spherical particle (a battery electrode particle), with the
Damköhler model reduction of docs/design.md section 8.

    dc/dt = D lap c in r < a,   c(r, 0) = c0,
    at r = a:  D dc/dr = alpha (c_eq - c)    "full": surface reaction (Crank's surface
                                                      evaporation, a Robin condition)
               c = c_eq                      "reduced": local equilibrium
               D dc/dr = j                   "galvanostatic": prescribed inward flux

The Damköhler number Da = alpha a / D compares the reaction's rate with diffusion's; for
Da >> 1 the reaction is in local equilibrium and the reduced model's uptake exceeds the
full model's by (1/Da) [3 (1 - U) + 2 tau dU/dtau] + O(Da^-2) (:func:`choose_model`).

The region solves M dc/dt = -K c + b on a radial finite-volume grid
(:mod:`~qc_sim.regions.diffusion_radial`) or a P1 tetrahedral mesh of the ball
(:mod:`~qc_sim.regions.diffusion_mesh`) with TR-BDF2 (:func:`trbdf2_step`): second order,
L-stable, one step (so any sequence of ``dt`` and a restart need only c and t). Units: the
docstrings say Å and ps (metal units), but only their consistency matters (a case in m and
s works with D in m^2/s, alpha in m/s); Ea in eV and T in K (kB of qc_sim.units);
concentrations in any unit (the uptake is a ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qc_sim.errors import InputError
from qc_sim.regions import diffusion_analytic as analytic
from qc_sim.units import BOLTZMANN

GAMMA = 2.0 - math.sqrt(2.0)  # TR-BDF2 stage fraction: both stages share M + (gamma/2) dt K
MODELS = ("full", "reduced", "galvanostatic")
MODEL_CODES = {"full": 0, "reduced": 1, "galvanostatic": 2}


def _positive(name, value, allow_zero=False):
    """``value`` as a float, or InputError naming ``name`` and the allowed range."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    ok = (x >= 0.0 if allow_zero else x > 0.0) and math.isfinite(x)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be finite and {bound}, got {value!r}")
    return x


def _finite(name, value):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise InputError(f"{name} must be finite, got {value!r}")
    return x


def _temperatures(temperature):
    t = np.asarray(temperature, float)
    if not np.all(t > 0.0) or not np.all(np.isfinite(t)):
        raise InputError(f"temperature must be positive and finite (K), got {temperature}")
    return t


@dataclass(frozen=True)
class Arrhenius:
    """``value(T) = prefactor * exp(-activation_energy / kB T)``; T in K (scalar or array),
    activation_energy in eV, prefactor in the units of the value (1/s for a rate, Å^2/ps for
    a diffusivity a region takes, m^2/s in reports). The one Arrhenius law of qc-sim: the
    rates bridged from the atoms (:mod:`qc_sim.properties.rates`) return it, and a
    diffusion region takes it as D(T)."""

    prefactor: float
    activation_energy: float

    def __post_init__(self):
        if not (self.prefactor > 0.0 and math.isfinite(self.prefactor)):
            raise InputError(f"prefactor must be positive and finite, got {self.prefactor}")
        if not (math.isfinite(self.activation_energy) and self.activation_energy >= 0.0):
            raise InputError(f"activation_energy must be finite and >= 0 (eV), got "
                             f"{self.activation_energy}")

    def __call__(self, temperature):
        t = _temperatures(temperature)
        value = self.prefactor * np.exp(-self.activation_energy / (BOLTZMANN * t))
        return float(value) if value.ndim == 0 else value


def diffusivity_law(diffusivity, temperature=None):
    """(law, temperature): ``diffusivity`` is a number (Å^2/ps), a tuple (D0, Ea, T), an
    :class:`Arrhenius` or any callable D(T) (then ``temperature`` in K is needed)."""
    if isinstance(diffusivity, tuple):
        if len(diffusivity) != 3:
            raise InputError("diffusivity as a tuple must be (D0 [Å^2/ps], Ea [eV], T [K])")
        if temperature is not None:
            raise InputError("temperature is given twice: in diffusivity=(D0, Ea, T) and "
                             "temperature=")
        D0, Ea, T = diffusivity
        return Arrhenius(D0, Ea), _positive("diffusivity T", T)
    if callable(diffusivity):
        if temperature is None:
            raise InputError("a diffusivity law D(T) needs temperature= (K, > 0)")
        return diffusivity, _positive("temperature", temperature)
    D = _positive("diffusivity", diffusivity)
    return (lambda T: D), (None if temperature is None else _positive("temperature", temperature))


def _evaluate(law, T) -> float:
    D = law(T)
    return _positive(f"diffusivity D(T={T})", D)


@dataclass(frozen=True)
class ModelChoice:
    """``model`` (full | reduced), the Damköhler number alpha a / D, ``tau`` = D t / a^2, and
    the reduced model's uptake error U_red - U_full at t: ``error_estimate`` from the series
    (exact, 1e-13), ``asymptotic_estimate`` its leading 1/Da term."""

    model: str
    damkohler: float
    tau: float
    error_estimate: float
    asymptotic_estimate: float


def choose_model(diffusivity: float, alpha: float, radius: float, time: float,
                 tolerance: float, model: str = "auto", history: bool = False) -> ModelChoice:
    """The model for a uniform particle of ``radius`` (Å) reacting at rate ``alpha`` (Å/ps)
    with diffusivity D (Å^2/ps), judged at ``time`` (ps): ``reduced`` when its uptake error
    against the full model is below ``tolerance`` (``model="auto"``), or the ``model`` forced.

    The error is U_red(tau) - U_full(tau, Da), the difference of Crank's series for the
    sphere (eq. 6.20 and eq. 6.41 with L = Da; :func:`diffusion_analytic.reduction_error`):
    exact for a constant c_eq and a uniform c0, so the reduced model is chosen only where its
    actual error is below the tolerance. Its asymptotics (derivation in
    :func:`diffusion_analytic.reduction_error_asymptotic`),

        U_red - U_full = (1/Da) [3 (1 - U_red) + 2 tau dU_red/dtau] + O(Da^-2),

    show the 1/Da trend (1.159 / Da at tau = 0.1). The error is positive (the reaction only
    slows the uptake) and vanishes at t = 0 and t -> inf; at times before t it can be larger
    (its largest value, near tau = 2.5 / Da^2, tends to 3/Da: 2.4/Da at Da = 100), so with
    ``history=True`` the estimate is the largest error over (0, t] instead
    (:func:`_largest_error`).
    """
    D = _positive("diffusivity", diffusivity)
    alpha = _positive("alpha", alpha, allow_zero=True)
    a = _positive("radius", radius)
    t = _positive("time", time)
    tol = _positive("tolerance", tolerance)
    if model not in ("auto", "full", "reduced"):
        raise InputError(f"model must be one of auto, full, reduced, got {model!r}")
    Da = alpha * a / D
    tau = D * t / a**2
    if Da == 0.0:
        error, asymptotic = analytic.dirichlet_uptake(tau), math.inf
    else:
        error = (_largest_error(tau, Da) if history
                 else analytic.reduction_error(tau, Da))
        asymptotic = analytic.reduction_error_asymptotic(tau, Da)
    if model == "auto":
        model = "reduced" if abs(error) < tol else "full"
    return ModelChoice(model, Da, tau, error, asymptotic)


def _largest_error(tau: float, Da: float) -> float:
    """max over 0 < s <= tau of U_red(s) - U_full(s, Da). The error is one hump: it rises
    from 0 while the reaction limits the full model (s < 1/Da^2), peaks near s = 2.5/Da^2
    and falls back to 0 as s -> inf; it is sampled on 64 points of log s from
    min(tau, 0.01/Da^2) to tau and the best refined by Brent's method. Where 0.01/Da^2 is
    below 1e-8 (Da > 1e3; the series would need > 2e4 terms) the sup's limit 3/Da, which
    the peak approaches from below (1.57, 2.41, 2.80 / Da at Da = 10, 100, 1000), is used
    as the bound."""
    from scipy.optimize import minimize_scalar

    start = 0.01 / Da**2
    if start < 1e-8 and tau > 1e-8:
        return max(3.0 / Da, analytic.reduction_error(tau, Da))
    logs = np.linspace(math.log(min(tau, start)), math.log(tau), 64)
    values = [analytic.reduction_error(math.exp(x), Da) for x in logs]
    i = int(np.argmax(values))
    if i == len(logs) - 1:
        return values[i]
    lo, hi = logs[max(i - 1, 0)], logs[i + 1]
    best = minimize_scalar(lambda x: -analytic.reduction_error(math.exp(x), Da),
                           bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    return max(values[i], -best.fun)


def trbdf2_step(mass, stiffness, load, c, dt, solve):
    """One TR-BDF2 step of M dc/dt = -K c + b (b constant over the step) from c (n,):

        (M + g dt/2 K) c_g   = (M - g dt/2 K) c + g dt b                     (trapezoid to g dt)
        (M + g dt/2 K) c_new = M (c_g - (1 - g)^2 c) / (g (2 - g)) + (g/2) dt b   (BDF2)

    g = 2 - sqrt 2, so (1 - g)/(2 - g) = g/2 and both stages solve with the one matrix
    ``solve`` inverts. Second order and L-stable (Bank et al., IEEE Trans. CAD 4, 436
    (1985); Hosea and Shampine, Appl. Numer. Math. 20, 21 (1996), eqs. 1-2), so the
    incompatible start of c(a) = c_eq != c0 is damped without start-up steps."""
    g = GAMMA
    mc = mass @ c
    c_g = solve(mc - (0.5 * g * dt) * (stiffness @ c) + (g * dt) * load)
    rhs = mass @ ((c_g - (1.0 - g) ** 2 * c) / (g * (2.0 - g))) + (0.5 * g * dt) * load
    return solve(rhs)


DIRECT_LIMIT = 5000  # unknowns: above it ``auto`` takes AMG (SuperLU's 3D fill grows fast)


def _linear_solver(matrix, kind: str):
    """A function b -> matrix^-1 b: SuperLU (``direct``) or smoothed-aggregation AMG as a
    preconditioner of CG to a relative residual of 1e-12 (``amg``); ``auto`` picks direct
    up to DIRECT_LIMIT unknowns. (Measured on a 19513-node sphere mesh: SuperLU with COLAMD
    factorises in 7.5 s, 25e6 nonzeros in L + U; AMG sets up in 0.1 s and solves in 12 CG
    iterations, 0.08 s.)"""
    if kind == "auto":
        kind = "direct" if matrix.shape[0] <= DIRECT_LIMIT else "amg"
    if kind == "direct":
        from scipy.sparse.linalg import splu

        return splu(matrix.tocsc()).solve
    from qc_sim.solvers.amg import smoothed_aggregation

    ml = smoothed_aggregation(matrix.tocsr())
    return lambda b: ml.solve(b, tol=1e-12, accel="cg", maxiter=500)


class DiffusionRegion:
    """Diffusion into a sphere of ``radius`` (Å) from a uniform ``c0``, on the region
    interface (:mod:`qc_sim.regions.base`).

    ``diffusivity``: Å^2/ps, or (D0, Ea, T), an :class:`Arrhenius` or a callable D(T) with
    ``temperature`` (K; changed later through :meth:`imports`). ``model``: ``full`` (surface
    reaction at rate constant ``alpha``, Å/ps, toward ``c_eq``), ``reduced`` (c(a) = c_eq),
    ``auto`` (the one :func:`choose_model` picks for ``time_of_interest`` (ps) and
    ``tolerance`` in uptake) or ``galvanostatic`` (inward ``flux`` j = D dc/dr(a), in
    concentration x Å/ps; ``c_eq`` then only scales the uptake). ``discretisation``: ``radial``
    (``n_cells`` spherical shells) or ``mesh`` (P1 tetrahedra of edge ``mesh_spacing`` Å, or
    a given ``mesh`` of the ball centred at the origin; ``mass`` lumped or consistent).
    ``solver``: auto | direct | amg for the implicit steps' linear systems.
    """

    physics = "diffusion"

    def __init__(self, radius, diffusivity, c0, c_eq, *, alpha=None, flux=None,
                 model="full", time_of_interest=None, tolerance=1e-3, temperature=None,
                 discretisation="radial", n_cells=200, mesh_spacing=None, mesh=None,
                 mass="lumped", solver="auto"):
        self.radius = _positive("radius", radius)
        self._law, self.temperature = diffusivity_law(diffusivity, temperature)
        D = _evaluate(self._law, self.temperature)
        self.c0, self.c_eq = _finite("c0", c0), _finite("c_eq", c_eq)
        if self.c_eq == self.c0:
            raise InputError("c_eq must differ from c0 (uptake = (M - M0) / (M_eq - M0))")
        if model not in MODELS + ("auto",):
            raise InputError(f"model must be one of full, reduced, auto, galvanostatic, "
                             f"got {model!r}")
        if model in ("full", "auto") and alpha is None:
            raise InputError(f"model={model!r} needs alpha (reaction rate constant, Å/ps, >= 0)")
        self.alpha = None if alpha is None else _positive("alpha", alpha, allow_zero=True)
        if model == "galvanostatic" and flux is None:
            raise InputError("model='galvanostatic' needs flux (inward D dc/dr at r = a, finite)")
        self.flux = 0.0 if flux is None else _finite("flux", flux)
        self.choice = None
        if model == "auto":
            if time_of_interest is None:
                raise InputError("model='auto' needs time_of_interest (ps, > 0)")
            _positive("time_of_interest", time_of_interest)
            self.choice = choose_model(D, self.alpha, self.radius, time_of_interest, tolerance)
            model = self.choice.model
        self.model = model
        if solver not in ("auto", "direct", "amg"):
            raise InputError(f"solver must be auto, direct or amg, got {solver!r}")
        self.solver = solver
        self.grid = self._discretisation(discretisation, n_cells, mesh_spacing, mesh, mass)
        self.c = np.full(self.grid.n, self.c0)
        self.time = 0.0
        self.initial_content = float(self.grid.masses @ self.c)
        self._ops_key = self._ops = self._step_key = self._step = None

    def _discretisation(self, kind, n_cells, mesh_spacing, mesh, mass):
        if mass not in ("lumped", "consistent"):
            raise InputError(f"mass must be lumped or consistent, got {mass!r}")
        if kind == "radial":
            from qc_sim.regions.diffusion_radial import RadialGrid

            if mass != "lumped":
                raise InputError("mass='consistent' needs discretisation='mesh' (the radial "
                                 "finite volumes have a diagonal mass)")
            if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)) \
                    or not 2 <= n_cells <= 10**7:
                raise InputError(f"n_cells must be an integer in [2, 10^7], got {n_cells!r}")
            return RadialGrid(self.radius, int(n_cells))
        if kind != "mesh":
            raise InputError(f"discretisation must be radial or mesh, got {kind!r}")
        from qc_sim.regions.diffusion_mesh import SphereFem, sphere_mesh

        if mesh is None:
            if mesh_spacing is None:
                raise InputError("discretisation='mesh' needs mesh_spacing (Å, in "
                                 "[radius/100, radius/2]) or mesh")
            h = _positive("mesh_spacing", mesh_spacing)
            if not 0.01 * self.radius <= h <= 0.5 * self.radius:
                raise InputError(f"mesh_spacing must be in [radius/100, radius/2] = "
                                 f"[{0.01 * self.radius:g}, {0.5 * self.radius:g}] Å, got "
                                 f"{mesh_spacing!r}")
            mesh = sphere_mesh(self.radius, h)
        elif getattr(mesh, "dim", None) != 3:
            raise InputError("mesh must be a 3D qc_sim.continuum.mesh.Mesh of the ball")
        return SphereFem(mesh, mass)

    # -- physics -------------------------------------------------------------------------

    @property
    def diffusivity(self) -> float:
        """D (Å^2/ps) at the current temperature."""
        return _evaluate(self._law, self.temperature)

    @property
    def damkohler(self) -> float:
        """Da = alpha a / D (nan without alpha)."""
        return math.nan if self.alpha is None else self.alpha * self.radius / self.diffusivity

    def _operators(self):
        D = self.diffusivity
        alpha = 0.0 if self.alpha is None else self.alpha
        key = (D, alpha, self.c_eq, self.flux)
        if key != self._ops_key:
            ops = self.grid.operators(D, alpha, self.model, self.c_eq, self.flux)
            free = np.setdiff1d(np.arange(self.grid.n), ops.fixed)
            if len(ops.fixed):
                K_fb = ops.K[free][:, ops.fixed]
                parts = (self.grid.mass[free][:, free].tocsr(), ops.K[free][:, free].tocsr(),
                         ops.b[free] - K_fb @ np.full(len(ops.fixed), ops.fixed_values))
            else:
                parts = (self.grid.mass, ops.K, ops.b)
            self._ops, self._ops_key, self._free, self._parts = ops, key, free, parts
            self._step_key = None
        return self._ops

    def advance(self, dt: float) -> None:
        """One TR-BDF2 step of ``dt`` ps (any dt > 0: unconditionally stable)."""
        dt = _positive("dt", dt)
        ops = self._operators()
        M, K, load = self._parts
        if self._step_key != dt:
            self._step = _linear_solver(M + (0.5 * GAMMA * dt) * K, self.solver)
            self._step_key = dt
        if len(ops.fixed):
            self.c[ops.fixed] = ops.fixed_values
            self.c[self._free] = trbdf2_step(M, K, load, self.c[self._free], dt, self._step)
        else:
            self.c = trbdf2_step(M, K, load, self.c, dt, self._step)
        self.time += dt

    def stable_time_step(self) -> float:
        return math.inf

    def uptake(self) -> float:
        """(M(t) - M(0)) / (M_eq - M(0)), M = int c dV, M_eq = c_eq V."""
        M_eq = self.c_eq * self.grid.volume
        return float((self.grid.masses @ self.c - self.initial_content)
                     / (M_eq - self.initial_content))

    def surface_concentration(self) -> float:
        alpha = 0.0 if self.alpha is None else self.alpha
        return self.grid.surface_concentration(self.c, self.diffusivity, alpha, self.model,
                                               self.c_eq, self.flux)

    # -- the region interface ------------------------------------------------------------

    def exports(self) -> dict:
        """``surface_concentration`` (mean over the surface) and ``surface_flux`` (inward
        flow per Å^2 of surface, concentration x Å/ps), both at the current state."""
        flow = self.grid.inward_flow(self.c, self._operators())
        return {"surface_concentration": self.surface_concentration(),
                "surface_flux": flow / self.grid.area}

    IMPORTS = ("c_eq", "flux", "alpha", "temperature")

    def imports(self, fields: dict) -> None:
        """New boundary data from a neighbour: ``c_eq``, ``flux`` (galvanostatic), ``alpha``
        (full) or ``temperature`` (K, for a D(T) law)."""
        unknown = sorted(set(fields) - set(self.IMPORTS))
        if unknown:
            raise InputError(f"diffusion region imports {', '.join(self.IMPORTS)}; got "
                             f"{', '.join(unknown)}")
        if "flux" in fields and self.model != "galvanostatic":
            raise InputError("flux is imported only by the galvanostatic model")
        if "c_eq" in fields:
            self.c_eq = _finite("c_eq", fields["c_eq"])
        if "flux" in fields:
            self.flux = _finite("flux", fields["flux"])
        if "alpha" in fields:
            self.alpha = _positive("alpha", fields["alpha"], allow_zero=True)
        if "temperature" in fields:
            T = _positive("temperature", fields["temperature"])
            _evaluate(self._law, T)
            self.temperature = T

    def state_fields(self) -> dict:
        nan = math.nan
        return {"concentration": self.c.copy(),
                "time": np.array([self.time]),
                "boundary": np.array([self.c_eq, self.flux,
                                      nan if self.alpha is None else self.alpha,
                                      nan if self.temperature is None else self.temperature]),
                "initial_content": np.array([self.initial_content]),
                "model": np.array([MODEL_CODES[self.model]])}

    def load_state_fields(self, fields: dict) -> None:
        missing = {"concentration", "time", "boundary", "initial_content", "model"} - set(fields)
        if missing:
            raise InputError(f"diffusion state lacks {', '.join(sorted(missing))}")
        c = np.asarray(fields["concentration"], float)
        if c.shape != self.c.shape:
            raise InputError(f"diffusion state concentration has shape {c.shape}, the region "
                             f"{self.c.shape}")
        if int(np.asarray(fields["model"])[0]) != MODEL_CODES[self.model]:
            raise InputError(f"diffusion state was written by another model than {self.model}")
        self.c = c.copy()
        self.time = float(np.asarray(fields["time"])[0])
        c_eq, flux, alpha, T = (float(x) for x in np.asarray(fields["boundary"]))
        self.c_eq, self.flux = c_eq, flux
        self.alpha = None if math.isnan(alpha) else alpha
        self.temperature = None if math.isnan(T) else T
        self.initial_content = float(np.asarray(fields["initial_content"])[0])

    def entity_costs(self) -> np.ndarray:
        """Relative cost per shell (radial) or node (mesh)."""
        return self.grid.entity_costs()

    def entity_positions(self) -> np.ndarray:
        """(n, 1) shell mid-radii (radial) or (n, 3) node positions (mesh), Å."""
        return self.grid.entity_positions()

    def thermo(self) -> dict:
        return {"time": self.time, "uptake": self.uptake(),
                "surface_concentration": self.surface_concentration()}
