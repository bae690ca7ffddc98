"""The blended atomistic-continuum handshake (docs/design.md section 6): one model whose
degrees of freedom are the nodes of a mesh that reaches atomistic resolution around the
region of interest, atoms there and in the handshake, padding atoms slaved to the mesh,
and the couplings bqce, bgfc and bqcf with the patch test that checks their promises."""

from qc_sim.coupling.blend import blend_weight
from qc_sim.coupling.geometry import CoupledGeometry, build_geometry
from qc_sim.coupling.model import CoupledModel, GhostForceError, patch_test

__all__ = ["blend_weight", "CoupledGeometry", "build_geometry", "CoupledModel", "patch_test",
           "GhostForceError"]
