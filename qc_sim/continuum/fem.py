"""P1 finite elements on a :class:`~qc_sim.continuum.mesh.Mesh` with a hyperelastic material.

The degrees of freedom are the deformed node positions x (nn, d), as for atoms; an element's
deformation gradient is ``F = sum_a x_a (x) grad N_a`` (constant on a P1 element), its energy
``V_e W(F)``, and node a feels ``f_a = -sum_e V_e P_e grad N_a``, gathered per node through the
mesh's CSR map (fixed order, no atomics). Held nodes (Dirichlet) keep their positions; a
prescribed deformation of a boundary moves them with :meth:`ContinuumRegion.deform_held`.
The region implements the solver protocol, so FIRE, L-BFGS and NEB drive it unchanged.
"""

from __future__ import annotations

import math

import numpy as np


def element_terms(mesh, material, x, period=None, energy_weights=None, force_weights=None,
                  active=None, device=None, scatter=False):
    """The elements' energy ``sum_e w_e V_e W(F_e)`` and node forces
    ``-sum_e u_e V_e P_e grad N`` (nn, d) at node positions ``x``; w and u default to 1,
    ``active`` (mask) restricts both sums to some elements (the others are not evaluated).
    A material with per-element laws (``element_delta(F, elements)``, e.g.
    :class:`~qc_sim.continuum.cauchy_born.MixedCauchyBorn`) gives the energy counted from its
    reference, ``sum_e w_e V_e (W(F_e) - W(F0))``. ``scatter``: the active elements' forces
    are added to their nodes directly (in element order) instead of through the mesh's
    node-to-element map, the quicker way for a few elements among many."""
    index = np.arange(len(mesh.elements))
    if active is not None:
        index = index[active]
        if not len(index):
            return 0.0, np.zeros((mesh.n_nodes, mesh.dim))
    subset = index if active is not None else None
    F = mesh.deformation_gradients(x, period, subset)
    grads, volumes = mesh.gradients, mesh.volumes
    if active is not None:
        grads, volumes = grads[index], volumes[index]
    if hasattr(material, "element_delta"):
        W, P = material.element_delta(F, index)
    else:
        W, P = material.energy_stress(F)
    we = 1.0 if energy_weights is None else energy_weights
    wf = 1.0 if force_weights is None else force_weights
    forces = -np.einsum("e,edf,eaf->ead", volumes * wf, P, grads)
    if active is not None and scatter:
        out = np.zeros((mesh.n_nodes, mesh.dim))
        np.add.at(out, mesh.elements[index].reshape(-1), forces.reshape(-1, mesh.dim))
        return float((volumes * we) @ W), out
    if active is not None:
        full = np.zeros((len(mesh.elements), mesh.dim + 1, mesh.dim))
        full[active] = forces
        forces = full
    return float((volumes * we) @ W), mesh.gather(forces, device)


def element_stiffness(mesh, A, weights=None) -> np.ndarray:
    """Element stiffness matrices (ne, d+1, d, d+1, d) from the material tangents
    A = dP/dF (ne, d, d, d, d): ``K_aibk = w V grad_j N_a A_ijkl grad_l N_b``."""
    v = mesh.volumes if weights is None else mesh.volumes * weights
    g = mesh.gradients
    return np.einsum("e,eaj,eijkl,ebl->eaibk", v, g, A, g, optimize=True)


def assemble_stiffness(mesh, A, weights=None):
    """The global stiffness (nn d, nn d) (scipy.sparse CSR) of ``mesh`` with tangents A:
    per element (ne, d, d, d, d), or one (d, d, d, d) for every element (a homogeneous
    reference state: the unit element matrices V_e B_e^T A B_e are formed once per mesh and
    tangent, and each assembly is a weighted sum into the mesh's fixed sparsity pattern)."""
    import scipy.sparse as sp

    d = mesh.dim
    k = d + 1
    ne = len(mesh.elements)
    n = mesh.n_nodes * d
    A = np.asarray(A, float)
    if A.ndim == 4:
        Ke = unit_element_matrices(mesh, A)
        w = np.ones(ne) if weights is None else np.asarray(weights, float)
        indptr, indices, slot = stiffness_pattern(mesh)
        blocks = (Ke * w[:, None, None]).reshape(ne, k, d, k, d).transpose(0, 1, 3, 2, 4)
        blocks = blocks.reshape(ne * k * k, d * d)
        data = np.stack([np.bincount(slot, weights=blocks[:, c], minlength=len(indices))
                         for c in range(d * d)], axis=1).reshape(-1, d, d)
        return sp.bsr_matrix((data, indices, indptr), shape=(n, n)).tocsr()
    return assemble_elements(mesh, element_stiffness(mesh, A, weights), np.arange(ne))


def assemble_elements(mesh, matrices, elements):
    """The sparse (nn d, nn d) CSR sum of element matrices ``matrices`` ((m, (d+1) d,
    (d+1) d), or (m, d+1, d, d+1, d)) of the ``elements`` (indices, m)."""
    import scipy.sparse as sp

    d = mesh.dim
    k = d + 1
    dof = (mesh.elements[elements][:, :, None] * d + np.arange(d)[None, None, :]).reshape(
        len(elements), -1)
    rows = np.repeat(dof, k * d, axis=1).reshape(-1)
    cols = np.tile(dof, (1, k * d)).reshape(-1)
    n = mesh.n_nodes * d
    return sp.csr_matrix((np.asarray(matrices).reshape(-1), (rows, cols)), shape=(n, n))


def unit_element_matrices(mesh, A) -> np.ndarray:
    """(ne, (d+1) d, (d+1) d) element stiffness matrices V_e B_e^T A B_e for one tangent A
    (d, d, d, d) on every element (B_e maps the element's node displacements to
    H_ij = sum_a u_ai dN_a/dX_j); kept on the mesh for the last A asked."""
    cache = getattr(mesh, "_unit_matrices", None)
    if cache is not None and np.array_equal(cache[0], A):
        return cache[1]
    d = mesh.dim
    k = d + 1
    ne = len(mesh.elements)
    B = np.zeros((ne, d, d, k, d))
    for i in range(d):
        B[:, i, :, :, i] = mesh.gradients.transpose(0, 2, 1)
    B = B.reshape(ne, d * d, k * d)
    AB = np.matmul(A.reshape(d * d, d * d), B)
    Ke = np.matmul(B.transpose(0, 2, 1), AB) * mesh.volumes[:, None, None]
    mesh._unit_matrices = (A.copy(), Ke)
    return Ke


def stiffness_pattern(mesh):
    """The block pattern (indptr, indices) over node pairs of a stiffness on ``mesh`` (d x d
    blocks, rows sorted) and, for every node pair (a, b) of every element in order
    (ne, d+1, d+1), its block's slot; computed once per mesh."""
    cache = getattr(mesh, "_stiffness_pattern", None)
    if cache is not None:
        return cache
    nn = mesh.n_nodes
    e = mesh.elements.astype(np.int64)
    keys = (e[:, :, None] * nn + e[:, None, :]).reshape(-1)
    unique, slot = np.unique(keys, return_inverse=True)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(unique // nn, minlength=nn))])
    mesh._stiffness_pattern = (indptr, unique % nn, slot.reshape(-1))
    return mesh._stiffness_pattern


class ContinuumRegion:
    """``mesh`` with ``material`` (``energy_stress(F)``), nodes in ``held`` (mask) fixed."""

    xp = np

    def __init__(self, mesh, material, held=None, external_forces=None, device=None,
                 element_weights=None):
        self.mesh = mesh
        self.device = device
        # per-element weights of the energy (1 - beta in a blended handshake), default 1
        self.element_weights = (np.ones(len(mesh.elements)) if element_weights is None
                                else np.asarray(element_weights, float))
        self.material = material
        self.x = mesh.nodes.copy()
        # dead loads (body forces, tractions) as nodal forces (nn, d), eV/Å
        self.external = (np.zeros_like(self.x) if external_forces is None
                         else np.asarray(external_forces, float))
        held = np.zeros(mesh.n_nodes, bool) if held is None else np.asarray(held, bool)
        self.held = held
        self.free = (~held).astype(float)[:, None]
        self.period = mesh.period.copy()  # current period vector lengths (periodic axes)

    def deformation_gradients(self, x=None):
        x = self.x if x is None else x
        return self.mesh.deformation_gradients(x, self.period)

    def energy_and_forces(self, x=None):
        """Total energy (eV) and nodal forces (nn, d) at node positions ``x``."""
        x = self.x if x is None else x
        energy, forces = element_terms(self.mesh, self.material, x, self.period,
                                       self.element_weights, self.element_weights,
                                       device=self.device)
        work = float(((x - self.mesh.nodes) * self.external).sum())
        return energy - work, forces + self.external

    def body_force_loads(self, body_force):
        """Consistent P1 nodal loads of a body force ``b(X)`` (eV/Å^4; a callable of points
        (p, d) returning (p, d)), by the element's vertex (lumped) rule at second order:
        the mid-edge quadrature, exact for quadratic b."""
        m = self.mesh
        nodes = m.nodes[m.elements]  # (ne, d+1, d)
        k = m.dim + 1
        loads = np.zeros((len(m.elements), k, m.dim))
        if m.dim == 2:  # mid-edge rule: weight 1/3 each, N_a = 1/2 on its two edges
            pairs = [(0, 1), (1, 2), (0, 2)]
            for i, j in pairs:
                b = body_force(0.5 * (nodes[:, i] + nodes[:, j]))
                for a in (i, j):
                    loads[:, a] += (m.volumes / 3.0)[:, None] * 0.5 * b
        else:  # 4-point rule of degree 2 on the tetrahedron
            alpha, beta = 0.5854101966249685, 0.1381966011250105
            for q in range(4):
                lam = np.full(4, beta)
                lam[q] = alpha
                b = body_force(np.einsum("a,ead->ed", lam, nodes))
                loads += (m.volumes / 4.0)[:, None, None] * lam[None, :, None] * b[:, None, :]
        return m.gather(loads)

    def tangent_matrix(self):
        """The stiffness d(-f)/dx (nn*d, nn*d) (scipy.sparse CSR) at the current positions,
        from the material's tangent dP/dF."""
        A = self.material.tangent(self.deformation_gradients())  # (ne, d, d, d, d)
        return assemble_stiffness(self.mesh, A, self.element_weights)

    def deform_held(self, F) -> None:
        """Put the held nodes at ``F X`` (an applied homogeneous deformation of the boundary);
        along a periodic axis p the period becomes ``F[p, p] L_p`` (F must map the axis onto
        itself: F[i, p] = 0 for i != p)."""
        F = np.asarray(F, float)
        self.x[self.held] = self.mesh.nodes[self.held] @ F.T
        for p in np.nonzero(self.mesh.period > 0)[0]:
            column = np.delete(F[:, p], p)
            if np.any(np.abs(column) > 1e-15):
                raise ValueError(f"a deformation of a mesh periodic along axis {p} must map "
                                 f"that axis onto itself (F[i, {p}] = 0 for i != {p})")
            self.period[p] = F[p, p] * self.mesh.period[p]

    # -- the region interface (docs/design.md section 8, qc_sim.regions.base.Region) ------------------

    @property
    def physics(self) -> str:
        return self.material.physics

    def advance(self, dt: float, fmax: float = 1e-8) -> None:
        """Quasi-static: equilibrium at the current held positions and loads (Newton-Krylov
        with the material's tangent); ``dt`` plays no part."""
        from qc_sim.solvers.newton import newton_krylov

        newton_krylov(self, fmax=fmax).check()

    def stable_time_step(self) -> float:
        return math.inf  # quasi-static; ExplicitDynamics has its own limit

    def exports(self) -> dict:
        """Node displacements (nn, d) Å and nodal forces (nn, d) eV/Å."""
        return {"displacement": self.x - self.mesh.nodes,
                "forces": self.energy_and_forces()[1]}

    def imports(self, fields: dict) -> None:
        """``held_positions`` (positions of the held nodes, in node order) from a neighbour
        that drives this region's boundary, and/or ``external_forces`` (nn, d)."""
        if "held_positions" in fields:
            self.x[self.held] = np.asarray(fields["held_positions"], float)
        if "external_forces" in fields:
            self.external = np.asarray(fields["external_forces"], float)

    def state_fields(self) -> dict:
        return {"positions": self.x.copy(), "period": self.period.copy(),
                "external_forces": self.external.copy()}

    def load_state_fields(self, fields: dict) -> None:
        self.x = np.array(fields["positions"], float)
        self.period = np.array(fields["period"], float)
        self.external = np.array(fields["external_forces"], float)

    def entity_costs(self) -> np.ndarray:
        """Per element: one material evaluation each (P1: one quadrature point)."""
        return np.ones(len(self.mesh.elements))

    def thermo(self) -> dict:
        energy, forces = self.energy_and_forces()
        return {"energy": energy, "max_force": self.max_force(forces * self.free)}

    # -- the solver protocol --------------------------------------------------------------

    def get_dofs(self):
        return self.x.reshape(-1).copy()

    def set_dofs(self, y) -> None:
        new = np.asarray(y, float).reshape(self.x.shape)
        self.x = self.x + (new - self.x) * self.free

    def energy_forces(self):
        e, f = self.energy_and_forces()
        return e, (f * self.free).reshape(-1)

    def free_mask(self):
        """(nn*d,) True on the degrees of freedom the solvers may move."""
        return np.repeat(~self.held, self.mesh.dim)

    def max_force(self, forces) -> float:
        f = np.asarray(forces).reshape(-1, self.mesh.dim)
        return float(np.sqrt((f * f).sum(axis=1)).max()) if len(f) else 0.0
