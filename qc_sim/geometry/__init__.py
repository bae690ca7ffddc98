"""Geometry: boxes, atoms, lattices, crystals and region selections."""

from qc_sim.geometry.atoms import Atoms
from qc_sim.geometry.box import Box
from qc_sim.geometry.crystal import build_crystal, random_alloy
from qc_sim.geometry.lattice import Lattice, bcc, fcc, oriented_cell, simple_cubic, triangular
from qc_sim.geometry.regions import Block, Cylinder, HalfSpace, Sphere, cut, keep, tag

__all__ = ["Atoms", "Box", "Lattice", "fcc", "bcc", "simple_cubic", "triangular",
           "oriented_cell", "build_crystal", "random_alloy", "Sphere", "Block", "Cylinder",
           "HalfSpace", "tag", "cut", "keep"]
