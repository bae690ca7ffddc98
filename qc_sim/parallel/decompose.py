"""Cost-weighted recursive coordinate bisection (RCB) of a domain over ranks (docs/design.md
section 7).

The entities of a run (atoms, nodes, elements, handshake entities) are points with a cost
each, measured per kernel (an atom costs far more than a coarse node, and a coupled model's
atoms sit in one corner, so counting points would not balance the work). RCB splits the
box along its longest axis at the cost-weighted quantile that gives each side its share of
the ranks (n_left = n // 2, so any rank count works, not only powers of two), then recurses.
Each rank owns a box; the boxes tile the domain. The cut positions depend only on the
points and their costs (ties broken by a stable sort on position then input order), so the
same model gives the same partition on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Partition:
    """``owner`` (n,) rank of each point; ``lo``, ``hi`` (ranks, d) the box of each rank."""

    owner: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def costs(self, cost) -> np.ndarray:
        """The summed cost per rank."""
        return np.bincount(self.owner, weights=np.asarray(cost, float),
                           minlength=len(self.lo))

    def imbalance(self, cost) -> float:
        """Max over mean of the per-rank cost (1 is perfect)."""
        c = self.costs(cost)
        return float(c.max() / c.mean())

    def thinnest(self) -> float:
        """The smallest extent of any rank's box along any axis (Å)."""
        return float((self.hi - self.lo).min())


def rcb(points, cost, ranks: int, lo, hi) -> Partition:
    """Partition ``points`` (n, d) with ``cost`` (n,) >= 0 over ``ranks`` boxes inside the
    domain box [lo, hi]."""
    points = np.asarray(points, float)
    cost = np.asarray(cost, float)
    n, d = points.shape
    if ranks < 1:
        raise ValueError(f"ranks must be >= 1, got {ranks}")
    if cost.shape != (n,) or np.any(cost < 0) or not np.all(np.isfinite(cost)):
        raise ValueError("cost needs one finite value >= 0 per point")
    owner = np.zeros(n, np.int64)
    boxes_lo = np.zeros((ranks, d))
    boxes_hi = np.zeros((ranks, d))

    def split(index, first, count, box_lo, box_hi):
        if count == 1:
            owner[index] = first
            boxes_lo[first], boxes_hi[first] = box_lo, box_hi
            return
        axis = int(np.argmax(box_hi - box_lo))
        left = count // 2
        x = points[index, axis]
        order = np.lexsort((index, x))  # by position, ties by input order
        c = np.cumsum(cost[index][order])
        total = c[-1] if len(c) else 0.0
        target = total * left / count
        # the first point whose running cost reaches the target goes left; cut halfway to
        # the next point so that no point sits on a cut
        k = int(np.searchsorted(c, target, side="left")) + 1 if total > 0 else \
            (len(order) * left) // count
        k = min(max(k, 0), len(order))
        xs = x[order]
        if 0 < k < len(xs):
            cut = 0.5 * (xs[k - 1] + xs[k])
        elif k == 0:
            cut = box_lo[axis] + (box_hi[axis] - box_lo[axis]) * left / count
        else:
            cut = box_hi[axis] - (box_hi[axis] - box_lo[axis]) * (count - left) / count
            cut = max(cut, xs[-1]) if len(xs) else cut
        goes_left = x < cut
        hi_left, lo_right = box_hi.copy(), box_lo.copy()
        hi_left[axis] = lo_right[axis] = cut
        split(index[goes_left], first, left, box_lo, hi_left)
        split(index[~goes_left], first + left, count - left, lo_right, box_hi)

    split(np.arange(n), 0, ranks, np.asarray(lo, float).copy(), np.asarray(hi, float).copy())
    return Partition(owner, boxes_lo, boxes_hi)


def near_box(positions, box, lo, hi, reach: float) -> np.ndarray:
    """(n,) bool: the points within ``reach`` of the box [lo, hi) (Euclidean distance to
    the box, minimum image along the periodic axes of ``box``)."""
    x = np.asarray(positions, float)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    L = np.asarray(box.lengths, float)
    gap = np.zeros_like(x)
    for a in range(x.shape[1]):
        shifts = (-1, 0, 1) if box.periodic[a] else (0,)
        best = np.full(len(x), np.inf)
        for s in shifts:
            xs = x[:, a] + s * L[a]
            best = np.minimum(best, np.maximum(np.maximum(lo[a] - xs, xs - hi[a]), 0.0))
        gap[:, a] = best
    return np.sqrt((gap**2).sum(axis=1)) <= reach


def box_gap(box, lo_a, hi_a, lo_b, hi_b) -> float:
    """Distance (Å) between the boxes [lo_a, hi_a] and [lo_b, hi_b], minimum image along the
    periodic axes of ``box``."""
    L = np.asarray(box.lengths, float)
    gap = np.zeros(3)
    for a in range(3):
        best = np.inf
        for s in ((-1, 0, 1) if box.periodic[a] else (0,)):
            best = min(best, max(lo_b[a] + s * L[a] - hi_a[a], lo_a[a] - hi_b[a] - s * L[a],
                                 0.0))
        gap[a] = best
    return float(np.sqrt((gap**2).sum()))


def neighbour_ranks(box, bounds, reach: float, rank: int) -> list[int]:
    """The ranks whose boxes (``bounds[r] = (lo, hi)``; empty when any lo > hi) come within
    ``reach`` Å of ``rank``'s: the same symmetric relation on every rank (each pair measured
    once, lower rank first), as a point-to-point exchange needs."""
    mine = bounds[rank]
    if np.any(mine[0] > mine[1]):
        return []
    out = []
    for r, other in enumerate(bounds):
        if r == rank or np.any(other[0] > other[1]):
            continue
        a, b = (mine, other) if rank < r else (other, mine)
        if box_gap(box, a[0], a[1], b[0], b[1]) <= reach:
            out.append(r)
    return out
