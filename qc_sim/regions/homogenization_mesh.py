"""The periodic cell problem on a P1 simplex mesh with a phase per element.

The mesh (:class:`qc_sim.continuum.mesh.Mesh`) is periodic: its ``period`` spans the cell
along every axis and an element's local node a sits at ``nodes[elements[e, a]] + shifts[e,
a] * period``, so a node index *is* a periodic degree of freedom. The weak form of
``div(K (grad chi_j + e_j)) = 0``,

    sum_e k_e V_e (grad N_a . grad chi_j) = - sum_e k_e V_e (grad N_a . e_j)   for all a,

is assembled over the conducting elements, and ``K_eff e_j = (1/|Y|) sum_e k_e V_e
(grad chi_j + e_j)``. As on voxels, elements of zero conductivity carry nothing, clusters
of conducting elements that percolate along no axis are left out, and one node per kept
cluster is held at ``chi = 0``.

:func:`read_phase_mesh` reads anything meshio reads (Gmsh, VTK, XDMF, ...) with a cell-data
phase tag and finds the periodic identification of nodes on opposite faces of the bounding
box; :func:`periodic_disk_mesh` builds the conforming periodic triangle mesh of a unit cell
around a circular inclusion used to validate against Perrins, McKenzie & McPhedran (1979).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from qc_sim.continuum.mesh import Mesh, delaunay_mesh
from qc_sim.errors import InputError
from qc_sim.regions.homogenization_graph import periodic_clusters
from qc_sim.regions.homogenization_linalg import amg_cg

PHASE_KEYS = ("phase", "phases", "gmsh:physical", "material", "tag", "cell_tags",
              "medit:ref", "gmsh:geometrical")


def mesh_clusters(mesh: Mesh, conducting: np.ndarray):
    """Clusters of the conducting elements (joined through shared nodes, across the
    period): ``(node_cluster (nn,) -1 where untouched, kept_cluster (nc,) bool,
    percolating (nc, d))``."""
    el, sh = mesh.elements[conducting], mesh.shifts[conducting]
    k = mesh.dim + 1
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
    u = np.concatenate([el[:, a] for a, _ in pairs])
    v = np.concatenate([el[:, b] for _, b in pairs])
    s = np.concatenate([sh[:, b] - sh[:, a] for a, b in pairs])
    edges = np.unique(np.column_stack([u, v, s]), axis=0)
    labels, percolating = periodic_clusters(mesh.n_nodes, edges[:, 0], edges[:, 1],
                                            edges[:, 2:])
    touched = np.zeros(mesh.n_nodes, bool)
    touched[el.ravel()] = True
    node_cluster = np.where(touched, labels, -1)
    return node_cluster, percolating.any(axis=1), percolating


def solve_cell_mesh(mesh: Mesh, k_element: np.ndarray, rtol: float, columns=None):
    """Effective tensor (d, d), percolating axes (d,) and solver info of the periodic cell
    problem on ``mesh`` with element conductivities ``k_element`` (ne,); only the
    ``columns`` given (default all) are solved for, the others are left NaN."""
    from scipy.sparse import coo_matrix

    d = mesh.dim
    columns = range(d) if columns is None else columns
    cell = float(np.prod(mesh.period))
    conducting = k_element > 0
    node_cluster, kept_cluster, percolating = mesh_clusters(mesh, conducting)
    node_kept = np.zeros(mesh.n_nodes, bool)
    node_kept[node_cluster >= 0] = kept_cluster[node_cluster[node_cluster >= 0]]
    elements = np.nonzero(conducting & node_kept[mesh.elements[:, 0]])[0]
    el, grads = mesh.elements[elements], mesh.gradients[elements]
    weight = k_element[elements] * mesh.volumes[elements]  # k_e V_e
    tensor = np.eye(d) * weight.sum() / cell
    info = {"method": "P1 FE, cg + pyamg smoothed aggregation", "iterations": [0] * d,
            "residuals": [0.0] * d, "setup_seconds": 0.0, "solve_seconds": 0.0}
    clusters = np.nonzero(kept_cluster)[0]
    anchors = np.array([np.argmax(node_cluster == c) for c in clusters], np.int64)
    free = node_kept.copy()
    free[anchors] = False
    index = np.full(mesh.n_nodes, -1, np.int64)
    n = int(free.sum())
    index[free] = np.arange(n)
    info["unknowns"] = n
    if n == 0:
        return tensor, percolating[kept_cluster].any(axis=0), info
    t0 = time.perf_counter()
    local = np.einsum("e,ead,ebd->eab", weight, grads, grads)  # element stiffness
    rows = np.repeat(index[el], d + 1, axis=1).ravel()
    cols = np.tile(index[el], (1, d + 1)).ravel()
    keep = (rows >= 0) & (cols >= 0)
    matrix = coo_matrix((local.ravel()[keep], (rows[keep], cols[keep])), shape=(n, n)).tocsr()
    loads = -weight[:, None, None] * grads  # (ne, d+1, d): -k V grad N_a . e_j
    b = np.zeros((n, d))
    on = index[el] >= 0
    np.add.at(b, index[el][on], loads[on])
    info["assembly_seconds"] = time.perf_counter() - t0
    solve, setup = amg_cg(matrix, rtol)
    info.update(setup)
    for j in range(d):
        if j not in columns:
            tensor[:, j] = np.nan
            continue
        chi, one = solve(b[:, j])
        info["iterations"][j] = one["iterations"]
        info["residuals"][j] = one["residual"]
        info["solve_seconds"] += one["seconds"]
        nodal = np.concatenate([chi, [0.0]])[np.where(index[el] >= 0, index[el], n)]
        grad_chi = np.einsum("ea,ead->ed", nodal, grads)
        tensor[:, j] += (weight[:, None] * grad_chi).sum(axis=0) / cell
    return tensor, percolating[kept_cluster].any(axis=0), info


def periodic_mesh(points, simplices, tol: float = 1e-8, where: str = "mesh") -> Mesh:
    """A periodic :class:`Mesh` of the bounding box of ``points`` (n, d) from simplices
    whose nodes on the faces ``x_i = hi_i`` match nodes on ``x_i = lo_i`` (same other
    coordinates, to ``tol`` times the box size): those are folded onto their partners and
    the elements that used them get the matching shifts."""
    from scipy.spatial import cKDTree

    points = np.asarray(points, float)
    simplices = np.asarray(simplices, np.int64)
    lo, hi = points.min(axis=0), points.max(axis=0)
    period = hi - lo
    if np.any(period <= 0):
        raise InputError(f"{where}: the mesh is flat along some axis (box {lo} to {hi})")
    eps = tol * float(period.max())
    folded = points.copy()
    shift = np.zeros(points.shape, np.int64)
    on_hi = np.abs(points - hi) < eps
    folded[on_hi] -= np.broadcast_to(period, points.shape)[on_hi]
    shift[on_hi] = 1
    tree = cKDTree(points)
    distance, partner = tree.query(folded, distance_upper_bound=eps)
    moved = on_hi.any(axis=1)
    lost = moved & ~np.isfinite(distance)
    if lost.any():
        axis = "xyz"[int(np.argmax(on_hi[lost][0]))]
        raise InputError(f"{where}: the mesh is not periodic: {int(lost.sum())} nodes on the "
                         f"upper faces (e.g. {points[lost][0].tolist()} on {axis}=hi) have "
                         "no partner on the opposite face")
    partner[~moved] = np.arange(len(points))[~moved]
    used = np.unique(partner)
    renumber = np.full(len(points), -1, np.int64)
    renumber[used] = np.arange(len(used))
    elements = renumber[partner[simplices]]
    shifts = shift[simplices]
    mesh = Mesh(points[used] - lo, elements, period=period, shifts=shifts)
    covered = float(mesh.volumes.sum())
    if abs(covered - float(np.prod(period))) > 1e-6 * float(np.prod(period)):
        raise InputError(f"{where}: the elements cover {covered:.6g} of the cell's "
                         f"{float(np.prod(period)):.6g}: not a tiling of its bounding box")
    return mesh


def read_phase_mesh(path, phase_key: str | None = None):
    """(periodic Mesh, phases (ne,) int) from a file meshio reads: its triangles (2D; a
    flat third coordinate is dropped) or tetrahedra, and an integer cell-data tag."""
    from qc_sim.continuum.mesh_files import read_simplices

    path = Path(path)
    points, simplices, cell_data = read_simplices(path)
    keys = [phase_key] if phase_key else [k for k in PHASE_KEYS if k in cell_data]
    if phase_key and phase_key not in cell_data:
        raise InputError(f"{path}: no cell data {phase_key!r} (has: "
                         f"{', '.join(cell_data) or 'none'})")
    if not keys:
        raise InputError(f"{path}: no phase tag among the cell data (looked for "
                         f"{', '.join(PHASE_KEYS)}; has: {', '.join(cell_data) or 'none'})")
    tags = cell_data[keys[0]]
    if not np.all(np.isfinite(tags)) or np.any(tags != np.round(tags)) or np.any(tags < 0):
        raise InputError(f"{path}: cell data {keys[0]!r} must hold whole numbers >= 0")
    return periodic_mesh(points, simplices, where=str(path)), tags.astype(np.int64)


def periodic_disk_mesh(radius: float, h: float, seed: int = 0):
    """(Mesh, phases) of the unit square cell [0, 1)^2 with a disk of ``radius`` at its
    centre (phase 1) in a matrix (phase 0), element size about ``h``.

    Nodes: a triangular lattice of spacing h away from the circle, the circle itself at
    m = ceil(2 pi r / h) equal steps, and a ring on each side of it at the half-steps, a
    distance ``0.5 h`` away, so that the circle's chords are Delaunay edges and the mesh
    conforms to the inscribed m-gon (checked). The m-gon's area falls short of pi r^2 by a
    relative ``(2 pi / m)^2 / 6``: an O(h^2) error that refinement removes.
    """
    if not 0.0 < radius < 0.5 - h:
        raise InputError(f"disk mesh: radius {radius} must lie in (0, 0.5 - h)")
    centre = np.array([0.5, 0.5])
    m = int(np.ceil(2 * np.pi * radius / h))
    angle = 2 * np.pi * np.arange(m) / m
    half = angle + np.pi / m
    ring = [radius * np.column_stack([np.cos(angle), np.sin(angle)])]
    gap = 0.5 * h
    for r in (radius - gap, radius + gap):
        ring.append(r * np.column_stack([np.cos(half), np.sin(half)]))
    rows = int(np.ceil(1.0 / (h * np.sqrt(3) / 2)))
    rows += rows % 2  # an even number of staggered rows is periodic
    cols = int(np.ceil(1.0 / h))
    j, i = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    # offset by an irrational fraction of a step: no element's centroid may fall exactly on
    # the cell's faces, where delaunay_mesh's keep-if-centroid-in-[lo, hi) rule could drop
    # both periodic images of it
    lattice = np.column_stack([((i + 0.5 * (j % 2) + 0.5 * np.sqrt(2) - 0.5) / cols).ravel(),
                               ((j + 0.5 * np.sqrt(3) - 0.5) / rows).ravel()])
    distance = np.linalg.norm(lattice - centre, axis=1)
    lattice = lattice[np.abs(distance - radius) > 1.2 * h]
    points = np.concatenate([lattice] + [centre + r for r in ring]) % 1.0
    mesh = delaunay_mesh(points, seed=seed, periodic=[True, True], lo=[0.0, 0.0],
                         hi=[1.0, 1.0])
    corners = mesh.element_coordinates(mesh.nodes)
    rad = np.linalg.norm(corners - centre, axis=2)
    inside = np.all(rad <= radius * (1 + 1e-9), axis=1)
    outside = np.all(rad >= radius * (1 - 1e-9), axis=1)
    if not np.all(inside | outside):
        raise RuntimeError(f"disk mesh: {int((~(inside | outside)).sum())} triangles cross "
                           f"the circle (h = {h})")
    return mesh, inside.astype(np.int64)
