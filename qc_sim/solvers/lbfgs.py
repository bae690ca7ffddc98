"""L-BFGS through SciPy's L-BFGS-B (Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16 (1995)
1190) on any :class:`~qc_sim.solvers.protocol.Minimizable`.

SciPy stops when every gradient component is at most ``gtol``; we ask for
``fmax / sqrt(3)`` per component (so every atomic force norm is at most ``fmax``) and judge
convergence by the model's own ``max_force``. The vectors cross to the host for SciPy.
"""

from __future__ import annotations

import math

import numpy as np

from qc_sim.solvers.protocol import MinimizeResult, finished


def lbfgs(model, fmax: float = 1e-3, max_steps: int = 10_000, memory: int = 20,
          on_step=None) -> MinimizeResult:
    from scipy.optimize import minimize

    if not getattr(model, "conservative", True):
        raise ValueError("L-BFGS needs forces that are the gradient of the energy; this model's "
                         "are not (e.g. a non-hydrostatic target stress): use FIRE")
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
