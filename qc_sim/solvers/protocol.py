"""The protocol every solver consumes.

A model exposes its degrees of freedom as one flat vector ``y`` (m,) of the model's array
module ``xp`` (NumPy or CuPy), the energy (eV) and the forces ``-dE/dy`` (m,) at the current
``y``, with fixed degrees of freedom carrying zero force. ``max_force(f)`` is the convergence
measure in eV/Å, the model's own: the largest atomic force-vector norm for atoms.

A model whose degrees of freedom are split over MPI ranks also gives its own reductions,
``dot(a, b)`` and ``largest(a)`` (max |a_i|), global and exact so that no partition changes
a result (:class:`~qc_sim.atomistic.domain_model.DomainModel`); the solvers reach them
through :func:`dot` and :func:`largest`, which fall back to the array module's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Minimizable(Protocol):
    xp: object

    def get_dofs(self):
        """A copy of the current degrees of freedom, (m,)."""

    def set_dofs(self, y) -> None:
        """Move the model to ``y`` (m,)."""

    def energy_forces(self) -> tuple[float, object]:
        """Energy (eV) and forces -dE/dy (m,) at the current degrees of freedom; zero on
        fixed ones."""

    def max_force(self, forces) -> float:
        """The convergence measure of ``forces`` (eV/Å)."""


def dot(model, a, b) -> float:
    """a . b for ``model``'s degrees of freedom: its own reduction when it has one."""
    own = getattr(model, "dot", None)
    return float(own(a, b)) if own is not None else float(model.xp.vdot(a, b))


def dots(model, rows, b) -> list[float]:
    """[r . b for r in rows]: the model's own batched reduction when it has one (one
    collective for all of them on ranks), else its ``dot``, else the array module's."""
    own = getattr(model, "dots", None)
    if own is not None:
        return [float(v) for v in own(rows, b)]
    if getattr(model, "dot", None) is not None:
        return [dot(model, r, b) for r in rows]
    return [float(model.xp.vdot(r, b)) for r in rows]


def largest(model, a) -> float:
    """max |a_i| over ``model``'s degrees of freedom (0 for none): its own when it has one."""
    own = getattr(model, "largest", None)
    if own is not None:
        return float(own(a))
    return float(model.xp.abs(a).max()) if a.size else 0.0


@dataclass(frozen=True)
class MinimizeResult:
    """What a minimisation did: ``converged`` when ``max_force <= fmax``; ``steps``
    iterations, ``evaluations`` energy/force calls; ``energy`` (eV) and ``max_force`` (eV/Å)
    at the returned state (the model is left there); ``message`` a one-line account."""

    converged: bool
    steps: int
    evaluations: int
    energy: float
    max_force: float
    message: str

    def check(self) -> "MinimizeResult":
        """The result itself, or :class:`NotConverged` carrying it."""
        if not self.converged:
            raise NotConverged(self)
        return self


def finished(solver: str, converged: bool, steps: int, evaluations: int, energy: float,
             max_force: float, fmax: float, note: str = "") -> MinimizeResult:
    """The result of a minimiser run, with its one-line account."""
    if converged:
        message = (f"{solver} converged in {steps} steps: max force {max_force:.3g} eV/Å "
                   f"<= {fmax:g}, energy {energy:.10g} eV")
    else:
        message = (f"{solver} did not converge in {steps} steps: max force {max_force:.3g} "
                   f"eV/Å > {fmax:g}" + (f" ({note})" if note else ""))
    return MinimizeResult(converged, steps, evaluations, energy, max_force, message)


class NotConverged(RuntimeError):
    """A minimisation stopped at its step limit above the force tolerance."""

    def __init__(self, result: MinimizeResult):
        super().__init__(result.message)
        self.result = result
