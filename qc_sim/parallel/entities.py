"""A region's entities (elements, shells, nodes, points) split over MPI ranks (docs/design.md
section 7): who owns which global id, and the exact gather of per-entity rows.

The split is the cost-weighted recursive coordinate bisection of
:func:`~qc_sim.parallel.decompose.rcb` over the entities' positions, weighted by the
region's ``entity_costs()``. The costs are rank 0's, broadcast, so every rank cuts the same
boxes even where measured times differ from rank to rank. Ids are global and never change;
a rank advances the rows it owns and :meth:`EntityShare.gather_rows` puts every rank's rows
back in global-id order. Moving rows does not round, so whatever the split the gathered
array has the bits a serial run computes.
"""

from __future__ import annotations

import numpy as np

from qc_sim.parallel.decompose import rcb
from qc_sim.parallel.mpi import broadcast, gather_rows


class EntityShare:
    """``positions`` (n, d) of n entities with ``costs`` (n,) split over the ranks of
    ``comm`` (None: one rank owns everything). ``owner`` (n,) rank of each entity,
    ``owned`` (m,) the sorted global ids of this rank's."""

    def __init__(self, comm, positions, costs):
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.positions = np.asarray(positions, float).reshape(len(positions), -1)
        self.n = len(self.positions)
        self.cut(costs)

    def rebalance(self, costs, threshold: float) -> bool:
        """Cut again by rank 0's ``costs`` (n,) when they leave one rank more than
        ``threshold`` times the mean (0: never); every rank decides alike. Results do not
        depend on the cut, only the time does."""
        costs = np.asarray(broadcast(self.comm, np.asarray(costs, float)), float)
        if threshold and self.partition.imbalance(costs) > threshold:
            self.cut(costs)
            return True
        self.costs = costs
        return False

    def cut(self, costs) -> None:
        """Cut (again) by RCB with rank 0's ``costs`` (n,)."""
        costs = np.asarray(broadcast(self.comm, np.asarray(costs, float)), float)
        lo, hi = self.positions.min(axis=0), self.positions.max(axis=0)
        self.partition = rcb(self.positions, costs, self.size, lo, hi)
        self.owner = self.partition.owner
        self.owned = np.flatnonzero(self.owner == self.rank)
        self.costs = costs

    def imbalance(self, costs=None) -> float:
        """Max over mean of the summed cost per rank (1 is perfect)."""
        return self.partition.imbalance(self.costs if costs is None else costs)

    def gather_rows(self, rows) -> np.ndarray:
        """The (n, ...) array whose rows ``owned`` are this rank's ``rows`` and whose other
        rows are the other ranks' own: one allgather, no arithmetic."""
        rows = np.asarray(rows)
        if self.size == 1:
            return rows.copy()
        return gather_rows(self.comm, self.owned, rows, self.n)
