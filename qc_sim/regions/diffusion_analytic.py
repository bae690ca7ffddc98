"""Analytic solutions for Fickian diffusion into a sphere of radius a, uniform initial
concentration c0, in the dimensionless time tau = D t / a^2 and radius rho = r / a.

- Constant surface concentration c(a) = c_eq: Crank, *The Mathematics of Diffusion*, 2nd ed.
  (1975), section 6.3, eq. (6.18) (profile) and eq. (6.20) (uptake).
- Surface evaporation (reaction, Robin) D dc/dr(a) = alpha (c_eq - c(a)): Crank (1975)
  section 6.3, eqs. (6.39)-(6.41): roots of beta cot beta + L - 1 = 0, L = a alpha / D.
- Constant inward flux D dc/dr(a) = j (galvanostatic): derived here by separation of
  variables (see :func:`flux_concentration`); the same solution is given for heat conduction
  in Carslaw and Jaeger, *Conduction of Heat in Solids*, 2nd ed. (1959), chapter IX.

The uptake is U = (M(t) - M(0)) / (M_eq - M(0)). Every series is summed until its tail is
below ``tol`` (default 1e-14): the terms decay like exp(-n^2 pi^2 tau), so
N = sqrt(ln(1/tol) / (pi^2 tau)) + 2 terms suffice (tau = 0.1: 8 terms).
"""

from __future__ import annotations

import math

import numpy as np

TOL = 1e-14


def n_terms(tau: float, tol: float = TOL) -> int:
    """Terms for the tail of sum exp(-beta_n^2 tau), beta_n >= (n - 1) pi, to drop below
    ``tol``: exp(-(N - 1)^2 pi^2 tau) <= tol, plus a margin of two."""
    if tau <= 0:
        return 1
    return int(math.ceil(math.sqrt(math.log(1.0 / tol) / (math.pi**2 * tau)))) + 2


def _bisect(g, lo, hi, left_sign, iterations=64):
    """Roots of g (vectorised) in the brackets [lo, hi] (one sign change each; the sign of g
    at lo is ``left_sign``), by bisection to machine precision."""
    lo, hi = np.array(lo, float), np.array(hi, float)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        same = np.sign(g(mid)) == left_sign
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return 0.5 * (lo + hi)


def robin_roots(L: float, n: int) -> np.ndarray:
    """The first ``n`` positive roots beta_n of beta cot beta + L - 1 = 0 (Crank 1975, eq.
    6.40), L = a alpha / D > 0. beta cot beta falls monotonically from 1 (beta -> 0) to -inf
    on (0, pi) and from +inf to -inf on each (k pi, (k + 1) pi), so there is one root in each
    ((n - 1) pi, n pi); they are found as the sign changes of the regular
    g = beta cos beta + (L - 1) sin beta, whose sign at (n - 1) pi is (-1)^(n - 1)."""
    if not L > 0:
        raise ValueError("robin_roots needs L > 0")
    k = np.arange(n, dtype=float)
    left = np.where(k == 0, 0.0, k * math.pi)
    sign = np.where(k % 2 == 0, 1.0, -1.0)

    def g(b):
        return b * np.cos(b) + (L - 1.0) * np.sin(b)

    # g vanishes at beta = 0 itself: start the first bracket just above it
    left = np.where(k == 0, 1e-300, left)
    return _bisect(g, left, (k + 1) * math.pi, sign)


def flux_roots(n: int) -> np.ndarray:
    """The first ``n`` positive roots lambda_n of tan lambda = lambda, one in each
    (n pi, (n + 1/2) pi), from g = sin lambda - lambda cos lambda (sign (-1)^(n+1) at n pi)."""
    k = np.arange(1, n + 1, dtype=float)
    sign = np.where(k % 2 == 0, -1.0, 1.0)
    return _bisect(lambda b: np.sin(b) - b * np.cos(b), k * math.pi, (k + 0.5) * math.pi, sign)


def dirichlet_uptake(tau: float, tol: float = TOL) -> float:
    """U(tau) = 1 - (6 / pi^2) sum_n exp(-n^2 pi^2 tau) / n^2 (Crank 1975, eq. 6.20)."""
    if tau <= 0:
        return 0.0
    n = np.arange(1, n_terms(tau, tol) + 1, dtype=float)
    return float(1.0 - 6.0 / math.pi**2 * np.sum(np.exp(-(n * math.pi) ** 2 * tau) / n**2))


def dirichlet_concentration(rho, tau: float, tol: float = TOL) -> np.ndarray:
    """(c - c0) / (c_eq - c0) at rho = r / a (array), Crank (1975) eq. (6.18):
    1 + (2 / (pi rho)) sum_n ((-1)^n / n) sin(n pi rho) exp(-n^2 pi^2 tau).
    (sin(n pi rho) / rho = n pi sinc(n rho) is regular at the centre.)"""
    rho = np.atleast_1d(np.asarray(rho, float))
    if tau <= 0:
        return np.where(rho >= 1.0, 1.0, 0.0)
    n = np.arange(1, n_terms(tau, tol) + 1, dtype=float)
    sin_over_rho = n * math.pi * np.sinc(np.outer(rho, n))  # (p, N)
    terms = ((-1.0) ** n / n) * np.exp(-(n * math.pi) ** 2 * tau)
    return 1.0 + (2.0 / math.pi) * sin_over_rho @ terms


def robin_uptake(tau: float, L: float, tol: float = TOL) -> float:
    """U(tau) = 1 - sum_n 6 L^2 exp(-beta_n^2 tau) / (beta_n^2 (beta_n^2 + L (L - 1)))
    (Crank 1975, eq. 6.41), L = a alpha / D."""
    if tau <= 0 or L == 0:
        return 0.0
    b = robin_roots(L, n_terms(tau, tol) + 1)
    coeff = 6.0 * L**2 / (b**2 * (b**2 + L * (L - 1.0)))
    return float(1.0 - np.sum(coeff * np.exp(-b**2 * tau)))


def robin_concentration(rho, tau: float, L: float, tol: float = TOL) -> np.ndarray:
    """(c - c0) / (c_eq - c0) at rho = r / a, Crank (1975) eq. (6.39):
    1 - (2 L / rho) sum_n exp(-beta_n^2 tau) sin(beta_n rho)
                          / ((beta_n^2 + L (L - 1)) sin beta_n)."""
    rho = np.atleast_1d(np.asarray(rho, float))
    if tau <= 0:
        return np.zeros_like(rho)
    b = robin_roots(L, n_terms(tau, tol) + 1)
    sin_over_rho = b * np.sinc(np.outer(rho, b) / math.pi)
    terms = np.exp(-b**2 * tau) / ((b**2 + L * (L - 1.0)) * np.sin(b))
    return 1.0 - 2.0 * L * sin_over_rho @ terms


def flux_concentration(rho, tau: float, tol: float = TOL) -> np.ndarray:
    """(c - c0) D / (j a) at rho = r / a for a constant inward flux j = D dc/dr(a):

        3 tau + rho^2 / 2 - 3/10 - (2 / rho) sum_n sin(lambda_n rho) exp(-lambda_n^2 tau)
                                                 / (lambda_n^2 sin lambda_n),

    tan lambda_n = lambda_n. Derivation: 3 tau + rho^2 / 2 solves the equation (its
    Laplacian is 3) with unit flux at rho = 1; the rest, subtracting rho^2/2 - 3/10 (zero
    mean over the ball, so the uptake is exactly 3 j t / a), solves it with zero flux, whose
    eigenfunctions are sin(lambda rho) / rho with lambda cos lambda = sin lambda. With
    int_0^1 sin^2(lambda rho) d rho = sin^2(lambda) / 2 and
    int_0^1 rho^3 sin(lambda rho) d rho = 2 cos(lambda) / lambda (both at a root), the
    coefficients of rho^2/2 - 3/10 are 2 / (lambda^2 sin lambda). (The result is the one in
    Carslaw and Jaeger 1959, chapter IX, for a sphere heated by a constant flux.)"""
    rho = np.atleast_1d(np.asarray(rho, float))
    if tau <= 0:
        return np.zeros_like(rho)
    lam = flux_roots(n_terms(tau, tol) + 1)
    sin_over_rho = lam * np.sinc(np.outer(rho, lam) / math.pi)
    terms = np.exp(-lam**2 * tau) / (lam**2 * np.sin(lam))
    return 3.0 * tau + 0.5 * rho**2 - 0.3 - 2.0 * sin_over_rho @ terms


def flux_surface_concentration(tau: float, tol: float = TOL) -> float:
    """(c(a) - c0) D / (j a) = 3 tau + 1/5 - 2 sum_n exp(-lambda_n^2 tau) / lambda_n^2
    (:func:`flux_concentration` at rho = 1)."""
    if tau <= 0:
        return 0.0
    lam = flux_roots(n_terms(tau, tol) + 1)
    return float(3.0 * tau + 0.2 - 2.0 * np.sum(np.exp(-lam**2 * tau) / lam**2))


def flux_uptake(tau: float, L_flux: float) -> float:
    """U = 3 tau L_flux exactly, L_flux = j a / (D (c_eq - c0)) (the mass rate is 4 pi a^2 j)."""
    return 3.0 * tau * L_flux


def reduction_error(tau: float, damkohler: float, tol: float = TOL) -> float:
    """U_reduced - U_full at tau: the uptake the local-equilibrium model (c(a) = c_eq) gains
    over the reaction model with L = Da, both from the series above (exact to ~1e-13)."""
    return dirichlet_uptake(tau, tol) - robin_uptake(tau, damkohler, tol)


def reduction_error_asymptotic(tau: float, damkohler: float, tol: float = TOL) -> float:
    """The leading term of :func:`reduction_error` in 1/Da:

        U_red - U_full = (1/Da) [3 (1 - U_red(tau)) + 12 tau sum_n exp(-n^2 pi^2 tau)] + O(Da^-2)
                       = (1/Da) [3 (1 - U_red) + 2 tau dU_red/dtau] + O(Da^-2).

    Derivation from Crank's series (eqs. 6.20, 6.40, 6.41) for Da = L >> n pi: write
    beta_n = n pi - delta; cot(n pi - delta) = -cot delta turns eq. 6.40 into
    tan delta = beta / (L - 1), so delta = n pi / L + O(L^-2) and
    beta_n^2 = n^2 pi^2 (1 - 2/L) + O(L^-2). Then the coefficient of eq. 6.41,
    6 / (beta^2 (1 - 1/L + beta^2/L^2)) = (6 / (n^2 pi^2)) (1 + 3/L) + O(L^-2), and
    exp(-beta^2 tau) = exp(-n^2 pi^2 tau) (1 + 2 n^2 pi^2 tau / L) + O(L^-2). Subtracting
    eq. 6.20 term by term gives the sum above. It holds where the terms that matter have
    n pi << Da, i.e. for tau >> 1/Da^2 (later than the time D/alpha^2 for diffusion to
    cross the reaction's extrapolation length D/alpha); at earlier times the full model's
    uptake is the reaction-limited 3 Da tau and the error is smaller than this estimate.
    """
    if tau <= 0:
        return 0.0
    n = np.arange(1, n_terms(tau, tol) + 1, dtype=float)
    decay = np.sum(np.exp(-(n * math.pi) ** 2 * tau))
    return float((3.0 * (1.0 - dirichlet_uptake(tau, tol)) + 12.0 * tau * decay) / damkohler)
