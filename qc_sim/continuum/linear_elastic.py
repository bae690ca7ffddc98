"""Linear elasticity with the tensor of the Cauchy-Born material at F = I (the cheap far field).

    eps = sym(F - I),   W = 1/2 eps : C : eps,   P = C : eps   (small strain)
"""

from __future__ import annotations

import numpy as np


class LinearElastic:
    """``C`` (d, d, d, d) in eV/Å^3 (eV/Å^2 in 2D); build it from a potential with
    :meth:`from_cauchy_born`."""

    physics = "linear_elastic"  # the name a region of this material has (docs/design.md section 8)

    def __init__(self, C):
        self.C = np.asarray(C, float)
        self.dim = self.C.shape[0]

    @classmethod
    def from_cauchy_born(cls, cauchy_born) -> "LinearElastic":
        """The tangent of ``cauchy_born`` at F = I, symmetrised (minor and major symmetry)."""
        A = cauchy_born.tangent()
        C = 0.25 * (A + A.transpose(1, 0, 2, 3) + A.transpose(0, 1, 3, 2) + A.transpose(1, 0, 3, 2))
        return cls(0.5 * (C + C.transpose(2, 3, 0, 1)))

    @classmethod
    def isotropic(cls, lam: float, mu: float, dim: int = 3) -> "LinearElastic":
        i = np.eye(dim)
        C = (lam * np.einsum("ij,kl->ijkl", i, i)
             + mu * (np.einsum("ik,jl->ijkl", i, i) + np.einsum("il,jk->ijkl", i, i)))
        return cls(C)

    def energy_stress(self, F):
        F = np.asarray(F, float)
        grad = F - np.eye(self.dim)
        eps = 0.5 * (grad + np.swapaxes(grad, -1, -2))
        P = np.einsum("ijkl,...kl->...ij", self.C, eps)
        return 0.5 * np.einsum("...ij,...ij->...", eps, P), P

    def tangent(self, F=None):
        """dP/dF: C itself (with minor symmetry, dP/dF = C)."""
        if F is None:
            return self.C
        return np.broadcast_to(self.C, np.shape(F)[:-2] + self.C.shape)
