"""A model with some degrees of freedom held: their forces are zeroed, so every solver
leaves them where they are (e.g. atoms that may relax only normal to a fault plane)."""

from __future__ import annotations


class Masked:
    """``model`` with only the degrees of freedom where ``mask`` (m,) is true left free."""

    def __init__(self, model, mask):
        self.model = model
        self.xp = model.xp
        self.weights = model.xp.asarray(mask, dtype=float)

    def get_dofs(self):
        return self.model.get_dofs()

    def set_dofs(self, y) -> None:
        current = self.model.get_dofs()
        self.model.set_dofs(current + (y - current) * self.weights)

    def energy_forces(self):
        energy, f = self.model.energy_forces()
        return energy, f * self.weights

    def max_force(self, forces) -> float:
        return self.model.max_force(forces)
