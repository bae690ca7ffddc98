"""P1 simplex meshes (triangles in 2D, tetrahedra in 3D) whose nodes are lattice sites.

:func:`lattice_points` picks the nodes: every site inside the fine zone, and away from it
only the sites of coarser sub-lattices (spacing doubling with distance at the coarsening
``rate``); :func:`delaunay_mesh` connects them (SciPy's Qhull) and drops the flat simplices
that co-spherical lattice sites can leave on the hull; :class:`Mesh` holds the reference
geometry every element needs (shape-function gradients, volumes), the node-to-element CSR
map that forces are gathered through, element quality and point location.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Mesh:
    """nodes (nn, d) Å; elements (ne, d + 1) node indices, positively oriented.

    A mesh periodic along some axes has ``period`` (d,) (0 along open axes) and ``shifts``
    (ne, d + 1, d) integers: element e's local node a sits at
    ``nodes[elements[e, a]] + shifts[e, a] * period`` (its image across the period).
    """

    nodes: np.ndarray
    elements: np.ndarray
    node_sets: dict = field(default_factory=dict)
    period: np.ndarray | None = None
    shifts: np.ndarray | None = None

    def __post_init__(self):
        self.nodes = np.ascontiguousarray(self.nodes, float)
        self.elements = np.ascontiguousarray(self.elements, np.int64)
        self.dim = self.nodes.shape[1]
        if self.elements.shape[1] != self.dim + 1:
            raise ValueError(f"a {self.dim}D P1 mesh needs {self.dim + 1} nodes per element")
        self.period = (np.zeros(self.dim) if self.period is None
                       else np.asarray(self.period, float))
        self.shifts = (np.zeros(self.elements.shape + (self.dim,), np.int64)
                       if self.shifts is None else np.asarray(self.shifts, np.int64))
        corners = self.element_coordinates(self.nodes)
        edges = corners[:, 1:] - corners[:, :1]  # (ne, d, d)
        det = np.linalg.det(edges)
        flip = det < 0
        if flip.any():  # orient every element positively
            for arr in (self.elements, self.shifts):
                arr[flip, :2] = arr[flip, 1::-1][:, :2]
            corners = self.element_coordinates(self.nodes)
            edges = corners[:, 1:] - corners[:, :1]
            det = np.linalg.det(edges)
        if np.any(det <= 0):
            raise ValueError(f"{int((det <= 0).sum())} elements have no volume")
        self.volumes = det / (1.0 if self.dim == 1 else (2.0 if self.dim == 2 else 6.0))
        inv = np.linalg.inv(edges)  # rows of inv^T are the gradients of N_1..N_d
        grads = np.empty((len(self.elements), self.dim + 1, self.dim))
        grads[:, 1:, :] = np.transpose(inv, (0, 2, 1))
        grads[:, 0, :] = -grads[:, 1:, :].sum(axis=1)
        self.gradients = grads  # (ne, d+1, d): dN_a/dX
        self._csr()

    def element_coordinates(self, x, period=None, elements=None) -> np.ndarray:
        """Corner positions (ne, d+1, d) of every element (or of the ``elements``, indices)
        for node positions ``x`` (nn, d), periodic images unfolded with ``period`` (default:
        the reference period)."""
        period = self.period if period is None else period
        pick = slice(None) if elements is None else elements
        corners = x[self.elements[pick]]
        if np.any(self.period):
            corners = corners + self.shifts[pick] * np.asarray(period)[None, None, :]
        return corners

    def deformation_gradients(self, x, period=None, elements=None) -> np.ndarray:
        """F = sum_a x_a (x) grad N_a (ne, d, d) of every element (or of the ``elements``,
        indices) for node positions ``x`` (nn, d); ``period`` as in
        :meth:`element_coordinates`."""
        corners = self.element_coordinates(x, period, elements)
        grads = self.gradients if elements is None else self.gradients[elements]
        return np.einsum("ead,eaf->edf", corners, grads)

    def _csr(self):
        """Node-to-element map: for node a, entries start[a]:start[a+1] of (element, local
        index), sorted by element, so gathers run in a fixed order with no atomics."""
        ne, k = self.elements.shape
        flat = self.elements.reshape(-1)
        order = np.lexsort((np.repeat(np.arange(ne), k), flat))
        self.csr_element = (order // k).astype(np.int64)
        self.csr_local = (order % k).astype(np.int64)
        counts = np.bincount(flat, minlength=len(self.nodes))
        self.csr_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def boundary_faces(self) -> np.ndarray:
        """Faces (nf, d) that belong to one element only, oriented with outward normals."""
        k = self.dim + 1
        faces, owner_vertex = [], []
        for drop in range(k):
            keep = [i for i in range(k) if i != drop]
            faces.append(self.elements[:, keep])
            owner_vertex.append(self.elements[:, drop])
        faces = np.concatenate(faces)
        opposite = np.concatenate(owner_vertex)
        key = np.sort(faces, axis=1)
        _, first, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
        single = first[counts == 1]
        faces, opposite = faces[single], opposite[single]
        normals = self.face_normals(faces)
        inward = ((self.nodes[opposite] - self.nodes[faces[:, 0]]) * normals).sum(axis=1) > 0
        faces[inward, :2] = faces[inward, 1::-1][:, :2]
        return faces

    def face_normals(self, faces) -> np.ndarray:
        """Area-weighted normals (nf, d) of faces (nf, d): |n| is the face's area (length)."""
        p = self.nodes[faces]
        if self.dim == 2:
            t = p[:, 1] - p[:, 0]
            return np.column_stack([t[:, 1], -t[:, 0]])
        return 0.5 * np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])

    def tag_box_sides(self, tol: float = 1e-6) -> dict:
        """Node sets and face sets of the sides of the bounding box: "xlo", "xhi", "ylo", ...
        (a face belongs to a side when all its nodes lie on it)."""
        lo, hi = self.nodes.min(axis=0), self.nodes.max(axis=0)
        faces = self.boundary_faces()
        self.face_sets = {}
        for axis, name in enumerate("xyz"[: self.dim]):
            for side, value in (("lo", lo[axis]), ("hi", hi[axis])):
                on = np.abs(self.nodes[:, axis] - value) < tol
                self.node_sets[f"{name}{side}"] = on
                self.face_sets[f"{name}{side}"] = faces[np.all(on[faces], axis=1)]
        return self.face_sets

    def traction_loads(self, faces, traction) -> np.ndarray:
        """Nodal forces (nn, d) of a constant ``traction`` (d,) (eV/Å^3 in 3D) on ``faces``:
        each face's force, area times traction, shared equally by its nodes."""
        area = np.linalg.norm(self.face_normals(faces), axis=1)
        per_node = (area / self.dim)[:, None] * np.asarray(traction, float)[None, :]
        out = np.zeros_like(self.nodes)
        for j in range(self.dim):
            np.add.at(out, faces[:, j], per_node)
        return out

    def quality_report(self) -> dict:
        q = self.quality()
        return {"elements": int(len(self.elements)), "nodes": int(self.n_nodes),
                "min_quality": float(q.min()), "median_quality": float(np.median(q))}

    def quality(self) -> np.ndarray:
        """Per element: d * inradius / circumradius-like ratio, 1 for the regular simplex;
        here the normalised volume over the mean edge length^d (1 for regular)."""
        idx = [(i, j) for i in range(self.dim + 1) for j in range(i + 1, self.dim + 1)]
        c = self.element_coordinates(self.nodes)
        lengths = np.stack([np.linalg.norm(c[:, i] - c[:, j], axis=1) for i, j in idx], axis=1)
        rms = np.sqrt((lengths**2).mean(axis=1))
        regular = np.sqrt(3) / 4 if self.dim == 2 else 1 / (6 * np.sqrt(2))
        return self.volumes / (regular * rms**self.dim)

    def gather(self, element_values, device=None) -> np.ndarray:
        """Sum per-element, per-local-node values (ne, d+1, ...) into nodes (nn, ...), each
        node's entries in CSR order (compiled backends: ``kernels/cauchy_born.cu``)."""
        if device is not None and device.compiled:
            ncomp = int(np.prod(element_values.shape[2:]))
            out = device.xp.empty((self.n_nodes, ncomp))
            device.kernels("cauchy_born").gather_nodes(
                self.n_nodes, ncomp, self.dim + 1, device.asarray(self.csr_start),
                device.asarray(self.csr_element), device.asarray(self.csr_local),
                device.asarray(np.ascontiguousarray(element_values, float)), out)
            return device.to_host(out).reshape((self.n_nodes,) + element_values.shape[2:])
        contrib = element_values[self.csr_element, self.csr_local]
        out = np.zeros((self.n_nodes,) + element_values.shape[2:])
        counts = np.diff(self.csr_start)
        owner = np.repeat(np.arange(self.n_nodes), counts)
        np.add.at(out, owner, contrib)
        return out

    def locate(self, points, tol=1e-9):
        """(element index (p,), barycentric coordinates (p, d+1)) of reference points; -1 where
        a point lies in no element."""
        from scipy.spatial import cKDTree

        points = np.atleast_2d(np.asarray(points, float))
        centroids = self.element_coordinates(self.nodes).mean(axis=1)
        tree = cKDTree(centroids)
        found = np.full(len(points), -1)
        bary = np.zeros((len(points), self.dim + 1))
        k = min(32, len(self.elements))
        _, cand = tree.query(points, k=k)
        cand = np.atleast_2d(cand)
        for c in range(k):
            e = cand[:, c]
            todo = found < 0
            if not todo.any():
                break
            lam = self._barycentric(e[todo], points[todo])
            inside = np.all(lam >= -tol, axis=1)
            idx = np.nonzero(todo)[0][inside]
            found[idx] = e[todo][inside]
            bary[idx] = lam[inside]
        return found, bary

    def _barycentric(self, elements, points):
        x0 = self.element_coordinates(self.nodes)[elements, 0]
        lam_rest = np.einsum("pad,pd->pa", self.gradients[elements, 1:, :], points - x0)
        return np.concatenate([1 - lam_rest.sum(axis=1, keepdims=True), lam_rest], axis=1)


def position_hash(points, seed: int = 0) -> np.ndarray:
    """A pseudo-random number in [0, 1) for each point, a function of its position (rounded
    to 1e-6 Å) and ``seed`` only (splitmix64 of the packed coordinates)."""
    q = np.round(np.asarray(points, float) / 1e-6).astype(np.int64).view(np.uint64)
    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9],
                    dtype=np.uint64)[: q.shape[1]]
    with np.errstate(over="ignore"):
        h = np.bitwise_xor.reduce(q * mult, axis=1) ^ np.uint64(seed * 0x2545F4914F6CDD1D % 2**64)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    return (h >> np.uint64(11)).astype(np.float64) / float(2**53)


def delaunay_mesh(points, seed: int = 0, periodic=None, lo=None, hi=None) -> Mesh:
    """A Delaunay triangulation of ``points`` (n, d) with no flat simplex; periodic along the
    axes flagged in ``periodic``, with period ``hi - lo`` (points in [lo, hi) there).

    Lattice sites are co-spherical in groups (the 8 corners of a cube, the 6 of an fcc
    octahedron), where the Delaunay triangulation is not unique and a triangulation of the
    group can contain a simplex with zero volume. The ties are broken by lifting the points
    to ``|x - c|^2 + eps * u`` (u in [0, 1) a hash of the point's position and ``seed``, so
    the same point set gives the same mesh whatever the order, two point sets that differ
    only somewhere (a vacancy) get the same elements away from it, and periodic images share
    u; eps far below any true difference of lifts) and taking the
    lower convex hull (Qhull): a regular triangulation of the unperturbed points (the same
    for every periodic image), whose simplices all have volume, since a lower facet cannot
    stand on co-planar points. Along a periodic axis the points are copied one period to
    each side, and of each periodic class of simplices the image whose lowest-numbered node
    lies in [lo, hi) is kept: they tile the period exactly, their nodes folded back with
    integer shifts (simplices must be smaller than half a period).
    """
    from scipy.spatial import ConvexHull, cKDTree

    points = np.asarray(points, float)
    n, d = points.shape
    periodic = np.zeros(d, bool) if periodic is None else np.asarray(periodic, bool)[:d]
    period = np.zeros(d)
    if periodic.any():
        lo, hi = np.asarray(lo, float)[:d], np.asarray(hi, float)[:d]
        period[periodic] = (hi - lo)[periodic]
        if np.any((points[:, periodic] < lo[periodic] - 1e-9)
                  | (points[:, periodic] >= hi[periodic] - 1e-9)):
            raise ValueError("along a periodic axis the points must lie in [lo, hi)")
    ranges = [(-1, 0, 1) if p else (0,) for p in periodic]
    images = np.array(np.meshgrid(*ranges, indexing="ij")).reshape(d, -1).T  # (k, d)
    padded = (points[None, :, :] + images[:, None, :] * period).reshape(-1, d)
    origin = np.tile(np.arange(n), len(images))
    shift = np.repeat(images, n, axis=0)
    centred = padded - padded.mean(axis=0)
    lift = (centred**2).sum(axis=1)
    nearest = cKDTree(points).query(points, k=2)[0][:, 1].min()  # smallest spacing
    u = position_hash(points, seed)[origin]
    # lattice co-sphericity is exact or off by O(a^2): eps far below that. On a large graded
    # box (1,000 Å) Qhull can still merge a tied group into a facet whose triangulation
    # holds a flat simplex (seen: 4 sites of one cube face beside a vacancy at 10^8 sites);
    # then the perturbation grows tenfold and the hull is taken again (the choice among ties
    # is set by u, not by eps, so meshes that came out whole are unchanged)
    for scale in (1e-4, 1e-3, 1e-2):
        eps = scale * nearest**2
        hull = ConvexHull(np.column_stack([centred, lift + eps * u]), qhull_options="Qt Qbb")
        # lower facets: normals pointing down, a last component of order one (Qbb scales
        # the lift to the points' extent)
        simplices = hull.simplices[hull.equations[:, d] < -1e-6]
        corners = padded[simplices]
        volume = np.abs(np.linalg.det(corners[:, 1:] - corners[:, :1]))
        if volume.min(initial=np.inf) > 1e-9 * volume.max(initial=0.0):
            break
    if not periodic.any():
        return Mesh(points, simplices)
    # one image of each periodic class of simplices: the one whose lowest-numbered node sits
    # in the original period (integer shifts, so no rounding decides it: a centroid on a
    # periodic face could otherwise drop the simplex on both sides)
    nodes, shifts = origin[simplices], shift[simplices]
    lowest = np.argmin(nodes, axis=1)
    base = shifts[np.arange(len(simplices)), lowest]
    inside = np.all(base[:, periodic] == 0, axis=1)
    return Mesh(points, nodes[inside], period=period, shifts=shifts[inside] - base[inside, None])


def lattice_points(lattice, lo, hi, fine_lo, fine_hi, rate: float = 0.5, max_level: int = 6,
                   periodic=None, distance=None):
    """Sites of ``lattice`` in the box [lo, hi]: all of them inside the fine zone, and farther
    out only those whose conventional-cell indices are multiples of 2^level,
    level = floor(log2(1 + rate * distance / a)) (capped); on the faces of the box the rule
    applies within the face, so the faces stay covered. Along a ``periodic`` axis every cell
    layer is kept (no coarsening across the period, whose images would otherwise share
    Delaunay ties) and the sites lie in [lo, hi).

    The fine zone is the box [fine_lo, fine_hi], or the sites where ``distance`` (a function
    of sites (n, d) -> (n,) Å) is 0 (a sphere, say). With both, the box must contain that
    zone and ``distance`` be at least the distance to the box (true of a sphere in its
    bounding cube): only then are the sites made level by level, near the zone densely and
    far away on the coarse grids alone, so the cost grows with the nodes kept, not with the
    volume. ``distance`` without a box enumerates every site of the domain."""
    from qc_sim.geometry.lattice import sites_in_box

    d = lattice.dimension
    lo, hi = np.asarray(lo, float)[:d], np.asarray(hi, float)[:d]
    cell = np.diag(lattice.cell)[:d]
    periodic = np.zeros(d, bool) if periodic is None else np.asarray(periodic, bool)[:d]
    if fine_lo is None:
        x, cell_index, basis_index = sites_in_box(lattice, lo, hi, open_hi=periodic)
    else:
        fine_lo, fine_hi = np.asarray(fine_lo, float)[:d], np.asarray(fine_hi, float)[:d]
        x, cell_index, basis_index = _candidates(lattice, lo, hi, fine_lo, fine_hi, rate,
                                                 max_level, periodic)
    if distance is None:
        gap = np.maximum(np.maximum(fine_lo - x, x - fine_hi), 0.0)
        distance = np.sqrt((gap**2).sum(axis=1))
    else:
        distance = np.asarray(distance(x), float)
    level = np.minimum(np.floor(np.log2(1.0 + rate * distance / lattice.a)), max_level)
    step = (2 ** level).astype(int)
    on_face = ((np.abs(x - lo) < 1e-9) | (np.abs(x - hi) < 1e-9)) & ~periodic  # (n, d)
    # a coarse site: cell indices multiples of the step (along a face, only in its plane, so
    # the faces of the box keep sites and the mesh covers the whole box)
    divisible = (cell_index[:, :d] % step[:, None] == 0) | on_face | periodic
    # and no coarse layer closer than half a step to a face it is not on (thin elements)
    to_face = np.minimum(x - lo, hi - x)
    roomy = (to_face >= 0.5 * step[:, None] * cell[None, :] - 1e-9) | on_face | periodic
    # coarse sites are cell corners (basis site 0); the box should span whole cells so that
    # its faces carry corner sites
    on_grid = np.all(divisible & roomy, axis=1) & (basis_index == 0)
    keep = (distance == 0) | on_grid
    return x[keep]


def _candidates(lattice, lo, hi, fine_lo, fine_hi, rate, max_level, periodic):
    """A superset of the sites :func:`lattice_points` keeps, made without the whole domain:
    every site of the fine box, and for each level L the cell corners with indices multiples
    of 2^L (or on a face, or along a periodic axis any) within the distance at which level
    L + 1 begins, a (2^(L+1) - 1) / rate, of the fine box. Returned as (x, cell indices,
    basis indices) in :func:`~qc_sim.geometry.lattice.sites_in_box`'s order."""
    from qc_sim.geometry.lattice import in_box, positions_in_cells, sites_in_box

    d = lattice.dimension
    cell = np.diag(lattice.cell)[:d]
    parts = [sites_in_box(lattice, lo, hi, open_hi=periodic, within=(fine_lo, fine_hi))]
    first = np.floor(lo / cell).astype(int) - 1
    last = np.ceil(hi / cell).astype(int) + 1
    faces = [np.unique(np.concatenate([np.floor(v / cell[j]), np.ceil(v / cell[j])]).astype(int))
             for j, v in enumerate(np.stack([lo, hi], axis=1))]
    for level in range(int(max_level) + 1):
        step = 2**level
        reach = np.inf if level == max_level else lattice.a * (2 * step - 1) / rate
        a = np.maximum(lo, fine_lo - reach)
        b = np.minimum(hi, fine_hi + reach)
        axes = []
        for j in range(d):
            i0 = max(int(np.floor(a[j] / cell[j])) - 1, first[j])
            i1 = min(int(np.ceil(b[j] / cell[j])) + 1, last[j])
            if periodic[j]:
                axes.append(np.arange(i0, i1 + 1))
                continue
            grid = np.arange(-(-i0 // step) * step, i1 + 1, step)
            axes.append(np.union1d(grid, faces[j][(faces[j] >= i0) & (faces[j] <= i1)]))
        axes += [np.zeros(1, int)] * (3 - d)
        cells = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        x = (positions_in_cells(lattice, cells).reshape(len(cells), -1, 3)[:, 0, :d])
        keep = in_box(x, lo, hi, periodic) & np.all((x >= a - 1e-9) & (x <= b + 1e-9), axis=1)
        parts.append((x[keep], cells[keep].astype(int), np.zeros(int(keep.sum()), int)))
    x = np.concatenate([p[0] for p in parts])
    ci = np.concatenate([p[1] for p in parts]).astype(int)
    bi = np.concatenate([p[2] for p in parts])
    order = np.lexsort((bi, ci[:, 2], ci[:, 1], ci[:, 0]))
    x, ci, bi = x[order], ci[order], bi[order]
    first_of = np.ones(len(x), bool)
    first_of[1:] = np.any(ci[1:] != ci[:-1], axis=1) | (bi[1:] != bi[:-1])
    return x[first_of], ci[first_of], bi[first_of]
