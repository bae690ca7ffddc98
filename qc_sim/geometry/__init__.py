"""Geometry: boxes, atoms, lattices and region selections."""

from qc_sim.geometry.atoms import Atoms
from qc_sim.geometry.box import Box

__all__ = ["Atoms", "Box"]
