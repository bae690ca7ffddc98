"""Orthogonal simulation boxes with per-axis periodicity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """An orthogonal box ``[lo, hi)`` in Å, periodic or open along each axis.

    Along an open axis ``lo``/``hi`` only bound where atoms were placed; atoms may leave it.
    """

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    periodic: tuple[bool, bool, bool] = (True, True, True)

    def __post_init__(self):
        lo = tuple(float(v) for v in self.lo)
        hi = tuple(float(v) for v in self.hi)
        per = tuple(bool(p) for p in self.periodic)
        if len(lo) != 3 or len(hi) != 3 or len(per) != 3:
            raise ValueError("a box needs three lo, hi and periodic values")
        if any(h <= l for l, h in zip(lo, hi)):
            raise ValueError(f"box hi {hi} must exceed lo {lo} on every axis")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "periodic", per)

    @property
    def lengths(self) -> np.ndarray:
        """Edge lengths, shape (3,), Å."""
        return np.asarray(self.hi) - np.asarray(self.lo)

    @property
    def volume(self) -> float:
        """Volume in Å^3 (for open axes: of the bounding box as given)."""
        return float(np.prod(self.lengths))

    def wrap(self, positions: np.ndarray) -> np.ndarray:
        """Positions mapped into ``[lo, hi)`` along the periodic axes (array module agnostic)."""
        lo = np.asarray(self.lo)
        L = self.lengths
        out = positions.copy()
        for axis in range(3):
            if self.periodic[axis]:
                out[:, axis] = lo[axis] + (positions[:, axis] - lo[axis]) % L[axis]
        return out

    def minimum_image(self, delta: np.ndarray) -> np.ndarray:
        """Displacements (..., 3) folded to the nearest periodic image."""
        L = self.lengths
        out = np.array(delta, dtype=float, copy=True)
        for axis in range(3):
            if self.periodic[axis]:
                out[..., axis] -= L[axis] * np.round(out[..., axis] / L[axis])
        return out

    def scaled(self, factors) -> "Box":
        """The box stretched about ``lo`` by ``factors`` (3,) along each axis."""
        lo = np.asarray(self.lo)
        return Box(tuple(lo), tuple(lo + self.lengths * np.asarray(factors, float)), self.periodic)
