"""Building a coupled model's geometry from a lattice, a domain and a region of interest.

Zones by the distance d of a lattice site outside the core (d <= 0 inside): core (beta = 1),
handshake (0 < d < w, beta ramps to 0), continuum (beta = 0). The core is a sphere (a disc
in 2D) of radius r_core, or the union of several with the same radius, one per centre (two
for a dislocation dipole), where d = min_c |X - c| - r_core. The mesh's nodes are every site
of a fine box around core and handshake (the bounding box of the centres, widened by
r_core + w + a) and a graded subset beyond; every site with beta > 0 is an atom and a node.
Padding atoms are the continuum sites within ``reach`` of those atoms: their positions are
interpolated from the mesh, ``x_p = sum_I N_I(X_p) y_I``, rows of the sparse matrix
``interpolation`` (atoms x nodes), whose transpose returns their forces to the nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.continuum.mesh import Mesh, delaunay_mesh, lattice_points
from qc_sim.coupling.blend import blend_weight
from qc_sim.geometry.lattice import Lattice, sites_in_box

CORE, HANDSHAKE, CONTINUUM = 0, 1, 2
ZONE_NAMES = ("core", "handshake", "continuum")


@dataclass
class CoupledGeometry:
    lattice: Lattice
    lo: np.ndarray
    hi: np.ndarray
    center: np.ndarray  # (d,) one centre, or (k, d) the centres of a union of k spheres
    core_radius: float
    width: float
    mesh: Mesh
    node_beta: np.ndarray  # (nn,)
    node_zone: np.ndarray  # (nn,) CORE, HANDSHAKE or CONTINUUM
    held: np.ndarray  # (nn,) nodes on the outer boundary
    atom_sites: np.ndarray  # (na, d) reference positions of all atoms (blended + padding)
    atom_beta: np.ndarray  # (na,)
    atom_node: np.ndarray  # (na,) the node an atom is, or -1 for interpolated padding
    interpolation: object  # scipy.sparse (na, nn)
    element_beta: np.ndarray  # (ne,) beta at element centroids
    defect_free: "CoupledGeometry | None" = None  # the same zones without the defects
    periodic: np.ndarray | None = None  # (d,) bool: axes periodic with period hi - lo
    atom_offset: np.ndarray | None = None  # (na, d) Å: x = Phi y + offset (periodic images)

    def __post_init__(self):
        d = self.mesh.dim
        self.periodic = (np.zeros(d, bool) if self.periodic is None
                         else np.asarray(self.periodic, bool)[:d])
        self.atom_offset = (np.zeros((len(self.atom_sites), d)) if self.atom_offset is None
                            else np.asarray(self.atom_offset, float))

    @property
    def dim(self) -> int:
        return self.mesh.dim

    @property
    def centers(self) -> np.ndarray:
        """(k, d) the centres of the core's spheres (k = 1 for a spherical core)."""
        return np.atleast_2d(self.center)

    def distance(self, points) -> np.ndarray:
        """(n,) Å distance of ``points`` (n, d) outside the core (negative inside)."""
        return core_distance(points, self.center, self.core_radius, ~self.periodic)


def core_distance(points, centers, radius: float, axes=None) -> np.ndarray:
    """(n,) distance (Å) of ``points`` (n, d) outside the union of the spheres of ``radius``
    about ``centers`` ((d,) or (k, d)): min_c |X - c| - radius, negative inside. (A union
    is not a signed-distance function inside, where d is only the depth below the nearest
    sphere's surface; outside, where beta varies, it is the exact distance to the union.)
    Only the ``axes`` (mask) count: along a periodic axis the core is a cylinder."""
    points = np.atleast_2d(np.asarray(points, float))
    centers = np.atleast_2d(np.asarray(centers, float))[:, : points.shape[1]]
    if axes is not None:
        axes = np.asarray(axes, bool)[: points.shape[1]]
        points, centers = points[:, axes], centers[:, axes]
    if len(centers) <= 8 or len(points) * len(centers) <= 1 << 16:
        gaps = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=2)
        return gaps.min(axis=1) - float(radius)
    return _nearest_gap(points, centers) - float(radius)


def _nearest_gap(points, centers, k: int = 8) -> np.ndarray:
    """(n,) min_c |X - c| over many ``centers``, to the bit what the dense (n, k) norm gives:
    a k-d tree names each point's ``k`` nearest centres, their norms are taken as the dense
    form takes them, and a point whose k-th candidate is not clearly farther than its first
    (more than k centres about equally near) gets the dense minimum over all of them."""
    from scipy.spatial import cKDTree

    near, which = cKDTree(centers).query(points, k=k)
    gaps = np.linalg.norm(points[:, None, :] - centers[which], axis=2).min(axis=1)
    tied = np.flatnonzero(near[:, -1] <= near[:, 0] * (1.0 + 1e-9) + 1e-9)
    for chunk in np.array_split(tied, max(1, len(tied) // 4096)):
        if len(chunk):
            gaps[chunk] = np.linalg.norm(points[chunk, None, :] - centers[None, :, :],
                                         axis=2).min(axis=1)
    return gaps


def _without(points, removed):
    """``points`` minus those within 1e-6 Å of any of ``removed``."""
    from scipy.spatial import cKDTree

    if removed is None or len(removed) == 0:
        return points
    gap = cKDTree(np.atleast_2d(removed)).query(points, k=1)[0]
    return points[gap > 1e-6]


def build_geometry(lattice: Lattice, lo, hi, center, core_radius: float, width: float,
                   reach: float, rate: float = 0.5, max_level: int = 6,
                   vacancies=None, periodic=None, fine_margin: float | None = None,
                   cut=None, fine_zone: str = "box") -> CoupledGeometry:
    """Zones, mesh, atoms and padding for a spherical (circular in 2D) core, or a core that is
    the union of such spheres of one radius.

    lo, hi: the domain box (Å), spanning whole lattice cells; center (d,) and core_radius: the
    core, or center (k, d) for the union of k spheres of that radius (e.g. one about each
    dislocation of a dipole); width: the handshake width (Å); reach: how far padding must
    extend beyond the blended atoms (one cutoff for energy-based couplings, two for
    force-based EAM); vacancies: lattice sites (k, d) left empty, which must lie in the core
    (the model then keeps a defect-free twin with the same zones, for bgfc's correction);
    periodic: axes (mask) periodic with period hi - lo (no held boundary there, the core a
    cylinder along them, padding atoms near the seam interpolated from the elements' images:
    x = Phi y + offset); fine_margin: how far the all-sites zone extends beyond the handshake
    (default one lattice constant); cut: a function of element corners (ne, d + 1, d) -> bool
    (ne,) that is true for the elements a cut (a crack's faces) removes; a model with a cut,
    like one with vacancies, keeps a twin without it; fine_zone: "box" (every site of the
    bounding box of the spheres widened by the handshake and the margin is a node) or
    "sphere" (only the sites within the margin of the handshake: far fewer nodes and
    elements around a compact core). Only the lattice sites near the core and the coarse
    nodes are ever made, so the cost of the set-up grows with the nodes, not the domain.
    """
    d, lo, hi, center, periodic = _frame(lattice, lo, hi, center, periodic)
    centers = np.atleast_2d(center)
    if len(centers) == 0:
        raise ValueError("the core needs at least one centre")
    open_ = ~periodic
    outer = core_radius + width
    margin = lattice.a if fine_margin is None else float(fine_margin)
    fine_lo = np.where(periodic, lo, centers.min(axis=0) - outer - margin)
    fine_hi = np.where(periodic, hi, centers.max(axis=0) + outer + margin)
    if np.any(((fine_lo - reach < lo) | (fine_hi + reach > hi)) & open_):
        raise ValueError(f"the domain must extend at least the reach ({reach:.2f} Å) beyond "
                         f"the handshake on every side")
    defect_free = None
    if vacancies is not None and len(vacancies):
        vacancies = np.atleast_2d(np.asarray(vacancies, float))[:, :d]
        if np.any(core_distance(vacancies, centers, core_radius, open_) > 0):
            raise ValueError("vacancies must lie in the atomistic core")
    else:
        vacancies = None
    if fine_zone not in ("box", "sphere"):
        raise ValueError(f"fine_zone {fine_zone!r} is not one of box, sphere")
    if vacancies is not None or cut is not None:
        defect_free = build_geometry(lattice, lo, hi, center, core_radius, width, reach, rate,
                                     max_level, periodic=periodic, fine_margin=fine_margin,
                                     fine_zone=fine_zone)
    distance = None
    if fine_zone == "sphere":
        def distance(x):
            return np.maximum(core_distance(x, centers, core_radius + width + margin, open_),
                              0.0)
    nodes = _without(lattice_points(lattice, lo, hi, fine_lo, fine_hi, rate=rate,
                                    max_level=max_level, periodic=periodic,
                                    distance=distance), vacancies)
    # the sites that can be atoms: blended ones and their padding, within reach of the
    # handshake (a little more, for rounding)
    near = (np.where(periodic, lo, centers.min(axis=0) - outer - reach - lattice.a),
            np.where(periodic, hi, centers.max(axis=0) + outer + reach + lattice.a))
    near_sites = sites_in_box(lattice, lo, hi, open_hi=periodic, within=near)[0]
    sites = _without(near_sites, vacancies)
    if vacancies is not None and len(near_sites) - len(sites) != len(vacancies):
        raise ValueError(f"{len(vacancies) - len(near_sites) + len(sites)} of the vacancies "
                         "lie on no lattice site (a vacancy must be a site of the lattice)")
    return assemble_geometry(lattice, lo, hi, center, core_radius, width, reach, nodes, sites,
                             periodic=periodic, cut=cut, defect_free=defect_free)


def assemble_geometry(lattice: Lattice, lo, hi, center, core_radius: float, width: float,
                      reach: float, nodes, sites, periodic=None, cut=None, free_faces=None,
                      defect_free: CoupledGeometry | None = None) -> CoupledGeometry:
    """The coupled geometry on given mesh ``nodes`` (nn, d) and lattice ``sites`` (ns, d) of
    the box [lo, hi] (lattice sites, ``nodes`` among ``sites``): the Delaunay mesh (less the
    elements ``cut`` marks), zones and blend weights, the held nodes (those on the box's
    faces, across the open axes), the blended atoms and their padding within ``reach``, and
    the interpolation. ``free_faces`` (d, 2) bool marks faces (low, high per axis) that are
    a free surface: no node on one is held, not even on its rim; ``defect_free`` is the
    twin the model keeps (:func:`build_geometry`)."""
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    d, lo, hi, center, periodic = _frame(lattice, lo, hi, center, periodic)
    centers = np.atleast_2d(center)
    open_ = ~periodic
    period = np.where(periodic, hi - lo, 0.0)
    free = np.zeros((d, 2), bool) if free_faces is None else np.asarray(free_faces, bool)

    def beta_of(points):
        return blend_weight(core_distance(points, centers, core_radius, open_), width)

    mesh = delaunay_mesh(nodes, periodic=periodic, lo=lo, hi=hi)
    if cut is not None:
        mesh = _cut(mesh, cut)
    dist = core_distance(mesh.nodes, centers, core_radius, open_)
    node_beta = blend_weight(dist, width)
    node_zone = np.where(dist <= 0, CORE, np.where(node_beta > 0, HANDSHAKE, CONTINUUM))
    low, high = np.abs(mesh.nodes - lo) < 1e-6, np.abs(mesh.nodes - hi) < 1e-6
    on_free = np.any((low & free[:, 0]) | (high & free[:, 1]), axis=1)
    on_box = np.any((low | high) & open_, axis=1) & ~on_free

    site_beta = beta_of(sites)
    blended = sites[site_beta > 0]
    images = _images(periodic) * period  # (k, d): the blended sites' periodic images
    near = cKDTree((blended[None] + images[:, None]).reshape(-1, d)).query(
        sites, k=1, distance_upper_bound=reach)[0] < np.inf
    padding = near & (site_beta == 0)
    atom_sites = np.concatenate([blended, sites[padding]])
    atom_beta = np.concatenate([site_beta[site_beta > 0], np.zeros(int(padding.sum()))])

    node_tree = cKDTree(mesh.nodes)
    gap, nearest = node_tree.query(atom_sites, k=1)
    atom_node = np.where(gap < 1e-6, nearest, -1)
    if np.any(atom_node[: len(blended)] < 0):
        raise AssertionError("a blended atom is not a mesh node")
    rows, cols, vals = [], [], []
    is_node = atom_node >= 0
    rows.append(np.nonzero(is_node)[0])
    cols.append(atom_node[is_node])
    vals.append(np.ones(int(is_node.sum())))
    slaved = np.nonzero(~is_node)[0]
    offset = np.zeros((len(atom_sites), d))
    if len(slaved):
        element = np.full(len(slaved), -1)
        bary = np.zeros((len(slaved), d + 1))
        image = np.zeros((len(slaved), d))
        for shift in _images(periodic):  # a padding atom may lie in an element's image
            todo = element < 0
            if not todo.any():
                break
            e, b = mesh.locate(atom_sites[slaved[todo]] + shift * period)
            hit = np.flatnonzero(todo)[e >= 0]
            element[hit], bary[hit], image[hit] = e[e >= 0], b[e >= 0], shift
        if np.any(element < 0):
            raise ValueError("a padding atom lies outside the mesh")
        rows.append(np.repeat(slaved, d + 1))
        cols.append(mesh.elements[element].reshape(-1))
        vals.append(bary.reshape(-1))
        # X_p = sum_a N_a (X_a + s_a L) - image L: the shifts stay as a fixed offset
        offset[slaved] = (np.einsum("pa,pad->pd", bary, mesh.shifts[element]) - image) * period
    phi = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(len(atom_sites), mesh.n_nodes))
    centroids = mesh.element_coordinates(mesh.nodes).mean(axis=1)
    element_beta = beta_of(centroids)
    return CoupledGeometry(lattice, lo, hi, center, float(core_radius), float(width), mesh,
                           node_beta, node_zone, on_box, atom_sites, atom_beta, atom_node, phi,
                           element_beta, defect_free, periodic, offset)


def _frame(lattice, lo, hi, center, periodic):
    """(d, lo, hi, center, periodic) as arrays of the lattice's dimension."""
    d = lattice.dimension
    center = np.asarray(center, float)
    center = center[:d] if center.ndim == 1 else center[:, :d]
    periodic = np.zeros(d, bool) if periodic is None else np.asarray(periodic, bool)[:d]
    return d, np.asarray(lo, float)[:d], np.asarray(hi, float)[:d], center, periodic


def _images(periodic) -> np.ndarray:
    """(k, d) integer shifts: 0 first, then -1 and +1 along each periodic axis."""
    ranges = [(0, -1, 1) if p else (0,) for p in periodic]
    grid = np.array(np.meshgrid(*ranges, indexing="ij")).reshape(len(ranges), -1).T
    return grid[np.argsort(np.abs(grid).sum(axis=1), kind="stable")]


def _cut(mesh: Mesh, cut) -> Mesh:
    """``mesh`` without the elements ``cut`` marks (given their corners), and without the
    nodes left on no element."""
    keep = ~np.asarray(cut(mesh.element_coordinates(mesh.nodes)), bool)
    used = np.unique(mesh.elements[keep])
    renumber = np.full(mesh.n_nodes, -1)
    renumber[used] = np.arange(len(used))
    return Mesh(mesh.nodes[used], renumber[mesh.elements[keep]], period=mesh.period,
                shifts=mesh.shifts[keep])
