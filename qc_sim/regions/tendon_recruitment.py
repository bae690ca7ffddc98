"""Fibril recruitment: the tissue's J-shaped stress-stretch curve from a distribution of crimp.

A crimped collagen fibril carries no load until the tissue stretch lambda reaches its
critical stretch lambda_c (the stretch at which it has straightened); beyond, it is linear
elastic in its own stretch lambda / lambda_c, with modulus E (Kastelic, Palley & Baer, J.
Biomech. 13 (1980) 887: restoring force only from the fibrils already straight). With the
critical stretches spread by a density p(lambda_c), the fibrils' nominal stress (force per
unit reference area of fibril) is

    S(lambda) = E  int_lo^min(lambda, hi) (lambda / x - 1) p(x) dx
              = E [lambda M_-1(y) - M_0(y)],                 y = min(lambda, hi),

with the partial moments M_k(y) = int_lo^y x^k p(x) dx. Its energy and tangent are

    W(lambda) = E [lambda^2 / 2 M_-1(y) - lambda M_0(y) + M_1(y) / 2]   (W' = S),
    T(lambda) = dS/dlambda = E M_-1(y),

and M_0(y) is the recruited fraction. Each density below gives its moments in closed form;
:class:`RecruitmentLaw` evaluates them so (``"closed_form"``) or integrates the same
integrands by Gauss-Legendre quadrature on each smooth piece of the density
(``"quadrature"``), which is how a density without a closed form would be used and which the
tests hold to 1e-10 of the closed forms.

Densities:

- :class:`ShearerCrimp`: the fascicle of Shearer (J. Biomech. 48 (2015) 290), whose fibril
  crimp angle grows from 0 on its axis to theta_o at its edge (as we read the paper) as
  sin theta(rho) = (rho / a) sin theta_o. A fibril at radius rho straightens at
  lambda_c = 1 / cos theta, and the fibrils are uniform over the cross-section (area
  fraction u = (rho / a)^2), so lambda_c = (1 - u sin^2 theta_o)^(-1/2) with u uniform on
  [0, 1]:
  p(x) = 2 / (sin^2 theta_o x^3) on [1, 1 / cos theta_o]. Then (s = sin theta_o, c = cos
  theta_o)

      S / E = (2 lambda - 3 + lambda^-2) / (3 s^2)                  1 <= lambda <= 1 / c
      S / E = 2 (1 - c^3) / (3 s^2) lambda - 1                      lambda >= 1 / c

  the toe and the linear region of Shearer's fascicle law (derived again here from the
  stated crimp distribution, docs/tendon.md), with the transition, every fibril straight,
  at lambda* = 1 / cos theta_o.
- :class:`TriangularCrimp`: a triangular density on [a, b] with mode m (a >= 1), the
  piecewise-linear form used by, e.g., Hamedzadeh, Gasser & Federico (Eur. J. Mech.
  A/Solids, 2018) for collagen recruitment; its moments are elementary on each linear piece.

Stretches are dimensionless, E in MPa (so S, W, T in MPa, MJ/m^3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qc_sim.errors import InputError


@dataclass(frozen=True)
class ShearerCrimp:
    """Critical stretches of Shearer's (2015) fascicle: outer crimp angle ``theta_o``
    (degrees, 0 < theta_o < 90)."""

    theta_o: float = 15.1

    def __post_init__(self):
        if not (isinstance(self.theta_o, (int, float)) and 0 < self.theta_o < 90):
            raise InputError(f"outer crimp angle must be in (0, 90) degrees, got "
                             f"{self.theta_o!r}")

    @property
    def support(self):
        return 1.0, 1.0 / math.cos(math.radians(self.theta_o))

    @property
    def breakpoints(self):
        return self.support

    def density(self, x):
        lo, hi = self.support
        x = np.asarray(x, float)
        s2 = math.sin(math.radians(self.theta_o)) ** 2
        return np.where((x >= lo) & (x <= hi), 2.0 / (s2 * x**3), 0.0)

    def moments(self, y):
        """(M_-1, M_0, M_1) of p on [1, y] for y in [1, 1 / cos theta_o] (arrays)."""
        y = np.asarray(y, float)
        s2 = math.sin(math.radians(self.theta_o)) ** 2
        inv = 1.0 / y
        return (2.0 / (3.0 * s2) * (1.0 - inv**3), (1.0 - inv**2) / s2, 2.0 / s2 * (1.0 - inv))


@dataclass(frozen=True)
class TriangularCrimp:
    """A triangular density of critical stretch on [lower, upper] with its peak at ``mode``
    (1 <= lower <= mode <= upper, lower < upper)."""

    lower: float = 1.0
    mode: float = 1.02
    upper: float = 1.05

    def __post_init__(self):
        a, m, b = self.lower, self.mode, self.upper
        if not (1.0 <= a <= m <= b and a < b and math.isfinite(b)):
            raise InputError(f"triangular crimp needs 1 <= lower <= mode <= upper, lower < "
                             f"upper, got {a!r}, {m!r}, {b!r}")

    @property
    def support(self):
        return float(self.lower), float(self.upper)

    @property
    def breakpoints(self):
        a, m, b = self.lower, self.mode, self.upper
        return tuple(sorted({float(a), float(m), float(b)}))

    def _pieces(self):
        """(x0, x1, alpha, beta): p = alpha x + beta on [x0, x1], for each linear piece."""
        a, m, b = float(self.lower), float(self.mode), float(self.upper)
        out = []
        if m > a:
            k = 2.0 / ((b - a) * (m - a))
            out.append((a, m, k, -k * a))
        if b > m:
            k = 2.0 / ((b - a) * (b - m))
            out.append((m, b, -k, k * b))
        return out

    def density(self, x):
        x = np.asarray(x, float)
        p = np.zeros_like(x)
        for x0, x1, alpha, beta in self._pieces():
            inside = (x >= x0) & (x <= x1)
            p = np.where(inside, np.maximum(alpha * x + beta, 0.0), p)
        return p

    def moments(self, y):
        """(M_-1, M_0, M_1) of p on [lower, y] for y in [lower, upper] (arrays)."""
        y = np.asarray(y, float)
        m_inv, m0, m1 = (np.zeros_like(y) for _ in range(3))
        for x0, x1, alpha, beta in self._pieces():
            t = np.clip(y, x0, x1)
            d = t - x0
            m_inv = m_inv + alpha * d + beta * np.log1p(d / x0)
            m0 = m0 + d * (alpha * 0.5 * (t + x0) + beta)
            m1 = m1 + d * (alpha * (t * t + t * x0 + x0 * x0) / 3.0 + beta * 0.5 * (t + x0))
        return m_inv, m0, m1


DISTRIBUTIONS = {"shearer": ShearerCrimp, "triangular": TriangularCrimp}
EVALUATIONS = ("closed_form", "quadrature")


class RecruitmentLaw:
    """The fibrils' recruitment law: modulus ``fibril_modulus`` E (MPa) and a crimp
    ``distribution``; ``evaluation`` "closed_form" (the density's moments) or "quadrature"
    (``points``-point Gauss-Legendre on each smooth piece of the density)."""

    def __init__(self, fibril_modulus: float, distribution, evaluation: str = "closed_form",
                 points: int = 24):
        if not (fibril_modulus > 0 and math.isfinite(fibril_modulus)):
            raise InputError(f"fibril modulus must be > 0 (MPa), got {fibril_modulus!r}")
        if evaluation not in EVALUATIONS:
            raise InputError(f"evaluation must be one of {', '.join(EVALUATIONS)}, got "
                             f"{evaluation!r}")
        if not (isinstance(points, int) and 2 <= points <= 200):
            raise InputError(f"quadrature points must be an integer in [2, 200], got {points!r}")
        self.modulus = float(fibril_modulus)
        self.distribution = distribution
        self.evaluation = evaluation
        self.nodes, self.weights = np.polynomial.legendre.leggauss(points)

    @property
    def transition_stretch(self) -> float:
        """lambda* where the last fibril is recruited: the end of the toe region."""
        return self.distribution.support[1]

    def _moments(self, y):
        if self.evaluation == "closed_form":
            return self.distribution.moments(y)
        return self._quadrature_moments(y)

    def _quadrature_moments(self, y):
        """(M_-1, M_0, M_1) on [lo, y] by Gauss-Legendre on each smooth piece."""
        y = np.asarray(y, float)
        edges = self.distribution.breakpoints
        out = [np.zeros_like(y) for _ in range(3)]
        for x0, x1 in zip(edges[:-1], edges[1:]):
            top = np.clip(y, x0, x1)
            half = 0.5 * (top - x0)
            x = x0 + half[..., None] * (1.0 + self.nodes)  # (..., n)
            w = half[..., None] * self.weights
            p = self.distribution.density(x) * w
            out[0] = out[0] + (p / x).sum(axis=-1)
            out[1] = out[1] + p.sum(axis=-1)
            out[2] = out[2] + (p * x).sum(axis=-1)
        return tuple(out)

    def _clipped(self, stretch):
        lo, hi = self.distribution.support
        lam = np.asarray(stretch, float)
        return lam, np.clip(lam, lo, hi), lam > lo

    def stress(self, stretch):
        """Fibril nominal stress S(lambda) (MPa), same shape as ``stretch``."""
        lam, y, on = self._clipped(stretch)
        m_inv, m0, _ = self._moments(y)
        return np.where(on, self.modulus * (lam * m_inv - m0), 0.0)

    def energy(self, stretch):
        """Fibril strain energy W(lambda) (MJ/m^3 = MPa) per unit fibril volume."""
        lam, y, on = self._clipped(stretch)
        m_inv, m0, m1 = self._moments(y)
        return np.where(on, self.modulus * (0.5 * lam**2 * m_inv - lam * m0 + 0.5 * m1), 0.0)

    def tangent(self, stretch):
        """dS/dlambda (MPa)."""
        lam, y, on = self._clipped(stretch)
        return np.where(on, self.modulus * self._moments(y)[0], 0.0)

    def recruited_fraction(self, stretch):
        """The fraction of fibrils straight at ``stretch`` (the distribution's CDF)."""
        lam, y, on = self._clipped(stretch)
        return np.where(on, self._moments(y)[1], 0.0)

    def all(self, stretch):
        """(W, S, T, recruited fraction) at once (one evaluation of the moments)."""
        lam, y, on = self._clipped(stretch)
        m_inv, m0, m1 = self._moments(y)
        E = self.modulus
        W = np.where(on, E * (0.5 * lam**2 * m_inv - lam * m0 + 0.5 * m1), 0.0)
        S = np.where(on, E * (lam * m_inv - m0), 0.0)
        T = np.where(on, E * m_inv, 0.0)
        return W, S, T, np.where(on, m0, 0.0)


def shearer_closed_form(stretch, fibril_modulus: float, theta_o: float):
    """Shearer's (2015) fascicle stress, written out (not through the moments): the toe
    E (2 lambda - 3 + lambda^-2) / (3 s^2) up to lambda* = 1 / cos theta_o, then the line
    E (2 (1 - c^3) / (3 s^2) lambda - 1); 0 below lambda = 1. MPa."""
    lam = np.asarray(stretch, float)
    t = math.radians(theta_o)
    s2, c = math.sin(t) ** 2, math.cos(t)
    toe = fibril_modulus * (2.0 * lam - 3.0 + lam**-2) / (3.0 * s2)
    line = fibril_modulus * (2.0 * (1.0 - c**3) / (3.0 * s2) * lam - 1.0)
    return np.where(lam <= 1.0, 0.0, np.where(lam <= 1.0 / c, toe, line))


def shearer_linear_factor(theta_o: float) -> float:
    """The linear-region slope of Shearer's fascicle over the fibril modulus,
    2 (1 - cos^3 theta_o) / (3 sin^2 theta_o) (< 1: the crimped fibrils stretch less)."""
    t = math.radians(theta_o)
    return 2.0 * (1.0 - math.cos(t) ** 3) / (3.0 * math.sin(t) ** 2)
