"""The fields of a coupled model on its mesh, for output (XDMF, ParaView): nodal
displacement, blend weight and zone; element deformation gradient and first Piola-Kirchhoff
stress of the Cauchy-Born material (eV/Å^3, eV/Å^2 in 2D)."""

from __future__ import annotations

import numpy as np


def mesh_fields(model, velocities=None, y=None) -> tuple[dict, dict]:
    """(node_fields, element_fields) of ``model`` at node positions ``y`` (default: its
    current ones)."""
    g = model.geometry
    mesh = g.mesh
    y = model.y if y is None else np.asarray(y, float)
    F = mesh.deformation_gradients(y)
    _, P = model.material.energy_stress(F)
    nodes = {"displacement": y - mesh.nodes, "blend_weight": g.node_beta,
             "zone": np.asarray(g.node_zone, np.int32), "held": g.held.astype(np.int32)}
    if velocities is not None:
        nodes["velocity"] = np.asarray(velocities, float)
    elements = {"stress": np.asarray(P), "deformation_gradient": F,
                "blend_weight": g.element_beta}
    return nodes, elements
