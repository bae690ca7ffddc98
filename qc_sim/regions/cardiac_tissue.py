"""The monodomain tissue: cell models at the nodes of a box, joined by anisotropic diffusion.

    chi Cm dV/dt = div(sigma grad V) - chi Cm (I_ion + I_stim)

(V mV, t ms, lengths mm; chi 1/mm, Cm µF/mm^2, sigma mS/mm = S/m; I_ion and I_stim per unit
capacitance, µA/µF, as the cell models give them), insulated on every face. Space: trilinear
(Q1) finite elements on a uniform grid of the box (1, 2 or 3 dimensions) with the mass matrix
lumped, so every node carries one cell and the reaction needs no projection. The stiffness
of a constant tensor sigma on a uniform grid is a sum of Kronecker products of 1D matrices
(stiffness S, mass M and the mixed C_ij = int phi_i' phi_j), so it is assembled exactly for
any fibre direction: K = sum_ab sigma_ab (x)_k A_k^{ab}, A_k = S along a = b = k, C along a,
C^T along b, M elsewhere. ``stencil="fd"`` lumps that cross-axis M too, giving the 7-point
finite-difference stencil of a conductivity along the axes (for comparison with
finite-difference and finite-volume codes; not a case key).

Time: operator splitting (Godunov: reaction then diffusion; Strang: half diffusion, reaction,
half diffusion; Qu & Garfinkel, IEEE TBME 46: 1166, 1999, and Sundnes et al., Computing the
Electrical Activity in the Heart, 2006, ch. 3). The reaction is the cell model's own ``step``
(Rush–Larsen for the gates); the diffusion is theta-implicit, (M/h + theta K') V+ =
(M/h - (1 - theta) K') V, K' = K / (chi Cm), its matrix factorised once per step length by
SuperLU.

Activation time of a node: the first upward crossing of 0 mV, linear in time inside the
step (Niederer et al. 2011's definition). Upstrokes are counted at every node, so a
spontaneously beating tissue reports beats and cycle length.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import cg, splu


def grid_nodes(size, divisions) -> np.ndarray:
    """Node positions (n, d) mm of a uniform grid of the box [0, size] with ``divisions``
    intervals per axis, x fastest."""
    axes = [np.linspace(0.0, L, k + 1) for L, k in zip(size, divisions)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel(order="F") for m in mesh], axis=1)


def _line_matrices(h, k):
    """1D linear-element stiffness S, mass M and mixed C (int phi_i' phi_j) of k intervals
    of length h, as sparse (k + 1, k + 1)."""
    n = k + 1
    ends = np.ones(n)
    ends[1:-1] = 2.0
    S = sp.diags([-np.ones(k), ends, -np.ones(k)], [-1, 0, 1]) / h
    M = sp.diags([np.ones(k), 2.0 * ends, np.ones(k)], [-1, 0, 1]) * (h / 6.0)
    diag = np.zeros(n)
    diag[0], diag[-1] = -0.5, 0.5
    C = sp.diags([0.5 * np.ones(k), diag, -0.5 * np.ones(k)], [-1, 0, 1])
    return S.tocsr(), M.tocsr(), C.tocsr()


STENCILS = ("q1", "fd")


def stiffness_and_lumped_mass(size, divisions, sigma, stencil="q1"):
    """(K, m): the stiffness (n, n) of conductivity tensor ``sigma`` (d, d) mS/mm and the
    lumped mass (n,) mm^d of the grid. ``stencil`` "q1": trilinear elements, the consistent
    1D mass along the axes a term does not differentiate (a 27-point stencil in 3D); "fd":
    that 1D mass lumped too, which for a conductivity along the axes is the 3/5/7-point
    finite-difference stencil, sum_a sigma_a (V_{i+1} - 2 V_i + V_{i-1}) / dx_a^2 times the
    lumped mass (what a cell-centred finite-volume code with two-point fluxes solves on an
    orthogonal grid). Both are exact on linear fields and equal in 1D."""
    if stencil not in STENCILS:
        raise ValueError(f"stencil must be one of {STENCILS}, got {stencil!r}")
    d = len(size)
    h = [L / k for L, k in zip(size, divisions)]
    lines = [_line_matrices(hk, k) for hk, k in zip(h, divisions)]
    if stencil == "fd":
        lines = [(S, sp.diags(np.asarray(M.sum(axis=1)).ravel()).tocsr(), C)
                 for S, M, C in lines]
    K = None
    for a in range(d):
        for b in range(d):
            if sigma[a, b] == 0.0:
                continue
            factors = []
            for k, (S, M, C) in enumerate(lines):
                if a == b == k:
                    factors.append(S)
                elif k == a:
                    factors.append(C)
                elif k == b:
                    factors.append(C.T)
                else:
                    factors.append(M)
            # node order is x fastest: the Kronecker product runs from the last axis
            term = factors[-1]
            for f in reversed(factors[:-1]):
                term = sp.kron(term, f, format="csr")
            term = sigma[a, b] * term
            K = term if K is None else K + term
    mass = np.ones(1)
    for (S, M, C) in reversed(lines):
        mass = np.kron(mass, np.asarray(M.sum(axis=1)).ravel())
    return K.tocsc(), mass


def conductivity_tensor(fibre, along, across) -> np.ndarray:
    """Transversely isotropic sigma = across I + (along - across) f f^T (d, d) mS/mm."""
    f = np.asarray(fibre, float)
    f = f / np.linalg.norm(f)
    return across * np.eye(len(f)) + (along - across) * np.outer(f, f)


TRACE_INTERVAL = 0.5  # ms between recorded probe potentials


class _DCTSolve:
    """The theta step's system for a conductivity along the grid axes, solved exactly by
    the type-I discrete cosine transform: on a uniform grid with insulated ends the 1D
    stiffness and consistent mass satisfy S v_k = m s_k v_k and M v_k = m mu_k v_k for
    v_k(i) = cos(pi k i / N), with m the lumped mass, s_k = (2 - 2 cos(pi k / N)) / dx^2 and
    mu_k = (4 + 2 cos(pi k / N)) / 6; so K = m * (sum_a sigma_a s^a prod_b mu^b) in the
    cosine basis, and (M_L/h + theta K') V = b is V = C^-1[C(b / m) / (1/h + theta lam)]
    (mu_k = 1 for the "fd" stencil)."""

    def __init__(self, divisions, size, sigma_diag, mass, h, theta, chi_cm, stencil="q1"):
        from scipy import fft

        self.fft, self.shape, self.mass = fft, tuple(k + 1 for k in divisions), mass
        d = len(divisions)
        stiff, mass_1d = [], []
        for k, L in zip(divisions, size):
            c = np.cos(np.pi * np.arange(k + 1) / k)
            stiff.append((2.0 - 2.0 * c) / (L / k) ** 2)
            # the "fd" stencil lumps the cross-axis 1D mass: mu_k = 1
            mass_1d.append((4.0 + 2.0 * c) / 6.0 if stencil == "q1" else np.ones(k + 1))
        lam = np.zeros(self.shape)
        for a in range(d):
            term = np.ones(self.shape)
            for b in range(d):
                vec = stiff[b] if b == a else mass_1d[b]
                term = term * vec.reshape([-1 if i == b else 1 for i in range(d)])
            lam += sigma_diag[a] * term
        self.denominator = 1.0 / h + theta * lam / chi_cm

    def solve(self, b):
        g = (b / self.mass).reshape(self.shape, order="F")
        V = self.fft.idctn(self.fft.dctn(g, type=1) / self.denominator, type=1)
        return V.ravel(order="F")


def _cg(A, b, x0, preconditioner):
    x, info = cg(A, b, x0=x0, rtol=1e-12, atol=0.0, M=preconditioner, maxiter=1000)
    if info != 0:
        raise RuntimeError(f"diffusion CG did not converge ({info})")
    return x


class MonodomainTissue:
    """Cells of ``cell`` (a CellModel) at the nodes of a box ``size`` (mm, d = 1..3) split
    into ``divisions``, conductivity ``sigma`` (d, d) mS/mm, ``chi`` 1/mm, ``Cm`` µF/mm^2.

    Stimulus: ``stimulated`` (n,) bool nodes receive ``stimulus`` µA/mm^3 (positive
    depolarises) from ``stimulus_start`` for ``stimulus_duration`` ms, every
    ``stimulus_period`` ms (0: once). ``dt`` the reaction/diffusion step (ms), ``theta``
    of the diffusion (1 backward Euler, 0.5 Crank–Nicolson), ``splitting`` "godunov" or
    "strang"; ``solver`` of the diffusion, "direct" (SuperLU), "dct" (cosine transforms,
    sigma diagonal) or "cg"; ``rng`` a numpy
    Generator for stochastic cells (None: deterministic); ``stencil`` the spatial operator,
    "q1" (trilinear elements, the default) or "fd" (the cross-axis mass lumped too: the
    7-point stencil of finite-difference and two-point-flux finite-volume codes; see
    :func:`stiffness_and_lumped_mass`).
    """

    def __init__(self, cell, size, divisions, sigma, chi, Cm, *, stimulated=None,
                 stimulus=0.0, stimulus_start=0.0, stimulus_duration=0.0, stimulus_period=0.0,
                 dt=0.01, theta=1.0, splitting="godunov", solver="direct", rng=None,
                 stencil="q1"):
        self.cell, self.size, self.divisions = cell, tuple(size), tuple(divisions)
        self.nodes = grid_nodes(size, divisions)
        n = len(self.nodes)
        self.chi_cm = chi * Cm  # µF/mm^3
        self.stencil = stencil
        K, self.mass = stiffness_and_lumped_mass(size, divisions, np.asarray(sigma, float),
                                                 stencil)
        self.K = K / self.chi_cm  # mm^d / ms: diffusion per unit capacitance
        self.stimulated = np.zeros(n, bool) if stimulated is None else np.asarray(stimulated)
        # the cells' stimulus current per unit capacitance, µA/µF, negative depolarises
        self.i_stim = -float(stimulus) / self.chi_cm
        self.stim_start, self.stim_duration = float(stimulus_start), float(stimulus_duration)
        self.stim_period = float(stimulus_period)
        self.dt, self.theta, self.splitting, self.rng = float(dt), float(theta), splitting, rng
        self.solver = solver
        self.sigma_diag = np.diag(np.asarray(sigma, float)).copy()
        if solver == "dct" and np.any(np.asarray(sigma) != np.diag(self.sigma_diag)):
            raise ValueError("the dct solver needs a conductivity along the grid axes")
        self.y = cell.initial_state(n)
        self.t = 0.0
        self.activation = np.full(n, np.nan)  # first upward crossing of 0 mV, ms
        self.last_upstroke = np.full(n, np.nan)
        self.upstrokes = np.zeros(n, np.int64)
        self._solvers = {}
        self.probes = np.zeros(0, np.int64)  # nodes whose V the trace records
        self.trace = []  # rows (t, V at the probes...), at most one per TRACE_INTERVAL

    @property
    def V(self) -> np.ndarray:
        return self.y[0]

    def _diffusion(self, h):
        """(solve, explicit part) of a theta step of length h, made once per h: SuperLU's
        factors ("direct"), the cosine-transform diagonalisation ("dct", :class:`_DCTSolve`),
        or conjugate gradients preconditioned by the diagonal ("cg",
        relative residual 1e-12, from the current V; the matrix M/h + theta K' has
        condition number ~1 + 4 d D h / dx^2, so it takes ~10 iterations, where a 3D
        factorisation fills in as n^(4/3): 65 M entries at dx = 0.2 mm on the benchmark)."""
        if h not in self._solvers:
            M = sp.diags(self.mass / h)
            A = sp.csr_matrix(M + self.theta * self.K)
            rhs = (M - (1.0 - self.theta) * self.K).tocsr() if self.theta < 1.0 else M
            if self.solver == "dct":
                solve = _DCTSolve(self.divisions, self.size, self.sigma_diag, self.mass, h,
                                  self.theta, self.chi_cm, self.stencil).solve
            elif self.solver == "cg":
                jacobi = sp.diags(1.0 / A.diagonal())
                solve = lambda b, A=A, P=jacobi: _cg(A, b, self.y[0], P)  # noqa: E731
            else:
                solve = splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A").solve
            self._solvers[h] = (solve, rhs)
        return self._solvers[h]

    def _diffuse(self, h):
        solve, rhs = self._diffusion(h)
        self.y[0] = solve(rhs @ self.y[0])

    def _stimulus(self, t, h):
        """The stimulus (µA/µF, per node or 0) over the step [t, t + h], at its midpoint."""
        if self.i_stim == 0.0 or not self.stimulated.any():
            return 0.0
        s = t + 0.5 * h - self.stim_start
        if s < 0.0:
            return 0.0
        if self.stim_period > 0.0:
            s = math.fmod(s, self.stim_period)
        return np.where(self.stimulated, self.i_stim, 0.0) if s < self.stim_duration else 0.0

    def step(self, h):
        """One split step of length ``h`` ms."""
        before = self.y[0].copy()
        stim = self._stimulus(self.t, h)
        if self.splitting == "strang":
            self._diffuse(0.5 * h)
            self.cell.step(self.y, h, stim, self.rng)
            self._diffuse(0.5 * h)
        else:
            self.cell.step(self.y, h, stim, self.rng)
            self._diffuse(h)
        self._record(before, self.y[0], h)
        self.t += h
        if len(self.probes) and (not self.trace or self.t >= self.trace[-1][0] + TRACE_INTERVAL):
            self.trace.append((self.t, *self.y[0, self.probes]))

    def _record(self, before, after, h):
        up = (before < 0.0) & (after >= 0.0)
        if not up.any():
            return
        when = self.t + h * (0.0 - before[up]) / (after[up] - before[up])
        first = np.isnan(self.activation[up])
        idx = np.flatnonzero(up)
        self.activation[idx[first]] = when[first]
        self.last_upstroke[idx] = when
        self.upstrokes[idx] += 1

    def advance(self, dt):
        """Advance by ``dt`` ms in steps of at most ``self.dt``."""
        n = max(1, math.ceil(dt / self.dt - 1e-9))
        h, start = dt / n, self.t
        for k in range(n):
            self.step(h)
            self.t = start + (k + 1) * h  # no drift from summing h

    def nearest_node(self, point) -> int:
        return int(np.argmin(np.linalg.norm(self.nodes - np.asarray(point, float), axis=1)))
