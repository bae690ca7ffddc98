"""A surface step on a free (001) face of an fcc slab loaded uniaxially, in a coupled model
and atom by atom: the problem of dislocation nucleation from a step (issue 30; Hirel,
Godet, Brochard, Pizzagalli & Beauchamp, Phys. Rev. B 78 (2008) 064109, steps on fcc (001)
surfaces; Zhu, Li, Samanta, Leach & Gall, Phys. Rev. Lett. 100 (2008) 025502).

The crystal is turned as the Lomer dipole's: x = [110] (the load, in the surface plane,
across the step), y = [001] (the surface normal), z = [1-10] (the step line, periodic, a
few Burgers vectors thick). Both {111} planes that hold the step line, (111) and (11-1),
meet the surface along z at 54.7 degrees, so a dislocation nucleated at the step is a
straight line along z and the problem is quasi-2D: the geometry is periodic along the line
and the Shockley partial a/6<112> that leads it is a 90-degree partial, its Burgers
vector in the xy plane (Schmid factor sqrt(2)/3 = 0.471 for a uniaxial x stress).

The body spans [0, W] x [0, H] x [0, L); its x faces are held, its top face y = H is free,
and its bottom y = 0 is held (``bottom_held``: a *block*, the stand-in for a half-space)
or free (a *film*). The top carries a straight step along z at x = ``step_x`` (between two
atomic columns), ``layers`` (001) planes (a/2 each) high: the terrace left of the step is
the higher one, the sites above ``H - layers a/2`` right of the riser, a {111} facet
rising to the left from (step_x, H - layers a/2), are removed (the notch). The load is a
homogeneous deformation F = diag(1 + e, 1 + e_yy, 1) of the held faces, with e_yy the
Cauchy-Born lateral strain that leaves sigma_yy = 0 (uniaxial stress, plane strain along
the line), so the free faces feel no traction in the homogeneous state. The step sits right
of the middle so that the slip trace under the upper terrace, to ``centre_depth`` (a
film: through it), is centred. Three planes of that (111) family cut the riser
(:meth:`StepSlab.trace_point` ``plane`` 0, 1, 2 from the re-entrant corner up); the
loading nucleates on plane 1 (docs/step_nucleation.md).

A Shockley partial nucleated at the step under a stress well above gamma/b_p (0.3 GPa for
Cu) glides on until something stops it. In a film it leaves through the bottom face, and
the stacking-fault ribbon left behind is a true minimum. In a block it would run to the
held faces, which a coupled core cannot reach; there the end state is the partial's
Volterra cut ``depth`` Å down its plane (:func:`partial_seed`) held by pinned atoms ahead
of it (``simulation.nucleation.pin_mask``), the same obstacle in both models.

The coupled model's atomistic core is the union of cylinders (along z) about points of the
chosen slip trace from the step to ``core_depth`` Å down (a film: through it), about the
step's corner, and with ``surfaces`` about the free faces' lines from end to end,
``surface_radius`` deep (a Cauchy-Born continuum carries no surface stress; where the
atoms' surface ended in continuum its surface stress would act as a line force on the
body), the box then reaching a held shell beyond each x face. The handshake and graded
Cauchy-Born elements carry the rest. The mesh keeps the notch empty (coarse nodes that fall
in it are moved onto the lower terrace's top plane, the elements left spanning it
removed); the twin without surfaces (for the patch test and bgfc's correction) is the slab
continued to y = -H below and 2H above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.coupling.crack import _between
from qc_sim.coupling.geometry import _without, assemble_geometry, core_distance
from qc_sim.coupling.model import CoupledModel
from qc_sim.geometry.lattice import oriented_lattice, sites_in_box

ORIENTATION = ((1, 1, 0), (0, 0, 1), (1, -1, 0))
SCHMID = np.sqrt(2.0) / 3.0  # 90-degree Shockley partial on {111} under an x stress


@dataclass(frozen=True)
class StepSlab:
    """The stepped slab: the oriented ``lattice`` in the box [0, hi] (z periodic), the step
    at ``step_x`` Å, ``layers`` (001) planes high, on the top face y = hi[1]."""

    lattice: object
    hi: np.ndarray
    step_x: float
    layers: int
    bottom_held: bool = False

    @property
    def top(self) -> float:
        return float(self.hi[1])

    @property
    def lower_terrace(self) -> float:
        """y (Å) of the lower terrace's top plane."""
        return self.top - self.layers * self.lattice.a / 2

    @property
    def corner(self) -> np.ndarray:
        """(x, y) Å of the step's re-entrant corner (the lower terrace's plane at the step)."""
        return np.array([self.step_x, self.lower_terrace])

    @property
    def line_length(self) -> float:
        return float(self.hi[2])

    @property
    def burgers(self) -> float:
        """|b| = a/sqrt(2) Å of the perfect dislocation; the partial's is a/sqrt(6)."""
        return self.lattice.a / np.sqrt(2.0)

    def notch(self, points) -> np.ndarray:
        """(n,) True for ``points`` (n, >=2) in the removed part: above the lower terrace
        and right of the riser, a {111} facet from the re-entrant corner up to the left
        (each layer ends half a column, a/(2 sqrt 2), short of the one below: a riser cut
        straight up would leave every other layer overhanging the one below by that much,
        and its edge row falls off the step as the slab relaxes)."""
        p = np.asarray(points, float)
        rise = p[:, 1] - self.lower_terrace
        return (rise > 1e-6) & (p[:, 0] > self.step_x - rise / np.sqrt(2.0) + 1e-6)

    def slip_directions(self) -> np.ndarray:
        """(2, 2) unit vectors in xy down the traces of (111) and (11-1) from the step: one
        under the lower terrace (+x), one under the upper terrace (-x)."""
        angle = np.arctan(np.sqrt(2.0))  # 54.7 degrees between {111} and (001)
        return np.array([[np.cos(angle), -np.sin(angle)], [-np.cos(angle), -np.sin(angle)]])

    @property
    def through(self) -> float:
        """Å along the slip trace from the corner to the bottom face."""
        return float(self.lower_terrace / np.sin(np.arctan(np.sqrt(2.0))))

    def trace_point(self, depth: float, plane: int = 0) -> np.ndarray:
        """(x, y) Å of the point ``depth`` Å down the slip trace under the upper terrace:
        ``plane`` 0 the (111) plane through the step's re-entrant corner, 1, 2, ... the
        parallel planes a/sqrt(3) apart towards the upper terrace; planes 0 to ``layers``
        cut the riser (a facet of the other {111} plane of the zone)."""
        d = self.slip_directions()[1]
        towards_upper = np.array([d[1], -d[0]])
        return (self.corner + depth * d
                + plane * self.lattice.a / np.sqrt(3.0) * towards_upper)

    def core_centres(self, depth: float, spacing: float, planes: str = "upper",
                     plane: int = 0) -> np.ndarray:
        """(k, 3) points of the slip traces from the corner to ``depth`` Å, ``spacing``
        apart (z = 0: the core is a union of cylinders along the periodic z): ``planes``
        "upper" (the plane under the upper terrace, the one the atomistic loading
        nucleates on under tension), "lower" or "both"; the upper one the ``plane``-th of
        its family (:meth:`trace_point`), the corner always among the points."""
        n = max(int(np.ceil(depth / spacing)), 0)
        steps = np.linspace(0.0, depth, n + 1) if n else np.zeros(1)
        pts = [self.corner]
        chosen = {"lower": [0], "upper": [1], "both": [0, 1]}[planes]
        for k in chosen:
            if k == 1:
                pts.extend(self.trace_point(t, plane) for t in steps)
            else:
                pts.extend(self.corner + t * self.slip_directions()[0] for t in steps[1:])
        out = np.zeros((len(pts), 3))
        out[:, :2] = pts
        return out


def stepped_slab(a: float, repeats, layers: int, lattice=None, bottom_held: bool = False,
                 centre_depth: float | None = None) -> StepSlab:
    """The slab of ``repeats`` oriented cells (2.56 x 3.61 x 2.56 Å for Cu) of the fcc
    lattice of constant ``a``, its step ``layers`` planes high near the middle along x: the
    slip trace under the upper terrace, from the corner to ``centre_depth`` Å down it
    (default: through the slab), is centred in x. ``bottom_held``: a block, its bottom face
    held at the far field like its x faces (a half-space's stand-in), not a film."""
    from qc_sim.geometry import fcc

    turned = oriented_lattice(lattice or fcc(a), ORIENTATION)
    lengths = np.diag(turned.cell)
    hi = np.asarray(repeats, float) * lengths
    if layers < 1 or layers * a / 2 >= hi[1] / 2:
        raise ValueError(f"a step of {layers} layers does not fit a slab {hi[1]:.4g} Å high")
    angle = np.arctan(np.sqrt(2.0))
    through = (hi[1] - layers * a / 2) / np.sin(angle)
    depth = through if centre_depth is None else min(float(centre_depth), through)
    offset = 0.5 * depth * np.cos(angle)
    step_x = _between(turned.basis[:, 0] * lengths[0], lengths[0], hi[0] / 2 + offset)
    return StepSlab(turned, hi, step_x, int(layers), bool(bottom_held))


def slab_sites(slab: StepSlab, lo=None, hi=None) -> np.ndarray:
    """(n, 3) the slab's sites in [lo, hi] (default the slab's box, z in [0, L)), the notch
    left out."""
    lo = np.zeros(3) if lo is None else np.asarray(lo, float)
    hi = slab.hi if hi is None else np.asarray(hi, float)
    x = sites_in_box(slab.lattice, lo, hi, open_hi=(False, False, True))[0]
    return x[~slab.notch(x)]


def partial_seed(slab: StepSlab, points, depth: float, sense: float = 1.0,
                 plane: int = 0) -> np.ndarray:
    """(n, 3) Å the displacement of the 90-degree partial glided ``depth`` Å down the plane
    under the upper terrace from the step (the slip of :func:`slip_seed`, but ending in the
    crystal): the Volterra cut of an isotropic dislocation, b_p theta / (2 pi) along the
    trace, theta the angle about the line at ``depth`` measured from the trace ahead of it,
    so the two sides of the fault behind it differ by b_p and the crystal ahead is barely
    moved. Relaxed against atoms pinned ahead of the line
    (``simulation.nucleation.pin_mask``), it is the end state of
    a block, where the partial, unlike a film's, has no face to leave through. ``plane``:
    which of the parallel (111) planes (:meth:`StepSlab.trace_point`)."""
    p = np.asarray(points, float)
    d = slab.slip_directions()[1]
    normal = np.array([d[1], -d[0]])  # towards the upper terrace's side of the plane
    rel = p[:, :2] - slab.trace_point(depth, plane)
    theta = np.arctan2(rel @ normal, rel @ d)
    out = np.zeros((len(p), 3))
    out[:, :2] = (np.sign(sense) * slab.lattice.a / np.sqrt(6.0) / (2 * np.pi)) \
        * theta[:, None] * d
    return out


def slip_seed(slab: StepSlab, points, sense: float = 1.0) -> np.ndarray:
    """(n, 3) Å a displacement that has slipped the film on the plane under the upper
    terrace by the 90-degree partial's b_p = a/sqrt(6) along the trace, down-left (the sense
    tension along x drives): the part left of the plane moves by b_p, ramped linearly to 0
    at the held face x = 0; the part right of it stays. Relaxed, it is the state after the
    partial has glided through the film (a stacking fault from the step to the bottom face)
    without the loading that nucleates it. ``sense`` -1: the opposite slip, the one
    compression drives."""
    p = np.asarray(points, float)
    d = slab.slip_directions()[1]
    x_plane = slab.corner[0] + (p[:, 1] - slab.corner[1]) * d[0] / d[1]
    phi = np.where(p[:, 0] < x_plane, np.clip(p[:, 0] / x_plane, 0.0, 1.0), 0.0)
    out = np.zeros((len(p), 3))
    out[:, :2] = (np.sign(sense) * slab.lattice.a / np.sqrt(6.0)) * phi[:, None] * d
    return out


def uniaxial_strain(material, strain: float, tol: float = 1e-12) -> np.ndarray:
    """F = diag(1 + strain, 1 + e_yy, 1) with e_yy such that the Cauchy-Born sigma_yy = 0
    (Newton on P_yy); ``material`` a CauchyBorn of the oriented lattice."""
    e_yy = 0.0
    for _ in range(50):
        F = np.diag([1.0 + strain, 1.0 + e_yy, 1.0])
        P = material.stress(F)[1, 1]
        if abs(P) < tol:
            break
        h = 1e-6
        dP = (material.stress(F + np.diag([0, h, 0]))[1, 1]
              - material.stress(F - np.diag([0, h, 0]))[1, 1]) / (2 * h)
        e_yy -= P / dP
    return np.diag([1.0 + strain, 1.0 + e_yy, 1.0])


def resolved_shear_stress(material, F) -> float:
    """The resolved shear stress (GPa) of the homogeneous state F on the 90-degree partial's
    system ((111) plane, [-1-12]/sqrt(6) direction in the frame of :data:`ORIENTATION`):
    s . sigma . n with the Cauchy stress sigma = P F^T / det F; positive when it drives the
    partial down the plane from the step under tension."""
    from qc_sim.units import EV_PER_A3_TO_GPA

    F = np.asarray(F, float)
    sigma = material.stress(F) @ F.T / np.linalg.det(F)
    n = np.array([np.sqrt(2.0), 1.0, 0.0]) / np.sqrt(3.0)  # (111) in the frame
    s = np.array([1.0, -np.sqrt(2.0), 0.0]) / np.sqrt(3.0)  # in the plane, normal to z
    return float(s @ sigma @ n * EV_PER_A3_TO_GPA)


def step_geometry(slab: StepSlab, core_radius: float, core_depth: float | None, width: float,
                  reach: float, rate: float = 0.5, margin: float | None = None,
                  planes: str = "upper", surfaces: bool = False,
                  surface_radius: float | None = None, plane: int = 0):
    """The coupled geometry of ``slab``: core the union of cylinders of ``core_radius`` Å
    about the slip traces to ``core_depth`` Å (:meth:`StepSlab.core_centres`; None or 0:
    through the film and ``core_radius`` beyond), handshake
    ``width`` Å, every site within ``margin`` (default one lattice constant) of the
    handshake a node, graded nodes beyond; padding ``reach`` Å; top face free; and its twin
    without the surface (the slab continued to y = 2H). ``surfaces``: the core also holds
    the layers under both faces (cylinders of ``core_radius`` about the face lines) from end
    to end: a Cauchy-Born continuum carries no surface stress, which in a thin film shifts
    the stress at the step (docs/step_nucleation.md). The box then reaches a held shell of
    whole cells, at least the handshake, margin and reach thick, beyond each x face (every
    node there held at the far field, as the atomistic film's fixed shell is), so that the
    surface layers' atoms reach the held faces. On a block (``slab.bottom_held``) only the
    top face is free and only its layers join the core, in cylinders of ``surface_radius``
    (default ``core_radius``). ``plane``: which plane of the upper family the slip trace
    follows (:meth:`StepSlab.trace_point`)."""
    from qc_sim.continuum.mesh import lattice_points
    from scipy.spatial import cKDTree

    lat = slab.lattice
    periodic = np.array([False, False, True])
    depth = slab.through + core_radius if not core_depth or core_depth <= 0 else core_depth
    centres = slab.core_centres(depth, 0.5 * core_radius, planes, plane)
    margin = lat.a if margin is None else float(margin)
    fine = core_radius + width + margin
    shell = 0.0
    if surfaces:
        shell = np.ceil((fine + reach) / lat.cell[0, 0] - 1e-9) * lat.cell[0, 0]
    lo, hi = np.array([-shell, 0.0, 0.0]), slab.hi + [shell, 0.0, 0.0]
    if surfaces:  # the layers under both faces, from held face to held face
        rs = core_radius if surface_radius is None else float(surface_radius)
        xs = np.arange(lo[0] + fine + reach, hi[0] - fine - reach + 1e-6, 0.5 * rs)
        tops = np.where(xs < slab.step_x, slab.top, slab.lower_terrace)
        out = core_radius - rs  # a cylinder reaching rs into the crystal: its axis that far out
        faces = [np.stack([xs, tops + out, 0 * xs], axis=1)]
        if not slab.bottom_held:
            faces.append(np.stack([xs, 0 * xs - out, 0 * xs], axis=1))
        centres = np.concatenate([centres] + faces)
    lowest = centres[:, 0].min() - fine - reach
    highest = centres[:, 0].max() + fine + reach
    if lowest < lo[0] - 1e-6 or highest > hi[0] + 1e-6:
        raise ValueError(f"the film must extend at least the reach ({reach:.2f} Å) beyond "
                         "the handshake on its held sides: enlarge repeats[0] or shrink "
                         "core_radius")

    def beyond(points):
        return np.maximum(core_distance(points, centres, fine, ~periodic), 0.0)

    nodes = lattice_points(lat, lo, hi, None, None, rate=rate, periodic=periodic,
                           distance=beyond)
    in_notch = slab.notch(nodes)
    terrace = sites_in_box(lat, [slab.step_x, slab.lower_terrace - 1e-6, 0.0],
                           [hi[0], slab.lower_terrace + 1e-6, hi[2]],
                           open_hi=(False, False, True))[0]
    snapped = terrace[cKDTree(terrace).query(nodes[in_notch], k=1)[1]]
    nodes = np.unique(np.round(np.concatenate([nodes[~in_notch], snapped]), 9), axis=0)
    sites = slab_sites(slab, lo, hi)

    def cut(corners):
        return slab.notch(corners.mean(axis=1))

    twin_lo, twin_hi = lo - hi * [0, 1, 0], hi * np.array([1.0, 2.0, 1.0])
    twin_nodes = lattice_points(lat, twin_lo, twin_hi, None, None, rate=rate,
                                periodic=periodic, distance=beyond)
    twin_nodes = np.concatenate([twin_nodes, _without(nodes, twin_nodes)])
    twin = assemble_geometry(lat, twin_lo, twin_hi, centres, core_radius, width, reach,
                             twin_nodes,
                             sites_in_box(lat, twin_lo, twin_hi, open_hi=periodic)[0],
                             periodic=periodic)
    free = np.array([[False, False], [not slab.bottom_held, True], [False, False]])
    geometry = assemble_geometry(lat, lo, hi, centres, core_radius, width, reach, nodes,
                                 sites, periodic=periodic, cut=cut, free_faces=free,
                                 defect_free=twin)
    x = geometry.mesh.nodes[:, 0]
    geometry.held |= (x < 1e-6) | (x > slab.hi[0] - 1e-6)  # the held shell and faces
    return geometry


@dataclass
class StepModel:
    """A coupled stepped slab: the ``model``, the ``slab``, its Cauchy-Born ``material``;
    :meth:`load` sets the applied strain."""

    model: CoupledModel
    slab: StepSlab
    strain: float = 0.0

    @property
    def material(self):
        return self.model.material

    def deformation(self, strain: float) -> np.ndarray:
        return uniaxial_strain(self.material, strain)

    def load(self, strain: float, y=None) -> np.ndarray:
        """Hold the boundary at the uniaxial strain ``strain`` (bgfc's correction there);
        returns node positions ``y`` (default the model's) moved by the affine change of
        the load, the held nodes on the new far field."""
        old = self.deformation(self.strain)
        new = self.deformation(strain)
        y = self.model.y if y is None else y
        X = self.model.geometry.mesh.nodes
        moved = y + X @ (new - old).T
        self.model.set_far_field(new)
        self.strain = float(strain)
        moved[~self.model.free] = self.model.y_far[~self.model.free]
        return moved

    def atom_positions(self, y) -> np.ndarray:
        """(na, 3) Å every atom (blended and padding) for node positions ``y``."""
        g = self.model.geometry
        return g.interpolation @ y + g.atom_offset


def build_step_model(slab: StepSlab, potential, species: str, core_radius: float,
                     core_depth: float | None, width: float, method: str = "bgfc",
                     rate: float = 0.5,
                     margin: float | None = None, planes: str = "upper",
                     taylor_strain: float | None = 0.01, surfaces: bool = False,
                     surface_radius: float | None = None, plane: int = 0,
                     device=None) -> StepModel:
    """The coupled model of ``slab`` (:func:`step_geometry`; padding one cutoff deep, two
    for bqcf), the patch test run on its twin, unloaded. ``taylor_strain``: the elements
    whose strain from the far field stays below it take the Taylor expansion of Cauchy-Born
    about the far field (one sparse product; None: the full lattice sum everywhere)."""
    reach = (2 if method == "bqcf" else 1) * potential.cutoff
    geometry = step_geometry(slab, core_radius, core_depth, width, reach, rate, margin, planes,
                             surfaces, surface_radius, plane)
    from qc_sim.continuum.cauchy_born import CauchyBorn

    # a shell for stretches down to 0.6: a line search's trial step may squeeze an element
    # of the handshake that the glide shears (the relaxed states stay far above it)
    material = CauchyBorn(potential, slab.lattice, min_stretch=0.6, device=device)
    model = CoupledModel(geometry, potential, species, method, device=device, check=True,
                         material=material, taylor_strain=taylor_strain)
    return StepModel(model, slab)


@dataclass
class AtomisticSlab:
    """The same film atom by atom: ``system`` (every site, z periodic), the atoms within
    two cutoffs outside the faces x = 0 and x = W ``fixed`` at the far field, top and
    bottom free."""

    system: object
    slab: StepSlab
    reference: np.ndarray
    material: object
    strain: float = 0.0

    def deformation(self, strain: float) -> np.ndarray:
        return uniaxial_strain(self.material, strain)

    def load(self, strain: float, x=None) -> np.ndarray:
        """Positions (n, 3) moved by the affine change of the load to ``strain``, the fixed
        atoms on the new far field."""
        old, new = self.deformation(self.strain), self.deformation(strain)
        x = np.asarray(self.system.positions if x is None else x, float)
        moved = x + self.reference @ (new - old).T
        fixed = np.asarray(self.system.fixed, bool)
        moved[fixed] = self.reference[fixed] @ new.T
        self.strain = float(strain)
        return moved


def build_atomistic_slab(slab: StepSlab, potential, species: str, device,
                         material=None) -> AtomisticSlab:
    """The fully atomistic slab (:class:`AtomisticSlab`), unloaded: the atoms within two
    cutoffs beyond its x faces (and below its bottom, on a block) fixed at the far field."""
    from qc_sim.atomistic.system import AtomisticSystem
    from qc_sim.continuum.cauchy_born import CauchyBorn
    from qc_sim.geometry import Atoms, Box

    shell = 2 * potential.cutoff
    lo = np.array([-shell, -shell if slab.bottom_held else 0.0, 0.0])
    hi = slab.hi + np.array([shell, 0.0, 0.0])
    cell = np.diag(slab.lattice.cell)
    lo_cells = np.floor(lo / cell) * cell
    hi_cells = np.ceil(hi / cell) * cell
    x = sites_in_box(slab.lattice, lo_cells, np.where([0, 0, 1], slab.hi, hi_cells),
                     open_hi=(False, False, True))[0]
    keep = np.all((x[:, :2] > lo[:2] - 1e-6) & (x[:, :2] < hi[:2] + 1e-6), axis=1)
    x = x[keep & ~slab.notch(x)]
    inside = (x[:, 0] > 1e-6) & (x[:, 0] < slab.hi[0] - 1e-6)
    if slab.bottom_held:
        inside &= x[:, 1] > 1e-6
    span = slab.hi - lo
    box = Box(tuple(lo - np.array([span[0], span[1], 0.0])),
              tuple(slab.hi + np.array([span[0] + shell, span[1], 0.0])), (False, False, True))
    atoms = Atoms(x, box, species=(species,), masses=(1.0,))
    system = AtomisticSystem(atoms, potential, device, skin=0.5, fixed=~inside)
    material = material or CauchyBorn(potential, slab.lattice, device=device)
    return AtomisticSlab(system, slab, x.copy(), material)


__all__ = ["StepSlab", "StepModel", "AtomisticSlab", "stepped_slab", "slab_sites",
           "uniaxial_strain", "resolved_shear_stress", "slip_seed", "partial_seed", "step_geometry",
           "build_step_model", "build_atomistic_slab", "ORIENTATION", "SCHMID"]
