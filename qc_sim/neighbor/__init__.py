"""Neighbour lists: cell binning with a skin, full lists with id-sorted rows."""

from qc_sim.neighbor.cell_list import NeighborList, build, needs_rebuild

__all__ = ["NeighborList", "build", "needs_rebuild"]
