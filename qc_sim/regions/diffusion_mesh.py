"""P1 tetrahedra for diffusion in a sphere: the mesh, and mass, stiffness and surface terms.

:func:`sphere_mesh` places points on the sphere and on a concentric sphere one spacing h
inside it (Fibonacci spirals, about one point per equilateral triangle of side h) and the
sites of a simple cubic lattice of spacing h deeper in, and connects them by the Delaunay
triangulation of :func:`qc_sim.continuum.mesh.delaunay_mesh`. Every point on the sphere is
a vertex of the convex hull, so the boundary is the inscribed polyhedron whose faces are the
hull's triangles: its volume and area fall short of the sphere's by O(h^2). No tetrahedron
has four vertices on the sphere (their circumsphere would be the sphere itself, which holds
the interior points). The meshes of different h are not nested.

:class:`SphereFem` assembles, over all elements at once,

    stiffness   K1_ab = sum_e V_e grad N_a . grad N_b            (times D)
    mass        M_ab  = sum_e V_e (1 + delta_ab) / 20            (consistent)
                m_a   = sum_e V_e / 4                            (lumped: row sums)
    surface     S_ab  = sum_f A_f (1 + delta_ab) / 12, s_a = sum_f A_f / 3   (faces on the sphere)

(exact integrals of products of P1 shape functions by the simplex-coordinate formula
int L1^i L2^j L3^k L4^l dV = i! j! k! l! 3! V / (i + j + k + l + 3)!, Eisenberg and Malvern,
Int. J. Numer. Meth. Eng. 7, 574 (1973), and its 2D analogue with 2! A). The weak form of
c_t = D lap c with D grad c . n = alpha (c_eq - c) is

    M dc/dt = -(D K1 + alpha S) c + alpha c_eq s,

with j s for a prescribed inward flux j, and with the surface nodes held at c_eq for the
local-equilibrium model. With ``mass="lumped"`` M and S are replaced by their row sums.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from qc_sim.continuum.mesh import Mesh, delaunay_mesh
from qc_sim.regions.diffusion_radial import Operators


def fibonacci_sphere(n: int) -> np.ndarray:
    """``n`` nearly evenly spread unit vectors (n, 3): z = 1 - (2 i + 1) / n and the
    azimuth advancing by the golden angle pi (3 - sqrt 5) (Gonzalez, Math. Geosci. 42, 49,
    2010)."""
    i = np.arange(n, dtype=float)
    z = 1.0 - (2.0 * i + 1.0) / n
    phi = i * math.pi * (3.0 - math.sqrt(5.0))
    s = np.sqrt(1.0 - z * z)
    return np.column_stack([s * np.cos(phi), s * np.sin(phi), z])


def sphere_points(radius: float, spacing: float, shells: int = 2,
                  margin: float = 0.6) -> np.ndarray:
    """Points for a ball meshed with edge about h = ``spacing``: ``shells`` concentric
    spheres of radius a - i h (i = 0 .. shells - 1) carrying round(8 pi r^2 / (sqrt 3 h^2))
    Fibonacci points each (one per equilateral triangle of side h), and inside them the
    sites of a simple cubic lattice of spacing h deeper than (shells - 1 + margin) h. The
    shells give the surface layer a uniform thickness h whatever the lattice's phase."""
    k = int(math.ceil(radius / spacing))
    axis = np.arange(-k, k + 1) * spacing
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    depth = (shells - 1 + margin) * spacing
    parts = [grid[np.linalg.norm(grid, axis=1) < radius - depth]]
    for i in range(shells):
        r = radius - i * spacing
        if r <= 0.5 * spacing:
            break
        n = max(4, int(round(8.0 * math.pi * r**2 / (math.sqrt(3.0) * spacing**2))))
        parts.append(r * fibonacci_sphere(n))
    return np.concatenate(parts[1:] + parts[:1])


def sphere_mesh(radius: float, spacing: float, shells: int = 2, margin: float = 0.6) -> Mesh:
    """A P1 tetrahedral mesh of the ball of ``radius`` (Å) with edge length about
    ``spacing`` (Å) (:func:`sphere_points`); its surface nodes lie exactly on the sphere."""
    return delaunay_mesh(sphere_points(radius, spacing, shells, margin))


def _assemble(elements, local, n: int) -> sp.csr_matrix:
    """Sum element matrices ``local`` (ne, k, k) over node indices ``elements`` (ne, k) into
    an (n, n) matrix."""
    k = elements.shape[1]
    rows = np.repeat(elements, k, axis=1).reshape(-1)
    cols = np.tile(elements, (1, k)).reshape(-1)
    return sp.csr_matrix((local.reshape(-1), (rows, cols)), shape=(n, n))


class SphereFem:
    """P1 operators on ``mesh`` (a :class:`~qc_sim.continuum.mesh.Mesh` of a ball centred at
    the origin); its boundary faces are the reacting surface."""

    def __init__(self, mesh: Mesh, mass: str = "lumped"):
        self.mesh = mesh
        n = mesh.n_nodes
        V, G = mesh.volumes, mesh.gradients
        self.stiffness = _assemble(mesh.elements, V[:, None, None] * G @ G.transpose(0, 2, 1), n)
        self.masses = np.bincount(mesh.elements.reshape(-1), np.repeat(V / 4.0, 4), n)
        faces = mesh.boundary_faces()
        areas = np.linalg.norm(mesh.face_normals(faces), axis=1)
        self.faces = faces
        self.surface_load = np.bincount(faces.reshape(-1), np.repeat(areas / 3.0, 3), n)  # s
        self.surface_nodes = np.unique(faces)
        self.lumped = mass == "lumped"
        if self.lumped:
            self.mass = sp.diags(self.masses).tocsr()
            self.surface_mass = sp.diags(self.surface_load).tocsr()
        else:
            ones = np.ones((4, 4)) + np.eye(4)
            self.mass = _assemble(mesh.elements, V[:, None, None] / 20.0 * ones[None], n)
            tri = np.ones((3, 3)) + np.eye(3)
            self.surface_mass = _assemble(faces, areas[:, None, None] / 12.0 * tri[None], n)
        self.volume = float(V.sum())
        self.area = float(areas.sum())
        self.n = n
        self._free_mass_lu = None

    def operators(self, D: float, alpha: float, model: str, c_eq: float, flux: float):
        """K = D K1 (+ alpha S), b = alpha c_eq s | j s | 0 (surface held at c_eq)."""
        K = D * self.stiffness
        if model == "full":
            return Operators((K + alpha * self.surface_mass).tocsr(),
                             alpha * c_eq * self.surface_load, np.zeros(0, np.int64), c_eq)
        if model == "galvanostatic":
            return Operators(K.tocsr(), flux * self.surface_load, np.zeros(0, np.int64), c_eq)
        return Operators(K.tocsr(), np.zeros(self.n), self.surface_nodes, c_eq)

    def surface_concentration(self, c, D, alpha, model, c_eq, flux) -> float:
        """The area-weighted mean of c over the surface (exact for P1: s_a = int N_a dS);
        c_eq itself for the local-equilibrium model (also before its first step)."""
        if model == "reduced":
            return float(c_eq)
        return float(self.surface_load @ c / self.area)

    def inward_flow(self, c, ops: Operators) -> float:
        """d/dt of the content int c dV = 1^T M dc/dt at the state c. With the surface held,
        M_ff dc_f/dt = -(K c)_f on the free nodes and dc/dt = 0 on the held ones."""
        if len(ops.fixed) == 0:
            return float(np.sum(ops.b - ops.K @ c))
        free = np.setdiff1d(np.arange(self.n), ops.fixed)
        rate = ops.b[free] - (ops.K @ c)[free]
        if self.lumped:
            return float(rate.sum())
        if self._free_mass_lu is None:
            from scipy.sparse.linalg import splu

            self._free_mass_lu = splu(self.mass[free][:, free].tocsc())
        return float(self.mass[:, free].sum(axis=0).A1 @ self._free_mass_lu.solve(rate))

    def entity_costs(self) -> np.ndarray:
        """Per node: the nonzeros of its row of the system matrix (the work of a sparse
        product or a smoother sweep)."""
        return np.diff(self.stiffness.indptr).astype(float)

    def entity_positions(self) -> np.ndarray:
        """(n, 3) the node positions."""
        return self.mesh.nodes.copy()
