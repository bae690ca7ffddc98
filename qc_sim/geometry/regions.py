"""Regions of space, to cut atoms out of a crystal or tag them (fixed layers, a core, ...).

Every region answers ``region.contains(positions) -> bool (n,)``; regions combine with
``|`` (union), ``&`` (intersection), ``-`` (difference) and ``~`` (complement).
``tag(atoms, name, region)`` records a named mask, ``cut(atoms, region)`` removes the atoms
inside. Points on a surface count as inside, within ``1e-9`` Å, so lattice sites lying exactly
on a boundary do not depend on round-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.geometry.atoms import Atoms

EPS = 1e-9


class Region:
    def contains(self, positions) -> np.ndarray:
        raise NotImplementedError

    def __or__(self, other):
        return _Combined(self, other, np.logical_or)

    def __and__(self, other):
        return _Combined(self, other, np.logical_and)

    def __sub__(self, other):
        return _Combined(self, ~other, np.logical_and)

    def __invert__(self):
        return _Complement(self)


@dataclass(frozen=True)
class _Combined(Region):
    a: Region
    b: Region
    op: object

    def contains(self, positions):
        return self.op(self.a.contains(positions), self.b.contains(positions))


@dataclass(frozen=True)
class _Complement(Region):
    a: Region

    def contains(self, positions):
        return ~self.a.contains(positions)


@dataclass(frozen=True)
class Sphere(Region):
    """Points within ``radius`` Å of ``center``."""

    center: tuple
    radius: float

    def contains(self, positions):
        d = np.asarray(positions, float) - np.asarray(self.center, float)
        return np.einsum("ij,ij->i", d, d) <= (self.radius + EPS) ** 2


@dataclass(frozen=True)
class Block(Region):
    """The axis-aligned box ``lo <= x <= hi``; use ``-inf``/``inf`` for unbounded sides."""

    lo: tuple
    hi: tuple

    def contains(self, positions):
        x = np.asarray(positions, float)
        return np.all((x >= np.asarray(self.lo, float) - EPS)
                      & (x <= np.asarray(self.hi, float) + EPS), axis=1)


@dataclass(frozen=True)
class Cylinder(Region):
    """Points within ``radius`` Å of the line through ``point`` along ``axis`` (a vector),
    between ``lo`` and ``hi`` measured along the axis from ``point`` (default: infinite)."""

    point: tuple
    axis: tuple
    radius: float
    lo: float = -np.inf
    hi: float = np.inf

    def contains(self, positions):
        u = np.asarray(self.axis, float)
        u = u / np.linalg.norm(u)
        d = np.asarray(positions, float) - np.asarray(self.point, float)
        s = d @ u
        radial = d - s[:, None] * u
        return ((np.einsum("ij,ij->i", radial, radial) <= (self.radius + EPS) ** 2)
                & (s >= self.lo - EPS) & (s <= self.hi + EPS))


@dataclass(frozen=True)
class HalfSpace(Region):
    """Points on the side of the plane through ``point`` that ``normal`` points away from:
    ``(x - point) . normal <= 0``."""

    point: tuple
    normal: tuple

    def contains(self, positions):
        n = np.asarray(self.normal, float)
        n = n / np.linalg.norm(n)
        return (np.asarray(positions, float) - np.asarray(self.point, float)) @ n <= EPS


def tag(atoms: Atoms, name: str, region: Region) -> Atoms:
    """Record ``atoms.tags[name]`` = which atoms lie in ``region`` (returns ``atoms``)."""
    atoms.tags[name] = region.contains(atoms.positions)
    return atoms


def cut(atoms: Atoms, region: Region) -> Atoms:
    """A copy of ``atoms`` without those inside ``region`` (ids and tags kept)."""
    return atoms.select(~region.contains(atoms.positions))


def keep(atoms: Atoms, region: Region) -> Atoms:
    """A copy of ``atoms`` holding only those inside ``region``."""
    return atoms.select(region.contains(atoms.positions))
