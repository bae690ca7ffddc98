"""Finite volumes in r for a radially symmetric sphere: N spherical shells, exact shell
volumes and face areas, one unknown per shell (at its mid-radius).

    V_i dc_i/dt = sum over the shell's faces of the inward flow,
    flow between shells i and i + 1:  D A_{i+1/2} (c_{i+1} - c_i) / (r_{i+1} - r_i),
    A = 4 pi r^2 (zero at the centre), V_i = 4 pi (r_{i+1/2}^3 - r_{i-1/2}^3) / 3.

At the surface the outer half shell and the reaction act as resistances in series:
inward flow G (c_eq - c_N) with 1/G = ((a - r_N)/D + 1/alpha) / A(a) (reaction, Robin),
G = D A(a) / (a - r_N) for the local-equilibrium constraint c(a) = c_eq (alpha -> inf), and
a given flow A(a) j for a prescribed flux. The system reads M dc/dt = -K c + b with
M = diag(V), K symmetric positive (semi)definite and tridiagonal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Operators:
    """M dc/dt = -K c + b on the free unknowns; ``fixed`` (index array) hold
    ``fixed_values`` (the local-equilibrium constraint on a mesh; empty otherwise)."""

    K: sp.csr_matrix
    b: np.ndarray
    fixed: np.ndarray
    fixed_values: float


class RadialGrid:
    """``n_cells`` shells of equal thickness a / n_cells over 0 <= r <= ``radius`` (Å)."""

    def __init__(self, radius: float, n_cells: int):
        self.radius = float(radius)
        self.faces = np.linspace(0.0, self.radius, n_cells + 1)  # (N + 1,) Å
        self.faces[-1] = self.radius
        self.centres = 0.5 * (self.faces[1:] + self.faces[:-1])  # (N,) Å
        self.face_areas = 4.0 * math.pi * self.faces**2  # (N + 1,) Å^2
        self.masses = 4.0 * math.pi / 3.0 * np.diff(self.faces**3)  # shell volumes (N,) Å^3
        self.mass = sp.diags(self.masses).tocsr()
        self.volume = 4.0 * math.pi / 3.0 * self.radius**3
        self.area = self.face_areas[-1]
        self.n = n_cells

    def _surface_conductance(self, D, alpha, model):
        """G (Å^3/ps): the inward flow per unit of c_eq - c_N."""
        half = self.radius - self.centres[-1]
        if model == "reduced":
            return D * self.area / half
        if model == "full":
            return self.area / (half / D + (math.inf if alpha == 0 else 1.0 / alpha))
        return 0.0

    def operators(self, D: float, alpha: float, model: str, c_eq: float, flux: float):
        """K (Å^3/ps) and b (concentration x Å^3/ps) for diffusivity D (Å^2/ps), reaction
        rate constant alpha (Å/ps), ``model`` in full | reduced | galvanostatic, inward flux
        j = D dc/dr at r = a (concentration x Å/ps)."""
        g = D * self.face_areas[1:-1] / np.diff(self.centres)  # inner face conductances
        G = self._surface_conductance(D, alpha, model)
        diag = np.zeros(self.n)
        diag[:-1] += g
        diag[1:] += g
        diag[-1] += G
        K = sp.diags([-g, diag, -g], [-1, 0, 1], format="csr")
        b = np.zeros(self.n)
        b[-1] = G * c_eq if model != "galvanostatic" else self.area * flux
        return Operators(K, b, np.zeros(0, np.int64), c_eq)

    def surface_concentration(self, c, D, alpha, model, c_eq, flux) -> float:
        """c(a) from the outer shell's value and the surface flow (second order)."""
        half = self.radius - self.centres[-1]
        if model == "reduced":
            return float(c_eq)
        if model == "galvanostatic":
            return float(c[-1] + flux * half / D)
        q = self._surface_conductance(D, alpha, model) * (c_eq - c[-1]) / self.area
        return float(c[-1] + q * half / D)

    def inward_flow(self, c, ops: Operators) -> float:
        """Content per ps entering through the surface (the interior flows cancel)."""
        return float(np.sum(ops.b - ops.K @ c))

    def entity_costs(self) -> np.ndarray:
        """One per shell (a tridiagonal row each)."""
        return np.ones(self.n)

    def entity_positions(self) -> np.ndarray:
        """(N, 1) the shells' mid-radii."""
        return self.centres[:, None].copy()
