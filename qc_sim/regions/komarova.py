"""The Komarova cell-population model of bone remodelling, advanced at many points at once.

Komarova, Smith, Dixon, Sims & Wahl (2003), "Mathematical model predicts a critical role for
osteoclast autocrine regulation in the control of bone remodeling", Bone 33:206-215:

    dx1/dt = alpha1 x1^g11 x2^g21 - beta1 x1          osteoclasts (cells)
    dx2/dt = alpha2 x1^g12 x2^g22 - beta2 x2          osteoblasts (cells)
    dz/dt  = -k1 y1 + k2 y2,   y_i = max(x_i - x_i_bar, 0)   bone mass (%)

time in days. The non-trivial steady state is, with Gamma = g12 g21 - (1 - g11)(1 - g22),

    x1_bar = (beta1/alpha1)^((1 - g22)/Gamma) (beta2/alpha2)^(g21/Gamma)
    x2_bar = (beta1/alpha1)^(g12/Gamma)       (beta2/alpha2)^((1 - g11)/Gamma)

and its Jacobian has trace beta1 (g11 - 1) + beta2 (g22 - 1) and determinant
-beta1 beta2 Gamma: for Gamma < 0 it is stable while the trace is negative, and the Hopf point
is g11 = 1 + beta2 (1 - g22) / beta1 (1.1 for the published parameters). A two-variable
S-system has no limit cycle (Dulac's criterion with B = x1^a x2^b makes div(B f) = B * trace),
so at the Hopf point itself the orbits are closed (neutral cycles) and past it they grow.

The state of n points is an (n, 3) array (x1, x2, z); one call advances all of them by a
macro step dt with the embedded Dormand-Prince RK5(4)7M pair (Dormand & Prince 1980, first
same as last, 5th-order solution kept) and PER-POINT error control: each point takes its own
sub-steps through [0, dt] (error norm max_j |e_j| / (atol + rtol max(|y_j|, |y_new_j|)), step
factor min(fac_max, max(fac_min, safety err^(-3/16)))), so a point's result never depends on
the others, on the partition or on the rank count, and a restart that carries each point's
next trial step continues bit for bit. ``kernels/bone.cu`` runs it on the compiled backends;
:func:`advance_reference` is the same arithmetic in NumPy, vectorised over the points still
stepping (a Python loop over sub-step rounds, never over points), and the oracle: on the CPU
target the two agree bit for bit for the published exponents (see the kernel's comment for
why the step factor uses err^(3/16) = (err^(1/16))^3 made of square roots).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from qc_sim.errors import InputError

# Dormand & Prince (1980) RK5(4)7M: stage coefficients, 5th-order weights, error weights
A21 = 1.0 / 5.0
A31, A32 = 3.0 / 40.0, 9.0 / 40.0
A41, A42, A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
A51, A52, A53, A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
A61, A62, A63 = 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0
A64, A65 = 49.0 / 176.0, -5103.0 / 18656.0
B1, B3, B4, B5, B6 = 35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0
E1, E3, E4 = 71.0 / 57600.0, -71.0 / 16695.0, 71.0 / 1920.0
E5, E6, E7 = -17253.0 / 339200.0, 22.0 / 525.0, -1.0 / 40.0


@dataclass(frozen=True)
class KomarovaParameters:
    """The published parameters (Komarova et al. 2003, Table 1 / Fig. 2), rates per day."""

    alpha1: float = 3.0
    alpha2: float = 4.0
    beta1: float = 0.2
    beta2: float = 0.02
    g11: float = 0.5
    g21: float = -0.5
    g12: float = 1.0
    g22: float = 0.0
    k1: float = 0.24
    k2: float = 0.0017

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"komarova.{f.name} must be a finite number, got {v!r}")
        for name in ("alpha1", "alpha2", "beta1", "beta2"):
            if getattr(self, name) <= 0:
                raise InputError(f"komarova.{name} must be > 0, got {getattr(self, name)}")
        for name in ("k1", "k2"):
            if getattr(self, name) < 0:
                raise InputError(f"komarova.{name} must be >= 0, got {getattr(self, name)}")
        if self.gamma == 0:
            raise InputError("komarova: g12 g21 - (1 - g11)(1 - g22) must be nonzero "
                             "(no isolated steady state otherwise)")

    @property
    def gamma(self) -> float:
        return self.g12 * self.g21 - (1.0 - self.g11) * (1.0 - self.g22)

    def steady_state(self, alpha2_factor: float = 1.0) -> tuple[float, float]:
        """(x1_bar, x2_bar) in closed form (Komarova et al. 2003), with alpha2 scaled by
        ``alpha2_factor``."""
        r1 = self.beta1 / self.alpha1
        r2 = self.beta2 / (self.alpha2 * alpha2_factor)
        g = self.gamma
        return (r1 ** ((1.0 - self.g22) / g) * r2 ** (self.g21 / g),
                r1 ** (self.g12 / g) * r2 ** ((1.0 - self.g11) / g))

    def jacobian_trace(self) -> float:
        """Trace of the cell model's Jacobian at the steady state (per day): its sign decides
        decay (< 0) or growth (> 0) of the remodelling oscillations."""
        return self.beta1 * (self.g11 - 1.0) + self.beta2 * (self.g22 - 1.0)

    def hopf_g11(self) -> float:
        """The autocrine exponent g11 at which the trace vanishes (the Hopf point)."""
        return 1.0 + self.beta2 * (1.0 - self.g22) / self.beta1

    def packed(self) -> np.ndarray:
        """(12,) float64: alpha1, alpha2, beta1, beta2, g11, g21, g12, g22, k1, k2, x1_bar,
        x2_bar (the kernel's ``params``)."""
        x1, x2 = self.steady_state()
        return np.array([self.alpha1, self.alpha2, self.beta1, self.beta2, self.g11, self.g21,
                         self.g12, self.g22, self.k1, self.k2, x1, x2], float)

    def with_(self, **changes) -> "KomarovaParameters":
        return replace(self, **changes)


@dataclass(frozen=True)
class StepControl:
    """Error control of the embedded RK5(4) sub-steps (relative and absolute tolerance on
    x1, x2, z; safety factor; bounds of the step factor; sub-steps allowed per macro step)."""

    rtol: float = 1e-8
    atol: float = 1e-10
    safety: float = 0.9
    fac_min: float = 0.2
    fac_max: float = 5.0
    max_steps: int = 100_000

    def __post_init__(self):
        if not (0 < self.rtol < 1) or not (self.atol > 0):
            raise InputError(f"step_control: rtol must be in (0, 1) and atol > 0, got "
                             f"rtol={self.rtol}, atol={self.atol}")
        if not (0 < self.safety <= 1 and 0 < self.fac_min < 1 < self.fac_max):
            raise InputError("step_control: need 0 < safety <= 1 and 0 < fac_min < 1 < fac_max")
        if int(self.max_steps) < 1:
            raise InputError(f"step_control.max_steps must be >= 1, got {self.max_steps}")

    def packed(self) -> np.ndarray:
        return np.array([self.rtol, self.atol, self.safety, self.fac_min, self.fac_max], float)


def power(x: np.ndarray, g: float) -> np.ndarray:
    """x^g, with g in (0, 1, 1/2, -1/2) done exactly as the kernel's ``bone_pow`` does (sqrt is
    correctly rounded everywhere; NumPy's SIMD pow and libm's may differ by an ulp)."""
    g = float(g)
    if g == 0.0:
        return np.ones_like(x)
    if g == 1.0:
        return x.copy()
    if g == 0.5:
        return np.sqrt(x)
    if g == -0.5:
        return 1.0 / np.sqrt(x)
    return np.power(x, g)


def rhs(params: np.ndarray, alpha2_eff: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dy/dt (n, 3) of the cell model at states y (n, 3), per day; ``alpha2_eff`` (n,) the
    (biased) osteoblast production rate of each point. Same operation order as the kernel."""
    p = params
    x1, x2 = y[:, 0], y[:, 1]
    out = np.empty_like(y)
    out[:, 0] = p[0] * power(x1, p[4]) * power(x2, p[5]) - p[2] * x1
    out[:, 1] = alpha2_eff * power(x1, p[6]) * power(x2, p[7]) - p[3] * x2
    y1 = np.maximum(x1 - p[10], 0.0)
    y2 = np.maximum(x2 - p[11], 0.0)
    out[:, 2] = -p[8] * y1 + p[9] * y2
    return out


def advance_reference(params, control: StepControl, alpha2_factor, state, step, dt: float,
                      z_min: float = -math.inf, z_max: float = math.inf) -> np.ndarray:
    """The NumPy oracle of ``komarova_advance`` (kernels/bone.cu): advance ``state`` (n, 3)
    and ``step`` (n,) in place by ``dt`` days; returns counts (n, 2) int32 (accepted,
    rejected sub-steps; rejected = -1 where max_steps ran out)."""
    params = np.asarray(params, float)
    n = len(state)
    a2_all = params[1] * np.asarray(alpha2_factor, float)
    y = state
    h = step
    h[~(h > 0.0)] = dt
    t = np.zeros(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        k1 = rhs(params, a2_all, y)
    counts = np.zeros((n, 2), np.int32)
    active = t < dt
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _dormand_prince_loop(params, control, a2_all, y, h, t, k1, counts, active, dt)
    y[:, 2] = np.minimum(np.maximum(y[:, 2], z_min), z_max)
    return counts


def _dormand_prince_loop(params, control, a2_all, y, h, t, k1, counts, active, dt):
    """Sub-steps of the points still short of dt (in place); trial stages may go negative
    (NaN powers), which the error test rejects, as in the kernel."""
    rtol, atol, safety, fac_min, fac_max = control.packed()
    while active.any():
        idx = np.nonzero(active)[0]
        out = counts[idx].sum(axis=1) >= control.max_steps
        if out.any():
            counts[idx[out], 1] = -1
            active[idx[out]] = False
            idx = idx[~out]
            if not len(idx):
                break
        ti, hi = t[idx], h[idx]
        last = ti + hi >= dt
        hh = np.where(last, dt - ti, hi)
        ya, k1a, a2 = y[idx], k1[idx], a2_all[idx]
        hcol = hh[:, None]
        k2 = rhs(params, a2, ya + hcol * (A21 * k1a))
        k3 = rhs(params, a2, ya + hcol * (A31 * k1a + A32 * k2))
        k4 = rhs(params, a2, ya + hcol * (A41 * k1a + A42 * k2 + A43 * k3))
        k5 = rhs(params, a2, ya + hcol * (A51 * k1a + A52 * k2 + A53 * k3 + A54 * k4))
        k6 = rhs(params, a2, ya + hcol * (A61 * k1a + A62 * k2 + A63 * k3 + A64 * k4
                                          + A65 * k5))
        yn = ya + hcol * (B1 * k1a + B3 * k3 + B4 * k4 + B5 * k5 + B6 * k6)
        k7 = rhs(params, a2, yn)
        e = hcol * (E1 * k1a + E3 * k3 + E4 * k4 + E5 * k5 + E6 * k6 + E7 * k7)
        scale = atol + rtol * np.maximum(np.abs(ya), np.abs(yn))
        v = np.abs(e) / scale
        finite = np.all(v <= 1.0e308, axis=1)
        err = np.where(finite, v.max(axis=1), 1.0e300)
        root16 = np.sqrt(np.sqrt(np.sqrt(np.sqrt(err))))  # err^(1/16), as the kernel
        factor = np.minimum(fac_max, np.maximum(fac_min, safety / (root16 * root16 * root16)))
        ok = err <= 1.0
        acc, rej = idx[ok], idx[~ok]
        t[acc] = np.where(last[ok], dt, ti[ok] + hh[ok])
        y[acc] = yn[ok]
        k1[acc] = k7[ok]
        counts[acc, 0] += 1
        proposal = hh[ok] * factor[ok]
        h[acc] = np.where(last[ok], np.maximum(proposal, hi[ok]), proposal)
        counts[rej, 1] += 1
        h[rej] = hh[~ok] * factor[~ok]
        active[idx] = t[idx] < dt


def advance_cells(device, params, control: StepControl, alpha2_factor, state, step, dt: float,
                  z_min: float = -math.inf, z_max: float = math.inf):
    """Advance the points' cell states by ``dt`` days: ``state`` (n, 3) and ``step`` (n,)
    (device arrays of ``device``) in place, with the kernel on a compiled backend and
    :func:`advance_reference` on ``numpy``. Returns the counts (n, 2) on the host; raises
    RuntimeError if a point ran out of sub-steps."""
    n = len(state)
    if device is not None and device.compiled:
        xp = device.xp
        counts = xp.zeros((n, 2), dtype=xp.int32)
        device.kernels("bone").komarova_advance(
            n, float(dt), device.asarray(params, float), device.asarray(control.packed()),
            device.asarray(alpha2_factor, float), state, step, int(control.max_steps),
            float(z_min), float(z_max), counts)
        counts = device.to_host(counts)
    else:
        counts = advance_reference(params, control, alpha2_factor, state, step, dt, z_min, z_max)
    if n and counts[:, 1].min() < 0:
        bad = int(np.argmin(counts[:, 1]))
        raise RuntimeError(f"komarova: point {bad} needed more than {control.max_steps} "
                           f"sub-steps in a macro step of {dt} days (lower dt or loosen rtol)")
    return counts
