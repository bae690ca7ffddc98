"""Crystal lattices: the conventional cell of fcc, bcc, simple cubic and 2D triangular.

A :class:`Lattice` is a conventional cell (rows of ``cell``, Å) with fractional ``basis``
positions. :func:`oriented_cell` turns a cubic lattice into an orthogonal periodic cell whose
axes run along three given Miller directions, e.g. ``[[1,-1,0],[1,1,-2],[1,1,1]]`` for a
(111) slab with x along a close-packed row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from math import gcd

import numpy as np

_TOL = 1e-8


@dataclass(frozen=True)
class Lattice:
    """name, lattice constant ``a`` (Å), conventional cell rows (3, 3) Å, fractional basis
    (nb, 3), dimension 2 or 3. ``cubic`` lattices accept any orientation."""

    name: str
    a: float
    cell: np.ndarray
    basis: np.ndarray
    dimension: int = 3
    cubic: bool = True

    @property
    def atomic_volume(self) -> float:
        """Volume (area for 2D, per unit thickness) per lattice site, Å^3."""
        cell = self.cell[:2, :2] if self.dimension == 2 else self.cell
        return abs(float(np.linalg.det(cell))) / len(self.basis)

    @property
    def nearest_neighbor_distance(self) -> float:
        sites = positions_in_cells(self, np.array([[i, j, k] for i in (-1, 0, 1)
                                                   for j in (-1, 0, 1)
                                                   for k in ((-1, 0, 1) if self.dimension == 3
                                                             else (0,))]))
        r = np.linalg.norm(sites, axis=1)
        return float(r[r > _TOL].min())


def fcc(a: float) -> Lattice:
    """Face-centred cubic, 4 sites per cube of edge ``a`` Å."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    return Lattice("fcc", float(a), float(a) * np.eye(3), basis)


def bcc(a: float) -> Lattice:
    """Body-centred cubic, 2 sites per cube of edge ``a`` Å."""
    return Lattice("bcc", float(a), float(a) * np.eye(3), np.array([[0, 0, 0], [0.5, 0.5, 0.5]]))


def simple_cubic(a: float) -> Lattice:
    """Simple cubic, 1 site per cube of edge ``a`` Å."""
    return Lattice("sc", float(a), float(a) * np.eye(3), np.zeros((1, 3)))


def triangular(a: float) -> Lattice:
    """2D close-packed (hexagonal) lattice in the xy plane, nearest neighbours ``a`` Å apart,
    as an orthogonal cell a x a*sqrt(3) with 2 sites; x runs along a close-packed row."""
    a = float(a)
    cell = np.diag([a, a * np.sqrt(3.0), a])
    return Lattice("triangular", a, cell, np.array([[0, 0, 0], [0.5, 0.5, 0]]), dimension=2,
                   cubic=False)


def positions_in_cells(lattice: Lattice, cells: np.ndarray) -> np.ndarray:
    """Cartesian positions of every basis site of the conventional cells ``cells`` (m, 3)."""
    frac = (np.asarray(cells, float)[:, None, :] + lattice.basis[None, :, :]).reshape(-1, 3)
    return frac @ lattice.cell


def sites_in_box(lattice: Lattice, lo, hi, open_hi=None, within=None):
    """Every site of ``lattice`` (cube orientation) in the box [lo, hi] (dimension d):
    positions (n, d), conventional-cell indices (n, 3) and basis indices (n,), in the order
    of their cell indices (x slowest) and then basis index. Along axes flagged in ``open_hi``
    the box is [lo, hi) (a periodic axis: hi is lo's image). ``within`` (lo', hi') keeps only
    the sites of the box that also lie in [lo', hi'] (cells outside it are never made: the
    cost is that of the smaller box, in the same order)."""
    d = lattice.dimension
    lo, hi = np.asarray(lo, float)[:d], np.asarray(hi, float)[:d]
    cell = np.diag(lattice.cell)[:d]
    a, b = lo, hi
    if within is not None:
        a = np.maximum(lo, np.asarray(within[0], float)[:d])
        b = np.minimum(hi, np.asarray(within[1], float)[:d])
        if np.any(a > b + 1e-9):
            return np.zeros((0, d)), np.zeros((0, 3), int), np.zeros(0, int)
    n_lo = np.floor(a / cell).astype(int) - 1
    n_hi = np.ceil(b / cell).astype(int) + 1
    axes = [np.arange(p, q + 1) for p, q in zip(n_lo, n_hi)] + [np.zeros(1)] * (3 - d)
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    basis_index = np.tile(np.arange(len(lattice.basis)), len(cells))
    cell_index = np.repeat(cells, len(lattice.basis), axis=0)
    x = positions_in_cells(lattice, cells)[:, :d]
    inside = in_box(x, lo, hi, open_hi)
    if within is not None:
        inside &= np.all((x >= a - 1e-9) & (x <= b + 1e-9), axis=1)
    return x[inside], cell_index[inside], basis_index[inside]


def nearest_site(lattice: Lattice, point) -> np.ndarray:
    """The lattice site nearest ``point`` (d,) Å (searched within one cell of it)."""
    point = np.asarray(point, float)
    cell = np.diag(lattice.cell)[: len(point)]
    sites = sites_in_box(lattice, point - cell, point + cell)[0]
    return sites[np.argmin(np.linalg.norm(sites - point, axis=1))]


def in_box(x, lo, hi, open_hi=None) -> np.ndarray:
    """(n,) True where points ``x`` (n, d) lie in [lo, hi] (1e-9 Å tolerance), [lo, hi) along
    the axes flagged in ``open_hi``."""
    d = x.shape[1]
    open_hi = np.zeros(d, bool) if open_hi is None else np.asarray(open_hi, bool)[:d]
    below = np.where(open_hi, x < hi - 1e-9, x <= hi + 1e-9)
    return np.all((x >= lo - 1e-9) & below, axis=1)


def _reduced(direction) -> np.ndarray:
    d = np.asarray(direction)
    if d.shape != (3,) or not np.all(d == np.round(d)) or not np.any(d):
        raise ValueError(f"a Miller direction needs three integers, not all zero: {direction}")
    d = d.astype(np.int64)
    return d // reduce(gcd, (abs(int(v)) for v in d))


def period(lattice: Lattice, direction) -> float:
    """Shortest lattice translation along the Miller ``direction``, Å."""
    d = _reduced(direction)
    for twice in range(1, 9):
        frac = d * twice / 2.0
        offset = frac - np.floor(frac + _TOL)
        if np.any(np.all(np.abs(lattice.basis - offset) < _TOL, axis=1)):
            return float(np.linalg.norm(frac @ lattice.cell))
    raise ValueError(f"no lattice translation found along {direction}")


def oriented_cell(lattice: Lattice, orientation=None) -> tuple[np.ndarray, np.ndarray]:
    """An orthogonal periodic cell of ``lattice`` with x, y, z along the three Miller
    directions of ``orientation`` (default: the cube axes; a 2D lattice takes only that).

    Returns (positions (m, 3) Å inside ``[0, L)``, sorted by z, y, x; lengths L (3,) Å).
    """
    if orientation is None or (not lattice.cubic and _is_identity(orientation)):
        return _sorted(positions_in_cells(lattice, np.zeros((1, 3))), np.diag(lattice.cell))
    if not lattice.cubic:
        raise ValueError(f"the {lattice.name} lattice has a fixed orientation; "
                         "give no orientation")
    dirs = np.array([_reduced(d) for d in orientation])
    if dirs.shape != (3, 3):
        raise ValueError("an orientation is three Miller directions, for x, y and z")
    for i, j in ((0, 1), (0, 2), (1, 2)):
        if dirs[i] @ dirs[j] != 0:
            raise ValueError(f"orientation directions {dirs[i].tolist()} and {dirs[j].tolist()} "
                             "are not orthogonal")
    if np.linalg.det(dirs) < 0:
        raise ValueError(f"orientation {dirs.tolist()} is left-handed; reverse one direction")
    rot = dirs / np.linalg.norm(dirs, axis=1)[:, None]
    lengths = np.array([period(lattice, d) for d in dirs])
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) * lengths
    frac = corners @ rot @ np.linalg.inv(lattice.cell)
    lo = np.floor(frac.min(axis=0)) - 1
    hi = np.ceil(frac.max(axis=0)) + 1
    grid = np.stack(np.meshgrid(*(np.arange(l, h + 1) for l, h in zip(lo, hi)), indexing="ij"),
                    axis=-1).reshape(-1, 3)
    x = positions_in_cells(lattice, grid) @ rot.T
    tol = _TOL * lattice.a
    inside = np.all((x > -tol) & (x < lengths - tol), axis=1)
    x = np.where(np.abs(x[inside]) < tol, 0.0, x[inside])
    expected = np.prod(lengths) / lattice.atomic_volume
    if len(x) != int(round(expected)):
        raise AssertionError(f"oriented cell holds {len(x)} sites, expected {expected:.3f}")
    return _sorted(x, lengths)


def oriented_lattice(lattice: Lattice, orientation) -> Lattice:
    """``lattice`` as an orthogonal cell with x, y, z along the Miller directions of
    ``orientation`` (:func:`oriented_cell`): the same crystal, a cell that sites_in_box,
    meshes and Cauchy-Born take as they take the cube."""
    sites, lengths = oriented_cell(lattice, orientation)
    return Lattice(lattice.name, lattice.a, np.diag(lengths), sites / lengths,
                   lattice.dimension, cubic=False)


def _is_identity(orientation) -> bool:
    try:
        return np.array_equal(np.asarray(orientation, dtype=float), np.eye(3))
    except ValueError:  # ragged
        return False


def _sorted(x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    key = np.round(x / 1e-6).astype(np.int64)
    order = np.lexsort((key[:, 0], key[:, 1], key[:, 2]))
    return np.ascontiguousarray(x[order]), np.asarray(lengths, float)
