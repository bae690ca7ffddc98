"""Newton-Krylov statics for models that also give their tangent stiffness.

Each step solves ``K du = f`` on the free degrees of freedom with conjugate gradients
preconditioned by smoothed-aggregation algebraic multigrid (pyamg), falling back to MINRES
when K is not positive definite, then backtracks on the energy (Armijo). The model adds two
methods to the solver protocol: ``tangent_matrix()`` (scipy.sparse, d(-f)/dy) and
``free_mask()``.
"""

from __future__ import annotations

import numpy as np

from qc_sim.solvers.protocol import MinimizeResult, finished


def _linear_solve(K, rhs, rtol):
    from qc_sim.solvers.amg import smoothed_aggregation
    from scipy.sparse.linalg import cg, minres

    ml = smoothed_aggregation(K.tocsr(), max_coarse=200)
    x, info = cg(K, rhs, rtol=rtol, maxiter=2000, M=ml.aspreconditioner())
    if info != 0 or float(x @ rhs) <= 0.0:
        x, info = minres(K, rhs, rtol=rtol, maxiter=5000)
    return x


def newton_krylov(model, fmax: float = 1e-6, max_steps: int = 50, rtol: float = 1e-10,
                  on_step=None) -> MinimizeResult:
    """Minimise ``model`` by Newton's method with Krylov linear solves."""
    y = np.asarray(model.get_dofs(), float)
    free = np.asarray(model.free_mask(), bool)
    energy, f = model.energy_forces()
    evaluations = 1
    for step in range(max_steps + 1):
        fm = model.max_force(f)
        if on_step is not None:
            on_step(step, energy, fm)
        if fm <= fmax:
            return finished("Newton-Krylov", True, step, evaluations, energy, fm, fmax)
        if step == max_steps:
            break
        K = model.tangent_matrix()[free][:, free]
        rhs = np.asarray(f, float)[free]
        du = _linear_solve(K, rhs, rtol)
        slope = -float(rhs @ du)  # dE along du
        alpha = 1.0
        while True:
            trial = y.copy()
            trial[free] += alpha * du
            model.set_dofs(trial)
            e_try, f_try = model.energy_forces()
            evaluations += 1
            if e_try <= energy + 1e-4 * alpha * slope or alpha < 1e-6:
                break
            alpha *= 0.5
        y, energy, f = trial, e_try, f_try
    return finished("Newton-Krylov", False, max_steps, evaluations, energy, fm, fmax)
