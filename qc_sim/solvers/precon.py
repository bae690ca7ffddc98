"""Preconditioned L-BFGS: a minimiser whose iteration count does not grow with the model.

On a graded mesh the stiffness of a node grows with its element size, and the longest
wavelengths of a large domain are soft: plain L-BFGS needs more and more iterations as the
domain grows. Preconditioned by a matrix P that has the model's stiffness (here the
assembled linear elastic stiffness of the mesh: Cauchy-Born's moduli on every element, the
atoms' nodes included, in the spirit of the preconditioned L-BFGS of Packwood et al.,
J. Chem. Phys. 144, 164109 (2016)), the quasi-Newton steps see a nearly uniform spectrum
and the count stays flat.

The two-loop recursion (Nocedal & Wright, Numerical Optimization, algorithm 7.4) with the
initial inverse Hessian H0 = P^-1, applied by one V-cycle of smoothed-aggregation algebraic
multigrid (pyamg, :mod:`qc_sim.solvers.amg`); a backtracking Armijo line search on the
energy counted from the model's reference state (``relative_energy_forces`` where the model
has it), so the test weighs changes of 1e-9 eV however large the total energy is.
"""

from __future__ import annotations

import numpy as np

from qc_sim.solvers.protocol import MinimizeResult, finished


class StiffnessPreconditioner:
    """P^-1 g for a symmetric positive definite ``matrix`` (scipy.sparse, over all degrees
    of freedom) restricted to the ``free`` ones (mask): one V-cycle of smoothed aggregation,
    built once (the cost of a few evaluations of the matrix). Rigid-body modes as pyamg's
    near null space and an exact sparse LU were tried: the first saved no evaluations, the
    second cost four times AMG's set-up."""

    def __init__(self, matrix, free):
        from scipy.sparse import csr_matrix

        from qc_sim.solvers.amg import smoothed_aggregation

        self.free = np.asarray(free, bool)
        K = csr_matrix(matrix)[self.free][:, self.free]
        self._cycle = smoothed_aggregation(K).aspreconditioner(cycle="V")

    def apply(self, g: np.ndarray) -> np.ndarray:
        out = np.zeros_like(g)
        out[self.free] = self._cycle @ g[self.free]
        return out


def precon_lbfgs(model, preconditioner=None, fmax: float = 1e-3, max_steps: int = 10_000,
                 memory: int = 20, max_move: float = 0.5, c1: float = 1e-4,
                 stall: int = 8, on_step=None) -> MinimizeResult:
    """Relax ``model`` (the solver protocol) until its ``max_force`` is at most ``fmax``.

    ``preconditioner`` (an object with ``apply(g) -> P^-1 g`` on flat vectors; None: the
    identity scaled by the newest pair's s.y / y.y, plain L-BFGS). Each step is the
    quasi-Newton direction d, shortened so no degree of freedom moves more than
    ``max_move`` Å, and backtracked until the energy falls by at least c1 of what the
    slope promises (Armijo), or, where the change is below the rounding of the energy,
    until the slope along the step has fallen (forces alone); a pair is kept only with
    positive curvature. A direction
    that is not downhill, or a line search that fails, empties the memory and tries the
    preconditioned force; if that fails too, or ``stall`` steps in a row are cut short by
    the line search (an energy with jumps, as an unshifted cut-off gives), the run stops
    unconverged at the best state, for a force-only method to finish."""
    relative = hasattr(model, "relative_energy_forces")
    evaluate = model.relative_energy_forces if relative else model.energy_forces
    offset = float(getattr(model, "reference_energy", 0.0)) if relative else 0.0
    precon = (lambda g: preconditioner.apply(g)) if preconditioner is not None else None
    x = np.asarray(model.get_dofs(), float)
    energy, f = evaluate()
    f = np.asarray(f, float)
    evaluations = 1
    pairs: list = []  # (s, y = gradient change, rho = 1 / s.y), oldest first
    note = ""
    backtracked = 0  # consecutive steps whose full step was refused
    for step in range(max_steps + 1):
        fm = model.max_force(f)
        if on_step is not None:
            on_step(step, energy + offset, fm)
        if fm <= fmax:
            return finished("preconditioned L-BFGS", True, step, evaluations, energy + offset,
                            fm, fmax)
        if step == max_steps:
            note = "step limit"
            break
        for attempt in range(2):
            d = _direction(f, pairs, precon)
            slope = -float(d @ f)  # dE/dalpha at alpha = 0
            if slope >= 0.0:
                pairs, d = [], (precon(f) if precon is not None else f.copy())
                slope = -float(d @ f)
            biggest = float(np.abs(d).max())
            if biggest > max_move:
                d *= max_move / biggest
                slope *= max_move / biggest
            accepted, alpha = False, 1.0
            for _ in range(12):
                model.set_dofs(x + alpha * d)
                e_new, f_new = evaluate()
                f_new = np.asarray(f_new, float)
                evaluations += 1
                if e_new <= energy + c1 * alpha * slope:
                    accepted = True
                    break
                # an energy change lost in the rounding of the energy itself: judge by the
                # forces alone (the slope along d has fallen, strong Wolfe with c2 = 0.9)
                if (abs(e_new - energy) <= 1e-12 * max(1.0, abs(energy))
                        and abs(float(d @ f_new)) <= 0.9 * abs(slope)):
                    accepted = True
                    break
                # the minimum of the quadratic through E(0), E'(0) and E(alpha), kept within
                # [alpha / 10, alpha / 2]
                denom = 2.0 * (e_new - energy - slope * alpha)
                trial = -slope * alpha * alpha / denom if denom > 0 else 0.5 * alpha
                alpha = min(max(trial, 0.1 * alpha), 0.5 * alpha)
            if accepted:
                break
            model.set_dofs(x)
            pairs = []  # forget the curvature and try the preconditioned force
        backtracked = backtracked + 1 if alpha < 1.0 or attempt else 0
        if accepted and backtracked >= stall:  # stop where the last step went
            note = (f"stalled: {stall} steps in a row cut short by the line search (an "
                    "energy that is not smooth: a cut-off without a shift?)")
            energy, f = e_new, f_new
            break
        if not accepted:
            note = "line search failed along the preconditioned force"
            e_back, f_back = evaluate()
            evaluations += 1
            energy, f = e_back, np.asarray(f_back, float)
            break
        x_new = np.asarray(model.get_dofs(), float)
        s, yv = x_new - x, f - f_new  # the step and the change of the gradient (-forces)
        sy = float(s @ yv)
        if sy > 1e-30:
            pairs.append((s, yv, 1.0 / sy))
            if len(pairs) > memory:
                pairs.pop(0)
        x, energy, f = x_new, e_new, f_new
    fm = model.max_force(f)
    return finished("preconditioned L-BFGS", fm <= fmax, step, evaluations, energy + offset,
                    fm, fmax, note=note)


def precon_anderson(model, preconditioner, fmax: float = 1e-3, max_steps: int = 10_000,
                    memory: int = 6, max_move: float = 0.3, on_step=None) -> MinimizeResult:
    """Zero the forces of a model that has no energy behind them (bqcf): the preconditioned
    fixed point y <- y + P^-1 f(y), accelerated by Anderson mixing over the last ``memory``
    iterates (Walker & Ni, SIAM J. Numer. Anal. 49 (2011) 1715: the combination of past
    preconditioned residuals g = P^-1 f that is smallest in the least-squares sense). P is
    the model's stiffness, so near the solution one iteration is nearly a Newton step. Like
    any root finder it stops at whatever state has no force, a saddle included: for a model
    with an energy, minimise instead. No
    step moves a degree of freedom more than ``max_move`` Å; a residual that grows tenfold
    empties the history."""
    x = np.asarray(model.get_dofs(), float)
    energy, f = model.energy_forces()  # an energy the model reports, not one minimised
    f = np.asarray(f, float)
    evaluations, history, best = 1, [], np.inf
    for step in range(max_steps + 1):
        fm = model.max_force(f)
        if on_step is not None:
            on_step(step, energy, fm)
        if fm <= fmax:
            return finished("preconditioned Anderson", True, step, evaluations, energy, fm,
                            fmax)
        if step == max_steps:
            break
        g = preconditioner.apply(f)
        history.append((x.copy(), g.copy()))
        if len(history) > memory + 1:
            history.pop(0)
        if fm > 10 * best:
            history = history[-1:]
        best = min(best, fm)
        step_x = g.copy()
        if len(history) > 1:
            dX = np.stack([b[0] - a[0] for a, b in zip(history[:-1], history[1:])], axis=1)
            dG = np.stack([b[1] - a[1] for a, b in zip(history[:-1], history[1:])], axis=1)
            gamma = np.linalg.lstsq(dG, g, rcond=None)[0]
            step_x = g - (dX + dG) @ gamma
        biggest = float(np.abs(step_x).max())
        if biggest > max_move:
            step_x *= max_move / biggest
        model.set_dofs(x + step_x)
        x = np.asarray(model.get_dofs(), float)
        energy, f = model.energy_forces()
        f = np.asarray(f, float)
        evaluations += 1
    return finished("preconditioned Anderson", False, max_steps, evaluations, energy,
                    model.max_force(f), fmax, note="step limit")


def _direction(f, pairs, precon) -> np.ndarray:
    """-H grad = H f by the two-loop recursion with H0 = P^-1 (or the scaled identity)."""
    q = f.copy()
    alphas = []
    for s, yv, rho in reversed(pairs):
        a = rho * float(s @ q)
        q -= a * yv
        alphas.append(a)
    if precon is not None:  # H0 = gamma P^-1, gamma = s.y / y.P^-1 y of the newest pair
        r = precon(q)
        if pairs:
            s, yv, _ = pairs[-1]
            r *= float(s @ yv) / float(yv @ precon(yv))
    elif pairs:
        s, yv, _ = pairs[-1]
        r = (float(s @ yv) / float(yv @ yv)) * q
    else:
        r = q / 70.0  # a typical metal's curvature, eV/Å^2, for the first step
    for (s, yv, rho), a in zip(pairs, reversed(alphas)):
        b = rho * float(yv @ r)
        r += (a - b) * s
    return r


__all__ = ["StiffnessPreconditioner", "precon_anderson", "precon_lbfgs"]
