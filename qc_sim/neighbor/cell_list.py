"""Full neighbour lists with a skin, rebuilt only when an atom has moved more than half of it.

The list is ``neighbors`` (n, capacity) int32 atom indices and ``images`` (n, capacity) int32
periodic image codes (:mod:`qc_sim.neighbor.images`), valid up to ``counts`` (n,) per row.
Each pair appears from both atoms (a full list) and each row is sorted by (global id of the
neighbour, image code), so sums over a row do not depend on atom order or partition.
The same list comes out of every backend: compiled kernels (``kernels/neighbor.cu``) on the
CPU and GPU, vectorised NumPy on the reference backend.

Positions are never wrapped: the list works on a wrapped copy and stores images relative to
the raw positions, so forces, and hence trajectories, do not depend on when lists were built.

Upper rows (``half=True``): the compiled CPU backend on one OpenMP thread keeps, per atom, only
the partners of higher global id, and its kernels walk the rows in id order adding each bond to
both atoms. Every atom then receives its bonds in the order of its full row with the same
terms, so the results are bitwise the full-row ones with half the pair work (LAMMPS's half
lists, made order-exact). The plan we started from spoke of full lists only; this is the one place
where the code goes further, and it keeps that plan's promise (the same bits on any split).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qc_sim.backend import Device
from qc_sim.geometry.box import Box
from qc_sim.neighbor import images as image_codes
from qc_sim.neighbor.bins import BinGrid, bin_atoms, make_grid


@dataclass
class HalfRows:
    """Marks a list of upper rows (each atom's partners of higher global id, in id order) for
    the one-thread CPU kernels: ``order`` (n,) the atoms in global-id order, ``owned`` the atoms
    whose results are wanted (the others are a rank's ghosts, which then have rows too: a ghost
    of lower id carries its bonds with owned atoms). The full-row kernels cannot use it."""

    order: object
    owned: int


@dataclass
class NeighborList:
    """A built list (arrays on the device) and what it was built for."""

    neighbors: object
    images: object
    counts: object
    cutoff: float
    skin: float
    reference_positions: object
    builds: int = 1
    half: HalfRows | None = None

    @property
    def capacity(self) -> int:
        return int(self.neighbors.shape[1])

    @property
    def rows(self) -> int:
        """The atoms whose forces the list serves (the first ones; a rank's owned atoms)."""
        return self.half.owned if self.half is not None else int(self.counts.shape[0])


class ListStorage:
    """The memory of a system's lists, kept from one build to the next (as LAMMPS keeps its
    pages): a build writes its rows into views of the same arrays while they fit (rows with
    some slack for a rank whose atom count changes at an exchange, the same capacity), instead
    of memory the operating system must hand out and clear again, which on a virtual machine
    made a build right after an exchange twice as slow. A list built into it is valid until
    the next build into it. ``capacity`` is the row length the last build needed (None before
    the first), the next build's starting guess."""

    def __init__(self):
        self.neighbors = self.images = None
        self.capacity = None

    def take(self, xp, rows: int, cap: int):
        a = self.neighbors
        if a is None or a.shape[1] != cap or a.shape[0] < rows:
            spare = rows + rows // 10 + 16
            self.neighbors = xp.empty((spare, cap), dtype=xp.int32)
            self.images = xp.empty((spare, cap), dtype=xp.int32)
        return self.neighbors[:rows], self.images[:rows]


def single_image(box: Box, reach: float) -> bool:
    """Whether no pair can be within ``reach`` through two periodic images (or an atom of
    itself): every periodic length exceeds twice the reach. Half rows need it."""
    return all(not per or length > 2.0 * reach for per, length in zip(box.periodic, box.lengths))


def initial_capacity(n: int, box: Box, lo, hi, reach: float, half: bool = False) -> int:
    """A capacity guess from the number density of the atoms' extent (a rank's atoms fill
    only part of a periodic box; grown later if a row overflows); upper rows (``half``) hold
    half the partners. Every row of the capacity is memory the first build must touch (on a
    virtual machine, fresh pages cost more than the build itself)."""
    ext = [max(hi[a] - lo[a], reach) for a in range(3)]
    ext = [min(e, box.lengths[a]) if box.periodic[a] else e for a, e in enumerate(ext)]
    density = n / max(float(np.prod(ext)), 1e-30)
    return int(1.3 * (0.5 if half else 1.0) * 4.0 / 3.0 * math.pi * reach**3 * density) + 16


def wrap_positions(xp, positions, box: Box):
    """Positions folded into the box along periodic axes, and the box lengths removed (n, 3)
    int32 (array-module agnostic)."""
    lo = xp.asarray(box.lo)
    L = xp.asarray(box.lengths)
    per = xp.asarray(np.array(box.periodic, dtype=float))
    wrap = (xp.floor((positions - lo) / L) * per).astype(xp.int32)
    wrapped = positions - wrap * L
    # round-off can leave a coordinate at exactly hi: fold it once more
    over = (wrapped >= lo + L) & (per > 0)
    wrap = wrap + over.astype(xp.int32)
    return xp.ascontiguousarray(positions - wrap * L), xp.ascontiguousarray(wrap)


def build(device: Device, positions, ids, box: Box, cutoff: float, skin: float,
          capacity: int | None = None, rows: int | None = None,
          half: bool = False, storage: ListStorage | None = None) -> NeighborList:
    """Build the full list of pairs closer than ``cutoff + skin`` (raw positions, Å); with
    ``rows``, only the rows of the first ``rows`` atoms (a rank's owned atoms: its ghosts are
    neighbours but need no rows of their own). With ``half`` (compiled CPU backend, and
    :func:`single_image`), every atom gets an upper row (its partners of higher global id) and
    the list carries :class:`HalfRows` for the one-thread kernels; ``rows`` then only says
    whose results are wanted. With ``storage`` (:class:`ListStorage`), the rows go into its
    arrays, and ``capacity`` defaults to the one its last list needed."""
    owned = len(positions) if rows is None else int(rows)
    if half:
        rows = None
    xp = device.xp
    reach = cutoff + skin
    wrapped, wrap = wrap_positions(xp, positions, box)
    lo = device.to_host(wrapped.min(axis=0)) if len(positions) else np.zeros(3)
    hi = device.to_host(wrapped.max(axis=0)) if len(positions) else np.zeros(3)
    grid = make_grid(box, lo, hi, reach)
    coord, order, start = bin_atoms(xp, wrapped, grid)
    if capacity is None and storage is not None:
        capacity = storage.capacity
    if capacity is None:
        capacity = initial_capacity(len(positions), box, lo, hi, reach, half)
    builder = _build_compiled if device.compiled else _build_numpy
    rows = len(positions) if rows is None else int(rows)
    while True:
        nbr, img, cnt, inv = builder(device, wrapped, wrap, ids, box, grid, coord, order, start,
                                     reach, capacity, rows, half, owned, storage)
        longest = int(cnt.max()) if len(cnt) else 0
        if longest <= capacity:
            if storage is not None:
                storage.capacity = capacity
            halves = HalfRows(xp.ascontiguousarray(inv), owned) if half else None
            return NeighborList(nbr, img, cnt, cutoff, skin, positions.copy(), half=halves)
        capacity = int(longest * 1.2) + 8


def needs_rebuild(device: Device, nlist: NeighborList, positions) -> bool:
    """True once any atom has moved more than half the skin since the list was built."""
    n = positions.shape[0]
    if n == 0:
        return False
    if device.compiled:
        d2 = device.xp.empty(n)
        device.kernels("integrate").displacement_sq(n, positions, nlist.reference_positions, d2)
        d2 = d2.max()
    else:
        d2 = ((positions - nlist.reference_positions) ** 2).sum(axis=1).max()
    return bool(d2 > (0.5 * nlist.skin) ** 2)


def id_ranks(xp, ids):
    """rank (n,) int32: where each atom's global id falls among all ids; inv: its inverse.
    Ids that increase with the index (the common case) give the identity at no sorting cost."""
    n = ids.shape[0]
    if n < 2 or bool((ids[1:] > ids[:-1]).all()):
        identity = xp.arange(n, dtype=xp.int32)
        return identity, identity
    inv = xp.argsort(ids, kind="stable").astype(xp.int32)
    rank = xp.empty(n, dtype=xp.int32)
    rank[inv] = xp.arange(n, dtype=xp.int32)
    return rank, inv


def _build_compiled(device, positions, wrap, ids, box, grid: BinGrid, coord, order, start, reach,
                    cap, rows, upper=False, owned=None, storage=None):
    xp = device.xp
    n = positions.shape[0]
    # entries past counts[i] are never read
    nbr, img = (storage or ListStorage()).take(xp, rows, cap)
    cnt = xp.empty(rows, dtype=xp.int32)
    k = device.kernels("neighbor")
    binned = xp.ascontiguousarray(positions[order].T)  # (3, n): coordinate by coordinate
    slot = xp.empty(n, dtype=xp.int32)
    slot[order] = xp.arange(n, dtype=xp.int32)
    rank, inv = id_ranks(xp, ids)
    rank_b = xp.ascontiguousarray(rank[order])
    bin_top = _bin_tops(xp, rank_b, start) if upper else xp.full(1, -1, dtype=xp.int32)
    owned = n if owned is None else int(owned)
    owned_b = (xp.ascontiguousarray(order < owned, dtype=xp.int32) if upper and owned < n
               else xp.ones(1, dtype=xp.int32))  # read only for a ghost's row
    k.build_full_list(rows, n, positions, wrap, rank, inv, binned, coord, order, slot, start, device.asarray(grid.as_ints()),
                      device.asarray(box.lengths), device.asarray(grid.origin),
                      device.asarray(grid.width), reach * reach, cap,
                      int(upper), rank_b, bin_top, owned, owned_b, nbr, img, cnt)
    return nbr, img, cnt, inv


def _bin_tops(xp, rank_b, start):
    """The highest rank in each bin (-1 for an empty one): rank_b in bin order, start the
    (nbins + 1,) offsets."""
    top = xp.full(start.shape[0] - 1, -1, dtype=xp.int32)
    full = xp.nonzero(start[1:] > start[:-1])[0]
    if full.size:
        top[full] = xp.maximum.reduceat(rank_b, start[full])
    return top


def _candidate_pairs(grid: BinGrid, coord, order, start, offset):
    """(i, j, shift) for every atom i and every atom j in the bin at ``offset`` from i's bin."""
    target = coord + np.asarray(offset)
    shape = np.asarray(grid.shape)
    shift = np.zeros_like(target)
    keep = np.ones(len(coord), bool)
    for a in range(3):
        if grid.periodic[a]:
            shift[:, a] = np.floor_divide(target[:, a], shape[a])
            target[:, a] -= shift[:, a] * shape[a]
        else:
            keep &= (target[:, a] >= 0) & (target[:, a] < shape[a])
    i = np.nonzero(keep)[0]
    flat = (target[i, 2] * shape[1] + target[i, 1]) * shape[0] + target[i, 0]
    first, count = start[flat], start[flat + 1] - start[flat]
    rep_i = np.repeat(i, count)
    within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return rep_i, order[np.repeat(first, count) + within], np.repeat(shift[i], count, axis=0)


def _build_numpy(device, positions, wrap, ids, box, grid: BinGrid, coord, order, start, reach,
                 cap, rows, upper=False, owned=None, storage=None):
    if upper:
        raise ValueError("upper (half) rows are built by the compiled CPU kernels only")
    L = box.lengths
    parts = []
    ks = grid.reach_bins
    for oz in range(-ks[2], ks[2] + 1):
        for oy in range(-ks[1], ks[1] + 1):
            for ox in range(-ks[0], ks[0] + 1):
                if grid.stencil_gap_sq((ox, oy, oz)) >= reach * reach:
                    continue
                i, j, s = _candidate_pairs(grid, coord, order, start, (ox, oy, oz))
                d = positions[j] + s * L - positions[i]
                keep = (((d * d).sum(axis=1) < reach * reach) & ~((i == j) & ~s.any(axis=1))
                        & (i < rows))
                parts.append((i[keep], j[keep], s[keep]))
    i, j, s = (np.concatenate(p) for p in zip(*parts))
    code = image_codes.encode(s + wrap[i] - wrap[j])
    sort = np.lexsort((code, ids[j], i))
    i, j, code = i[sort], j[sort], code[sort]
    cnt = np.bincount(i, minlength=rows).astype(np.int32)
    nbr = np.full((rows, max(cap, 1)), -1, np.int32)
    img = np.full((rows, max(cap, 1)), image_codes.ZERO, np.int32)
    if cnt.size and cnt.max() <= cap:
        slot = np.arange(len(i)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        nbr[i, slot], img[i, slot] = j, code
    return nbr, img, cnt, None
