"""L-BFGS through SciPy's L-BFGS-B (Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16 (1995)
1190) on any :class:`~qc_sim.solvers.protocol.Minimizable`.

SciPy stops when every gradient component is at most ``gtol``; we ask for
``fmax / sqrt(3)`` per component (so every atomic force norm is at most ``fmax``) and judge
convergence by the model's own ``max_force``. The vectors cross to the host for SciPy.
A model that brings its own reductions (split over MPI ranks, whose vectors SciPy cannot
see whole) is relaxed by :func:`lbfgs_two_loop` instead, the same bits on any rank count.
"""

from __future__ import annotations

import math

import numpy as np

from qc_sim.solvers.protocol import MinimizeResult, dot, finished, largest


def lbfgs(model, fmax: float = 1e-3, max_steps: int = 10_000, memory: int = 20,
          on_step=None) -> MinimizeResult:
    from scipy.optimize import minimize

    if not getattr(model, "conservative", True):
        raise ValueError("L-BFGS needs forces that are the gradient of the energy; this model's "
                         "are not (e.g. a non-hydrostatic target stress): use FIRE")
    if getattr(model, "dot", None) is not None:
        return lbfgs_two_loop(model, fmax=fmax, max_steps=max_steps, memory=memory,
                              on_step=on_step)
    xp = model.xp
    to_host = (lambda a: a.get()) if hasattr(xp, "cuda") else np.asarray
    count = {"evaluations": 0}
    state = {}

    def fun(y):
        model.set_dofs(xp.asarray(y))
        energy, f = model.energy_forces()
        count["evaluations"] += 1
        state.update(y=y.copy(), energy=energy, f=f)
        return energy, -to_host(f)

    def callback(intermediate):
        if on_step is not None:
            on_step(int(intermediate.nit) if hasattr(intermediate, "nit") else -1,
                    state["energy"], model.max_force(state["f"]))

    y0 = to_host(model.get_dofs()).astype(float)
    out = minimize(fun, y0, jac=True, method="L-BFGS-B", callback=callback,
                   options={"maxiter": max_steps, "maxfun": 4 * max_steps + 100,
                            "maxcor": memory, "gtol": fmax / math.sqrt(3.0), "ftol": 0.0})
    if not np.array_equal(state.get("y"), out.x):  # leave the model at SciPy's answer
        fun(out.x)
    energy, f = state["energy"], state["f"]
    fm = model.max_force(f)
    converged = fm <= fmax
    return finished("L-BFGS", converged, int(out.nit), count["evaluations"], energy, fm, fmax,
                    note=str(out.message))


def lbfgs_two_loop(model, fmax: float = 1e-3, max_steps: int = 10_000, memory: int = 20,
                   max_move: float = 0.2, curvature: float = 70.0,
                   on_step=None) -> MinimizeResult:
    """L-BFGS by the two-loop recursion (Nocedal, Math. Comp. 35 (1980) 773; Nocedal &
    Wright, Numerical Optimization, algorithm 7.4) with every dot product and max through the
    model's reductions (:func:`~qc_sim.solvers.protocol.dot`), so that a model split over MPI
    ranks relaxes to the same bits on any rank count; :func:`lbfgs` takes this path for such
    a model.

    No line search (as ASE's LBFGS): each step is the quasi-Newton step, shortened so that
    no degree of freedom moves more than ``max_move`` Å; the first step and every restart use
    the Hessian guess ``curvature`` eV/Å^2 (70: a typical metal), later ones the scaling
    s.y / y.y of the newest pair. A pair with s.y <= 0 (no positive curvature) or a
    direction uphill empties the memory. Convergence is the model's ``max_force``.
    """
    if not getattr(model, "conservative", True):
        raise ValueError("L-BFGS needs forces that are the gradient of the energy; this model's "
                         "are not (e.g. a non-hydrostatic target stress): use FIRE")
    y = model.get_dofs()
    energy, f = model.energy_forces()
    evaluations = 1
    pairs = []  # (s, gradient change, 1 / s.y), oldest first
    for step in range(max_steps + 1):
        fm = model.max_force(f)
        if on_step is not None:
            on_step(step, energy, fm)
        if fm <= fmax:
            return finished("L-BFGS", True, step, evaluations, energy, fm, fmax)
        if step == max_steps:
            break
        q, alphas = f, []
        for s, g, rho in reversed(pairs):
            a = rho * dot(model, s, q)
            q = q - a * g
            alphas.append(a)
        s_last, g_last = (pairs[-1][0], pairs[-1][1]) if pairs else (None, None)
        scale = (dot(model, s_last, g_last) / dot(model, g_last, g_last)) if pairs \
            else 1.0 / curvature
        d = scale * q
        for (s, g, rho), a in zip(pairs, reversed(alphas)):
            d = d + (a - rho * dot(model, g, d)) * s
        if dot(model, d, f) <= 0.0:  # not downhill: forget and take the force direction
            pairs, d = [], f / curvature
        biggest = largest(model, d)
        if biggest > max_move:
            d = d * (max_move / biggest)
        model.set_dofs(y + d)
        y_new = model.get_dofs()
        energy, f_new = model.energy_forces()
        evaluations += 1
        s, g = y_new - y, f - f_new  # the step and the change of the gradient (-forces)
        sy = dot(model, s, g)
        if sy > 0.0:
            pairs.append((s, g, 1.0 / sy))
            if len(pairs) > memory:
                pairs.pop(0)
        else:
            pairs = []
        y, f = y_new, f_new
    return finished("L-BFGS", False, max_steps, evaluations, energy, fm, fmax)



class _FreeDofs:
    """``model`` seen through its free degrees of freedom only (``model.free_dofs()``, a
    boolean mask (m,) of the dofs that may move): the minimiser's vectors skip the held
    atoms (a clamped shell is a third to a half of the atoms). The model's reductions, if
    it has them, serve unchanged: exact sums, so the bits on ranks are those of the full
    vectors (zero there)."""

    def __init__(self, model, mask):
        self.model, self.xp = model, model.xp
        self.index = model.xp.flatnonzero(model.xp.asarray(mask))
        if getattr(model, "dot", None) is not None:
            self.dot, self.largest = model.dot, model.largest

    def get_dofs(self):
        return self.model.get_dofs()[self.index]

    def set_dofs(self, y) -> None:
        full = self.model.get_dofs()
        full[self.index] = y
        self.model.set_dofs(full)

    def energy_forces(self):
        energy, f = self.model.energy_forces()
        return energy, f[self.index]

    def max_force(self, forces) -> float:
        return self.model.max_force(forces)


def _two_loop(model, pairs, f, curvature: float):
    """H f by the two-loop recursion over ``pairs`` (s, gradient change, 1 / s.y), oldest
    first, with the initial inverse Hessian s.y / y.y of the newest pair (1 / curvature
    without pairs); every dot product through the model's reductions."""
    if not pairs:
        return f * (1.0 / curvature)
    q, alphas = f.copy(), []
    for s, g, rho in reversed(pairs):
        a = rho * dot(model, s, q)
        q -= a * g
        alphas.append(a)
    s_last, g_last, rho_last = pairs[-1]
    q *= 1.0 / (rho_last * dot(model, g_last, g_last))
    for (s, g, rho), a in zip(pairs, reversed(alphas)):
        q += (a - rho * dot(model, g, q)) * s
    return q


def lbfgs_line_search(model, fmax: float = 1e-3, max_steps: int = 10_000, memory: int = 8,
                      max_move: float = 0.1, curvature: float = 10.0, c2: float = 0.9,
                      tries: int = 10, on_step=None) -> MinimizeResult:
    """L-BFGS (the two-loop recursion, Nocedal & Wright algorithm 7.4) with a line search
    on the forces alone, for any :class:`~qc_sim.solvers.protocol.Minimizable`: every dot
    product and max through the model's reductions, so a model split over MPI ranks
    (:class:`~qc_sim.atomistic.domain_model.DomainModel`) relaxes to the same bits on any
    rank count, and no test ever compares two total energies, whose rounding at 10^7-10^8
    atoms is of the size of the changes near a minimum (SciPy's L-BFGS-B, and LAMMPS's line
    search, stop early there: issue 29).

    Along the quasi-Newton direction d the line search looks only at the slope
    -f(alpha).d, the energy's derivative: the step alpha = 1 (shortened so that no degree
    of freedom moves more than ``max_move`` Å) is taken when |f(alpha).d| <= c2 f(0).d
    (the strong Wolfe curvature condition, c2 = 0.9 as usual for quasi-Newton methods; for
    a quadratic energy it also gives a decrease). Otherwise a secant on the slope
    extrapolates (still downhill: at most 4 times further, never past ``max_move``) or,
    once the minimum along d is bracketed, interpolates between the last downhill and the
    first uphill point, up to ``tries`` evaluations; the pair (s, y) of the accepted step
    enters the memory (``memory`` pairs) when s.y > 0, else the memory is emptied. The first
    step and every restart take the Hessian guess ``curvature`` eV/Å^2, later ones the
    scaling s.y / y.y of the newest pair. Convergence is the model's ``max_force``; the
    result's energy is the model's at the returned state. A model with a ``free_dofs()``
    method (a boolean mask of the degrees of freedom that may move: AtomisticSystem,
    DomainModel) is relaxed in those alone.
    """
    if not getattr(model, "conservative", True):
        raise ValueError("L-BFGS needs forces that are the gradient of the energy; this model's "
                         "are not (e.g. a non-hydrostatic target stress): use FIRE")
    if getattr(model, "free_dofs", None) is not None:
        model = _FreeDofs(model, model.free_dofs())
    y = model.get_dofs()
    energy, f = model.energy_forces()
    evaluations = 1
    pairs = []
    fm = model.max_force(f)
    for step in range(max_steps + 1):
        if on_step is not None:
            on_step(step, energy, fm)
        if fm <= fmax:
            return finished("L-BFGS", True, step, evaluations, energy, fm, fmax)
        if step == max_steps:
            break
        d = _two_loop(model, pairs, f, curvature)
        slope = dot(model, d, f)  # -dE/dalpha at alpha = 0
        if not slope > 0.0:  # not downhill: forget and take the force direction
            pairs = []
            d = f * (1.0 / curvature)
            slope = dot(model, d, f)
        biggest = largest(model, d)
        top = max_move / biggest if biggest > max_move else 1.0
        alpha = min(1.0, top)
        lo, s_lo, hi, s_hi = 0.0, slope, None, None  # last downhill, first uphill point
        for _ in range(tries):
            model.set_dofs(y + alpha * d)
            energy, f_new = model.energy_forces()
            evaluations += 1
            s_new = dot(model, f_new, d)
            if abs(s_new) <= c2 * slope:
                break
            if s_new > 0.0:  # still downhill
                lo, s_lo = alpha, s_new
                if hi is None:
                    if alpha >= top:
                        break
                    grow = alpha * (s_lo / (slope - s_lo)) if slope > s_lo else 4.0 * alpha
                    alpha = min(alpha + min(grow, 3.0 * alpha), top)
                    continue
            else:
                hi, s_hi = alpha, s_new
            alpha = lo + (hi - lo) * (s_lo / (s_lo - s_hi))  # secant in the bracket
        y_new = model.get_dofs()
        s = y_new - y
        g = f - f_new
        sy = dot(model, s, g)
        if sy > 0.0:
            pairs.append((s, g, 1.0 / sy))
            if len(pairs) > memory:
                pairs.pop(0)
        else:
            pairs = []
        y, f = y_new, f_new
        fm = model.max_force(f)
    return finished("L-BFGS", False, max_steps, evaluations, energy, fm, fmax)
