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

from qc_sim.solvers.protocol import MinimizeResult, dot, dots, finished, largest


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
    atoms (a clamped shell is a quarter to a half of the atoms). The model's reductions, if
    it has them, serve unchanged: exact sums, so the bits on ranks are those of the full
    vectors (zero there)."""

    def __init__(self, model, mask):
        self.model, self.xp = model, model.xp
        self.index = model.xp.flatnonzero(model.xp.asarray(mask))
        for name in ("dot", "dots", "largest"):
            if getattr(model, name, None) is not None:
                setattr(self, name, getattr(model, name))

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


class _Memory:
    """The pairs of an L-BFGS memory in a ring of preallocated rows (s in rows 0..m-1, the
    gradient change y in rows m..2m-1: no fresh memory per iteration), and the dot products
    the two-loop recursion reads, so that it runs on numbers alone (the vector-free form of
    Chen, Wang & Zhou, NIPS 2014): SY[i, j] = s_i . y_j and YY[i, j] = y_i . y_j by slot,
    and the current force's Sf[i] = s_i . f, Yf[i] = y_i . f, ff = f . f."""

    def __init__(self, xp, memory: int, n: int):
        self.m = int(memory)
        self.rows = xp.empty((2 * self.m, n))
        self.order = []  # slots, oldest pair first
        self.SY = np.zeros((self.m, self.m))
        self.YY = np.zeros((self.m, self.m))
        self.Sf = np.zeros(self.m)
        self.Yf = np.zeros(self.m)
        self.ff = 0.0

    def direction(self, curvature: float):
        """(coefficients by slot of s and y, coefficient of f, slope f.d) of d = H f."""
        cs, cy = np.zeros(self.m), np.zeros(self.m)
        if not self.order:
            cf = 1.0 / curvature
            return cs, cy, cf, cf * self.ff
        SY, YY = self.SY, self.YY
        alpha, beta = {}, {}
        for pos in range(len(self.order) - 1, -1, -1):  # newest to oldest
            i = self.order[pos]
            alpha[i] = (self.Sf[i] - sum(alpha[j] * SY[i, j] for j in self.order[pos + 1:])) \
                / SY[i, i]
        newest = self.order[-1]
        gamma = SY[newest, newest] / YY[newest, newest]
        for pos, i in enumerate(self.order):  # oldest to newest
            yr = gamma * (self.Yf[i] - sum(alpha[j] * YY[i, j] for j in self.order)) + sum(
                (alpha[j] - beta[j]) * SY[j, i] for j in self.order[:pos])
            beta[i] = yr / SY[i, i]
        for j in self.order:
            cy[j] = -gamma * alpha[j]
            cs[j] = alpha[j] - beta[j]
        slope = gamma * self.ff + float(cy @ self.Yf + cs @ self.Sf)
        return cs, cy, gamma, slope

    def rows_for_dots(self):
        """The stored rows whose dot products with a new force the next steps need."""
        return [self.rows[i] for i in self.order] + [self.rows[self.m + i] for i in self.order]


def lbfgs_line_search(model, fmax: float = 1e-3, max_steps: int = 10_000, memory: int = 8,
                      max_move: float = 0.1, curvature: float = 10.0, c2: float = 0.9,
                      tries: int = 10, on_step=None) -> MinimizeResult:
    """L-BFGS with a line search on the forces alone, for any
    :class:`~qc_sim.solvers.protocol.Minimizable`: every dot product and max through the
    model's reductions, so a model split over MPI ranks
    (:class:`~qc_sim.atomistic.domain_model.DomainModel`) relaxes to the same bits on any
    rank count, and no test ever compares two total energies, whose rounding at 10^7-10^8
    atoms is of the size of the changes near a minimum (SciPy's L-BFGS-B, and LAMMPS's line
    search, stop early there: issue 29).

    The direction d = H f is the two-loop recursion's (Nocedal & Wright, algorithm 7.4: the
    last ``memory`` pairs of steps s and gradient changes y, the initial inverse Hessian
    s.y / y.y of the newest pair, 1 / ``curvature`` eV/Å^2 at the start and after a
    restart) carried out on the dot products of the stored vectors (the vector-free form of
    Chen, Wang & Zhou, NIPS 2014): per trial point one batch of dot products of the new force
    with the stored vectors (one collective on ranks, in place of two per pair) and one
    linear combination of them for d, elementwise in a fixed order. The dot products of a new
    pair come from that batch (s_i.y_k = s_i.f_k - s_i.f_k+1, ...) and from the recursion's
    coefficients, y_k.y_k directly.

    Along d the line search looks only at the slope f(alpha).d, the energy's derivative:
    the step alpha = 1 (shortened so that no degree of freedom moves more than ``max_move``
    Å) is taken when |f(alpha).d| <= c2 f(0).d (the strong Wolfe curvature condition, c2 =
    0.9 as usual for quasi-Newton methods; for a quadratic energy it also gives a decrease).
    Otherwise a secant on the slope extrapolates (still downhill: at most 4 times further,
    never past ``max_move``) or, once the minimum along d is bracketed, interpolates between
    the last downhill and the first uphill point, up to ``tries`` evaluations. A pair with
    s.y <= 0, or a direction that is not downhill, empties the memory. Convergence is the
    model's ``max_force``; the result's energy is the model's at the returned state. A model
    with a ``free_dofs()`` method (a boolean mask of the degrees of freedom that may move:
    AtomisticSystem, DomainModel) is relaxed in those alone.
    """
    if not getattr(model, "conservative", True):
        raise ValueError("L-BFGS needs forces that are the gradient of the energy; this model's "
                         "are not (e.g. a non-hydrostatic target stress): use FIRE")
    if getattr(model, "free_dofs", None) is not None:
        model = _FreeDofs(model, model.free_dofs())
    xp = model.xp
    on_host = xp is np
    y = model.get_dofs()
    energy, f = model.energy_forces()
    evaluations = 1
    mem = _Memory(xp, memory, y.shape[0])
    mem.ff = dots(model, [f], f)[0]
    fm = model.max_force(f)

    def combine(cs, cy, cf):
        which = [i for i in mem.order] + [mem.m + i for i in mem.order]
        coeffs = [cs[i] for i in mem.order] + [cy[i] for i in mem.order] + [cf]
        if on_host:
            from qc_sim.parallel.reduce import combine as host_combine

            return host_combine(coeffs, mem.rows, which, f)
        d = cf * f
        for c, j in zip(coeffs[:-1], which):
            d += c * mem.rows[j]
        return d

    for step in range(max_steps + 1):
        if on_step is not None:
            on_step(step, energy, fm)
        if fm <= fmax:
            return finished("L-BFGS", True, step, evaluations, energy, fm, fmax)
        if step == max_steps:
            break
        cs, cy, cf, slope = mem.direction(curvature)
        if not slope > 0.0:  # not downhill: forget and take the force direction
            mem.order = []
            cs, cy, cf, slope = mem.direction(curvature)
        d = combine(cs, cy, cf)
        biggest = largest(model, d)
        top = max_move / biggest if biggest > max_move else 1.0
        alpha = min(1.0, top)
        lo, s_lo, hi, s_hi = 0.0, slope, None, None  # last downhill, first uphill point
        for _ in range(tries):
            model.set_dofs(y + alpha * d)
            energy, f_new = model.energy_forces()
            evaluations += 1
            # the new force against the stored vectors, the old force and itself: one batch
            batch = dots(model, mem.rows_for_dots() + [f, f_new], f_new)
            k = len(mem.order)
            Sf_new = dict(zip(mem.order, batch[:k]))
            Yf_new = dict(zip(mem.order, batch[k:2 * k]))
            f_fnew, fnew_fnew = batch[2 * k], batch[2 * k + 1]
            s_new = cf * f_fnew + sum(cs[i] * Sf_new[i] + cy[i] * Yf_new[i] for i in mem.order)
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
        # the new pair: s = alpha d, y = f - f_new, into the oldest slot once the ring is full
        m = mem.m
        if len(mem.order) == m:
            new = mem.order.pop(0)
        else:
            new = next(i for i in range(m) if i not in mem.order)
        s_vec, y_vec = mem.rows[new], mem.rows[m + new]
        xp.multiply(d, alpha, out=s_vec)
        xp.subtract(f, f_new, out=y_vec)
        yy = dots(model, [y_vec], y_vec)[0]
        sy = alpha * (slope - s_new)  # s.f - s.f_new
        y_new = model.get_dofs()
        if sy > 0.0 and yy > 0.0:
            SY, YY = mem.SY, mem.YY
            for j in mem.order:
                # d . y_j from the recursion's coefficients and the stored products
                d_yj = cf * mem.Yf[j] + sum(cs[i] * SY[i, j] + cy[i] * YY[i, j]
                                            for i in mem.order)
                SY[new, j] = alpha * d_yj
                SY[j, new] = mem.Sf[j] - Sf_new[j]
                YY[j, new] = YY[new, j] = mem.Yf[j] - Yf_new[j]
            SY[new, new], YY[new, new] = sy, yy
            Sf_next = {j: Sf_new[j] for j in mem.order}
            Yf_next = {j: Yf_new[j] for j in mem.order}
            Sf_next[new] = alpha * s_new
            Yf_next[new] = f_fnew - fnew_fnew
            mem.order.append(new)
        else:
            mem.order, Sf_next, Yf_next = [], {}, {}
        mem.Sf[:], mem.Yf[:] = 0.0, 0.0
        for j in mem.order:
            mem.Sf[j], mem.Yf[j] = Sf_next[j], Yf_next[j]
        mem.ff = fnew_fnew
        y, f = y_new, f_new
        fm = model.max_force(f)
    return finished("L-BFGS", False, max_steps, evaluations, energy, fm, fmax)
