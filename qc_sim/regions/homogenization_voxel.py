"""The periodic cell problem on a voxel image: cell-centred finite volumes.

One unknown ``chi`` per conducting voxel (unit voxels; the effective tensor does not depend
on the voxel size). Neighbouring voxels p, q = p + e_i (periodic wrap) exchange the flux
``g_pq (u_q - u_p)`` with ``u = chi + e_j . x`` and the face conductance the harmonic mean
``g_pq = 2 k_p k_q / (k_p + k_q)`` (zero when either side is zero): the exact series
conductance of two half voxels, so a laminate is reproduced exactly. Flux balance in every
voxel gives ``A chi_j = b_j`` with ``A`` the weighted graph Laplacian and
``b_j[p] = g(p, p + e_j) - g(p - e_j, p)``, and the mean flux gives

    K_eff[i, j] = (G_i delta_ij - b_i . chi_j) / N,   G_i = sum of the i-face conductances,

(N voxels), symmetric since ``b_i . chi_j = chi_i . A chi_j``.

Voxels of zero conductivity carry no unknown. The conducting voxels fall into clusters
(:func:`qc_sim.regions.homogenization_graph.periodic_clusters` on the open-box components
that :func:`scipy.ndimage.label` finds, joined across the cell faces); a cluster that
percolates along no axis carries no flux and is left out, and in every other cluster one
voxel is held at ``chi = 0`` (the constant that a periodic problem leaves free), so the
system is symmetric positive definite.
"""

from __future__ import annotations

import numpy as np

from qc_sim.regions.homogenization_graph import periodic_clusters
from qc_sim.regions.homogenization_linalg import amg_cg, jacobi_pcg


def face_conductances(k: np.ndarray) -> list:
    """Per axis i, ``g[i][p]`` the conductance of the face between voxel p and p + e_i
    (periodic): the harmonic mean of the two voxels' conductivities, 0 if either is 0."""
    out = []
    for axis in range(k.ndim):
        kq = np.roll(k, -1, axis=axis)
        total = k + kq
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(total > 0, 2.0 * k * kq / np.where(total > 0, total, 1.0), 0.0)
        out.append(g)
        del kq, total
    return out


def voxel_clusters(conducting: np.ndarray):
    """Clusters of the face-connected conducting voxels of a periodic image.

    Returns ``(kept, anchors, percolating)``: ``kept`` (image shape) bool, the conducting
    voxels of clusters that percolate along some axis; ``anchors`` a tuple of index arrays,
    one voxel of each kept cluster; ``percolating`` (d,) bool, whether any cluster
    percolates along each axis.
    """
    from scipy import ndimage

    d = conducting.ndim
    open_label, n_open = ndimage.label(conducting)  # face connectivity, 1 .. n_open
    if n_open == 0:
        return np.zeros(conducting.shape, bool), tuple(np.zeros(0, int) for _ in range(d)), \
            np.zeros(d, bool)
    us, vs, shifts = [], [], []
    for axis in range(d):
        hi = np.take(open_label, -1, axis=axis)
        lo = np.take(open_label, 0, axis=axis)
        both = (hi > 0) & (lo > 0)
        pairs = np.unique(np.stack([hi[both], lo[both]], axis=1), axis=0) - 1
        s = np.zeros((len(pairs), d), np.int64)
        s[:, axis] = 1  # the lo voxel's image one period up along the axis touches hi
        us.append(pairs[:, 0])
        vs.append(pairs[:, 1])
        shifts.append(s)
    labels, percolating = periodic_clusters(n_open, np.concatenate(us), np.concatenate(vs),
                                            np.concatenate(shifts))
    kept_cluster = percolating.any(axis=1)
    kept = np.concatenate([[False], kept_cluster[labels]])[open_label]

    # one anchor per kept cluster: the first voxel of its lowest-numbered open component
    first_open = np.full(len(percolating), n_open, np.int64)
    np.minimum.at(first_open, labels, np.arange(n_open))
    boxes = ndimage.find_objects(open_label)
    anchors = []
    for cluster in np.nonzero(kept_cluster)[0]:
        label = first_open[cluster] + 1
        box = boxes[label - 1]
        local = np.unravel_index(np.argmax(open_label[box] == label), open_label[box].shape)
        anchors.append([s.start + i for s, i in zip(box, local)])
    anchors = tuple(np.array(a, np.int64) for a in zip(*anchors)) if anchors else \
        tuple(np.zeros(0, np.int64) for _ in range(d))
    return kept, anchors, percolating[kept_cluster].any(axis=0)


def _unknown_index(kept, anchors):
    """Full-grid map voxel -> unknown number (-1 where no unknown), C order."""
    free = kept.copy()
    free[anchors] = False
    n = int(free.sum())
    index = np.full(kept.shape, -1, np.int32 if kept.size < 2**31 - 1 else np.int64)
    index[free] = np.arange(n, dtype=index.dtype)
    return index, free, n


def assemble_laplacian(g: list, index: np.ndarray, free: np.ndarray, n: int):
    """The SPD matrix (n, n) CSR of the flux balance of the free voxels: built row by row
    from (n, 2d + 1) column and value tables, so no COO triplets are ever held."""
    from scipy.sparse import csr_matrix

    d = len(g)
    columns = np.empty((n, 2 * d + 1), index.dtype)
    values = np.zeros((n, 2 * d + 1))
    columns[:, 0] = np.arange(n, dtype=index.dtype)
    slot = 1
    for axis in range(d):
        for step in (1, -1):
            face = g[axis][free] if step == 1 else np.roll(g[axis], 1, axis=axis)[free]
            neighbour = np.roll(index, -step, axis=axis)[free]
            values[:, 0] += face
            coupled = neighbour >= 0
            columns[:, slot] = np.where(coupled, neighbour, columns[:, 0])
            values[:, slot] = np.where(coupled, -face, 0.0)
            slot += 1
            del face, neighbour, coupled
    keep = values != 0.0
    keep[:, 0] = True
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1), dtype=np.int64)])
    indices, data = columns[keep], values[keep]
    del columns, values, keep
    if indptr[-1] < 2**31 - 1:
        indptr = indptr.astype(np.int32)
    matrix = csr_matrix((data, indices, indptr), shape=(n, n))
    matrix.sum_duplicates()  # a side of 1 or 2 voxels makes a neighbour appear twice
    return matrix


def rhs(g: list, free: np.ndarray, axis: int) -> np.ndarray:
    """b_j at the free voxels: the net conductance across the voxel along axis j."""
    return (g[axis] - np.roll(g[axis], 1, axis=axis))[free]


def solve_cell_amg(g, kept, anchors, rtol, columns=None):
    """Effective tensor (d, d) from the assembled system and AMG-preconditioned CG; only
    the ``columns`` j given (default all) are solved for, the others are left NaN."""
    d = len(g)
    columns = range(d) if columns is None else columns
    index, free, n = _unknown_index(kept, anchors)
    conductance = np.array([float(g[i][kept].sum()) for i in range(d)])
    tensor = np.diag(conductance) / kept.size
    info = {"method": "cg + pyamg smoothed aggregation", "unknowns": n,
            "iterations": [0] * d, "residuals": [0.0] * d, "setup_seconds": 0.0,
            "solve_seconds": 0.0}
    if n == 0:
        return tensor, info
    matrix = assemble_laplacian(g, index, free, n)
    del index
    solve, setup = amg_cg(matrix, rtol)
    info.update(setup)
    b = [rhs(g, free, i) for i in range(d)]
    for j in range(d):
        if j not in columns:
            tensor[:, j] = np.nan
            continue
        chi, one = solve(b[j])
        info["iterations"][j] = one["iterations"]
        info["residuals"][j] = one["residual"]
        info["solve_seconds"] += one["seconds"]
        for i in range(d):
            tensor[i, j] -= float(b[i] @ chi) / kept.size
    return tensor, info


def solve_cell_stencil(g, kept, anchors, rtol, device, columns=None):
    """The same cell problem matrix-free on the full grid with Jacobi-PCG, in the array
    module of ``device`` (NumPy here, CuPy on a GPU: untested without a GPU); only the
    ``columns`` given (default all) are solved for, the others are left NaN."""
    xp = device.xp
    d = len(g)
    columns = range(d) if columns is None else columns
    free = kept.copy()
    free[anchors] = False
    mask = device.asarray(free)
    size = kept.size
    conductance = np.array([float(g[i][kept].sum()) for i in range(d)])
    tensor = np.diag(conductance) / size
    info = {"method": f"matrix-free Jacobi-PCG ({device.name})", "unknowns": int(free.sum()),
            "iterations": [0] * d, "residuals": [0.0] * d, "setup_seconds": 0.0,
            "solve_seconds": 0.0}
    if info["unknowns"] == 0:
        return tensor, info
    up = [device.asarray(g[i]) for i in range(d)]  # face p | p + e_i
    down = [xp.roll(up[i], 1, axis=i) for i in range(d)]  # face p - e_i | p

    def apply(x):
        out = xp.zeros_like(x)
        for i in range(d):
            out += up[i] * (x - xp.roll(x, -1, axis=i)) + down[i] * (x - xp.roll(x, 1, axis=i))
        return out * mask

    diagonal = sum(up[i] + down[i] for i in range(d))
    diagonal = xp.where(mask, diagonal, 1.0)
    b = [(up[i] - down[i]) * mask for i in range(d)]
    for j in range(d):
        if j not in columns:
            tensor[:, j] = np.nan
            continue
        chi, one = jacobi_pcg(apply, diagonal, b[j], rtol, xp)
        info["iterations"][j] = one["iterations"]
        info["residuals"][j] = one["residual"]
        info["solve_seconds"] += one["seconds"]
        for i in range(d):
            tensor[i, j] -= float(xp.vdot(b[i], chi)) / size
    return tensor, info
