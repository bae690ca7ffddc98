"""Coupled statics: relax a coupled model to a force tolerance, the far field's Taylor
elements checked against their strain after each converged solve.

:func:`relax` runs the preconditioned L-BFGS (:func:`~qc_sim.solvers.precon.precon_lbfgs`,
preconditioned by the mesh's assembled elastic stiffness) on bgfc and bqce, and on bqcf
(whose forces have no energy) the preconditioned fixed point with Anderson mixing
(:func:`~qc_sim.solvers.precon.precon_anderson`); an L-BFGS solve whose line search
stalls on an energy with jumps (an unshifted cut-off) is finished by FIRE, which only goes
downhill. Unpreconditioned: L-BFGS and FIRE. A Taylor element found strained beyond the
model's ``taylor_strain`` is handed to the full Cauchy-Born sum and the solve resumes from
where it stopped, until none is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from qc_sim.solvers import fire
from qc_sim.solvers.precon import precon_anderson, precon_lbfgs
from qc_sim.solvers.protocol import MinimizeResult


@dataclass
class RelaxResult:
    """The solve's :class:`MinimizeResult` (its evaluations and steps summed over the
    passes), the passes run, the Taylor elements handed over and the seconds spent
    building the preconditioner and solving."""

    result: MinimizeResult
    passes: int
    handed_over: int
    seconds: dict = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        return self.result.converged

    @property
    def energy(self) -> float:
        return self.result.energy


def relax(model, fmax: float = 1e-4, max_steps: int = 20_000, precondition: bool = True,
          on_step=None, max_passes: int = 20) -> RelaxResult:
    """Relax ``model`` (a :class:`~qc_sim.coupling.model.CoupledModel`) to ``fmax`` eV/Å.
    ``precondition`` False runs the same L-BFGS with the scaled identity (the comparison
    the benchmark prints beside it)."""
    t0 = time.perf_counter()
    precon = model.preconditioner() if precondition else None
    t1 = time.perf_counter()
    steps = evaluations = 0
    handed = model.update_taylor()  # the starting state's strained elements
    for passes in range(1, max_passes + 1):
        if model.method == "bqcf" and precon is not None:
            r = precon_anderson(model, precon, fmax=fmax, max_steps=max_steps,
                                on_step=on_step)
        elif model.method == "bqcf":
            r = fire(model, fmax=fmax, max_steps=max_steps, on_step=on_step)
        else:
            r = precon_lbfgs(model, precon, fmax=fmax, max_steps=max_steps, on_step=on_step)
            if not r.converged:
                # the line search found no way down (an energy with jumps): FIRE, which
                # needs forces only and keeps going downhill, finishes (a fixed point of the
                # forces could stop on a saddle: the small edge dipole has one 0.03 eV up)
                steps += r.steps
                evaluations += r.evaluations
                r = fire(model, fmax=fmax, max_steps=max_steps, on_step=on_step)
        steps += r.steps
        evaluations += r.evaluations
        switched = model.update_taylor() if r.converged else 0
        handed += switched
        if not switched:
            break
    message = (f"{r.message.split(' in ')[0]} in {steps} steps, {evaluations} evaluations"
               f" ({passes} pass{'es' if passes > 1 else ''}, {handed} Taylor elements handed "
               f"to the full sum): max force {r.max_force:.3g} eV/Å, energy {r.energy:.10g} eV")
    result = MinimizeResult(r.converged, steps, evaluations, r.energy, r.max_force, message)
    return RelaxResult(result, passes, handed,
                       {"preconditioner": t1 - t0, "solve": time.perf_counter() - t1})


__all__ = ["relax", "RelaxResult"]
