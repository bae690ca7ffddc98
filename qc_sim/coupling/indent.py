"""Nanoindentation of a free (001) surface by a spherical repulsive indenter in a coupled
model (the showcase of issue 5).

The indenter is LAMMPS's ``fix indent`` sphere: an atom at distance r < R from its centre
feels ``K (R - r)^2`` directed away from the centre, the energy of ``K (R - r)^3 / 3``
(K eV/Å^3, R Å). It is an external term of the coupled model
(:attr:`~qc_sim.coupling.model.CoupledModel.external`) acting on the atoms of the core, so
the shared minimisers relax the model with it; the core must hold the whole contact.

The slab is a cube-oriented cubic crystal, held on its sides and bottom, its top (001)
face free: no node on it is held and no padding site lies above it. The atomistic core is a
half-sphere under the indenter's axis, the handshake a half-shell, Cauchy-Born elements
graded beyond. The patch test and bgfc's correction are properties of the homogeneous
lattice, not of the surface (a surface's forces are physics, not ghost forces): the model
keeps a twin without the surface, the slab and its mesh mirrored across the surface plane
(the bulk continued beyond the top, the core a whole sphere), and the patch test runs and
the correction is computed on that twin.

At each depth h the indenter's centre sits R - h above the reference surface; the model is
relaxed and the load P = -sum_i f_z,i (the z component of the indenter's force on the atoms,
reversed: the force pressing the indenter back up) is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qc_sim.coupling.centrosymmetry import CSP_FAULT, centrosymmetry, opposite_pairs
from qc_sim.coupling.geometry import CORE, _without, assemble_geometry
from qc_sim.coupling.model import CoupledModel

EV_PER_A_TO_NN = 1.602176634  # 1 eV/Å in nN


def _indenter_gap_forces(points, center, radius: float, stiffness: float):
    """(R - r clipped at 0 (n,), forces (n, 3) eV/Å) of the indenter on ``points``."""
    d = np.asarray(points, float) - np.asarray(center, float)
    r = np.sqrt((d * d).sum(axis=1))
    gap = np.maximum(radius - r, 0.0)
    inside = gap > 0
    f = np.zeros_like(d)
    f[inside] = (stiffness * gap[inside] ** 2 / r[inside])[:, None] * d[inside]
    return gap, f


def indenter_energy_forces(points, center, radius: float, stiffness: float):
    """(energy eV, forces (n, 3) eV/Å) of the spherical indenter on ``points`` (n, 3) Å:
    E = sum K (R - r)^3 / 3 and f = K (R - r)^2 (x - c) / r over the points with r < R."""
    gap, f = _indenter_gap_forces(points, center, radius, stiffness)
    return float(stiffness * (gap**3).sum() / 3.0), f


@dataclass
class SphericalIndenter:
    """The indenter of ``radius`` (Å) and ``stiffness`` K (eV/Å^3) centred at ``center``
    (3,) Å, acting on the model's ``nodes`` (the core's atoms): an external term of a
    coupled model, ``energy_forces(y)`` -> (eV, node forces (nn, 3))."""

    radius: float
    stiffness: float
    nodes: np.ndarray
    center: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def energy_forces(self, y):
        e, f_nodes = indenter_energy_forces(y[self.nodes], self.center, self.radius,
                                            self.stiffness)
        f = np.zeros_like(y)
        f[self.nodes] = f_nodes
        return e, f

    def on_nodes(self, nodes, y):
        """(energies (k,) eV, forces (k, 3) eV/Å) of the indenter on each of ``nodes`` (global
        indices) at positions ``y`` (k, 3), zero on nodes it does not act on: a rank's share
        of the term (each node's values are those of :meth:`energy_forces`)."""
        acted = np.isin(nodes, self.nodes)
        gap, f_acted = _indenter_gap_forces(y[acted], self.center, self.radius, self.stiffness)
        e, f = np.zeros(len(nodes)), np.zeros_like(y)
        e[acted] = self.stiffness * gap**3 / 3.0
        f[acted] = f_acted
        return e, f

    def load(self, y) -> tuple[float, int]:
        """(P eV/Å, atoms in contact): the z component of the indenter's force on the
        atoms, reversed, at node positions ``y``."""
        _, f = indenter_energy_forces(y[self.nodes], self.center, self.radius,
                                      self.stiffness)
        return float(-f[:, 2].sum()), int(np.any(f != 0.0, axis=1).sum())


@dataclass
class Indentation:
    """A coupled model of a slab with a free top surface at ``surface`` (Å) and its
    ``indenter``, whose axis passes through ``axis`` (x, y) Å; ``watched`` core atoms (a
    lattice constant or more below the surface) and their opposite neighbour ``pairs``, whose
    centrosymmetry tells a stacking fault or a dislocation's core."""

    model: CoupledModel
    indenter: SphericalIndenter
    surface: float
    axis: np.ndarray
    watched: np.ndarray = None
    pairs: np.ndarray = None
    runner: object = None  # what the minimiser drives: the model, or this rank's share of it

    def __post_init__(self):
        from scipy.spatial import cKDTree

        if self.runner is None:
            self.runner = self.model
        if self.watched is None:
            g = self.model.geometry
            deep = (g.atom_beta == 1.0) & (g.atom_sites[:, 2] < self.surface - g.lattice.a
                                           + 1e-6)
            self.watched, self.pairs = opposite_pairs(
                g.atom_sites, np.flatnonzero(deep), cKDTree(g.atom_sites),
                g.lattice.nearest_neighbor_distance)

    def faulted(self, y) -> int:
        """The watched atoms whose centrosymmetry passes CSP_FAULT at node positions y."""
        x = self.model.geometry.interpolation @ y
        return int((centrosymmetry(x, self.watched, self.pairs) > CSP_FAULT).sum())

    def place(self, depth: float) -> None:
        """Put the indenter's centre R - ``depth`` above the reference surface on the axis."""
        self.indenter.center = np.array([*self.axis, self.surface + self.indenter.radius
                                         - depth])


def surface_slab_geometry(lattice, repeats, axis, core_radius: float, width: float,
                          reach: float, rate: float = 0.5):
    """The coupled geometry of ``repeats`` cubic cells of ``lattice`` (cube orientation), top
    (001) face free, the core a half-sphere of ``core_radius`` about the surface point over
    ``axis`` (x, y) Å, handshake ``width`` Å, padding ``reach`` Å; and its twin without the
    surface (the slab and its nodes mirrored across the surface plane)."""
    from qc_sim.continuum.mesh import lattice_points
    from qc_sim.geometry.lattice import sites_in_box

    hi = np.asarray(repeats, float) * lattice.a
    lo = np.zeros(3)
    center = np.array([axis[0], axis[1], hi[2]])
    fine = core_radius + width + lattice.a  # the all-sites half-sphere's radius
    if np.any(center - fine - reach < lo) or np.any(center[:2] + fine + reach > hi[:2]):
        raise ValueError(f"the slab must extend at least the reach ({reach:.2f} Å) beyond the "
                         "handshake on its sides and below")

    def beyond(points):
        return np.maximum(np.linalg.norm(points - center, axis=1) - fine, 0.0)

    nodes = lattice_points(lattice, lo, hi, None, None, rate=rate, distance=beyond)
    sites = sites_in_box(lattice, lo, hi)[0]
    mirror = np.array([1.0, 1.0, -1.0])
    twin_hi = hi * np.array([1.0, 1.0, 2.0])
    twin_nodes = np.concatenate([nodes, _without(nodes * mirror + [0, 0, 2 * hi[2]], nodes)])
    twin = assemble_geometry(lattice, lo, twin_hi, center, core_radius, width, reach,
                             twin_nodes, sites_in_box(lattice, lo, twin_hi)[0])
    free = np.array([[False, False], [False, False], [False, True]])
    return assemble_geometry(lattice, lo, hi, center, core_radius, width, reach, nodes, sites,
                             free_faces=free, defect_free=twin)


def build_indentation(lattice, repeats, potential, species: str, axis, core_radius: float,
                      width: float, radius: float, stiffness: float, method="bgfc",
                      rate=0.5, device=None, comm=None) -> Indentation:
    """The coupled slab (:func:`surface_slab_geometry`; padding one cutoff deep, two for
    bqcf) with a spherical indenter of ``radius`` Å and ``stiffness`` eV/Å^3 over ``axis``
    acting on the core's atoms; the patch test runs on the twin. With ``comm`` of several
    MPI ranks the model is split over them (its ``runner``, a DomainCoupledModel that adds
    the indenter on its own nodes)."""
    reach = (2 if method == "bqcf" else 1) * potential.cutoff
    geometry = surface_slab_geometry(lattice, repeats, axis, core_radius, width, reach, rate)
    model = CoupledModel(geometry, potential, species, method, device=device, check=True)
    core = np.flatnonzero(geometry.node_zone == CORE)
    indenter = SphericalIndenter(float(radius), float(stiffness), core)
    model.external.append(indenter)
    runner = None
    if comm is not None and comm.Get_size() > 1:
        from qc_sim.coupling.domain import DomainCoupledModel

        runner = DomainCoupledModel(comm, model)
        runner.check_patch_test()
    out = Indentation(model, indenter, float(geometry.hi[2]), np.asarray(axis, float)[:2],
                      runner=runner)
    out.place(0.0)
    return out


@dataclass(frozen=True)
class DepthStep:
    """One depth: h (Å), the load P (eV/Å), the atoms in contact, the watched core atoms
    that lost their centrosymmetry, the model's energy (eV), the minimiser's account."""

    depth: float
    load: float
    contact: int
    faulted: int
    energy: float
    converged: bool
    steps: int

    @property
    def load_nn(self) -> float:
        return self.load * EV_PER_A_TO_NN


def indent(indentation: Indentation, depths, fmax: float = 1e-3, max_steps: int = 20_000,
           on_step=None) -> list[DepthStep]:
    """Lower the indenter through ``depths`` (Å), relaxing the model at each from the last
    state (L-BFGS, FIRE where SciPy's line search stops short; FIRE for bqcf); ``on_step``
    is told each :class:`DepthStep`. Raises ValueError when an atom outside the core comes
    within the indenter's reach."""
    from qc_sim.solvers import fire, lbfgs

    model, indenter, runner = indentation.model, indentation.indenter, indentation.runner
    solve = fire if model.method == "bqcf" else lbfgs
    outside = np.flatnonzero(model.geometry.atom_beta < 1.0)
    out = []
    for h in depths:
        indentation.place(float(h))
        result = solve(runner, fmax=fmax, max_steps=max_steps)
        if not result.converged and solve is lbfgs:
            result = fire(runner, fmax=fmax, max_steps=5 * max_steps)
        # on ranks every rank gathers the whole state once per depth (never in a step) and
        # reads the same load, contact and faults from it
        y = runner.y if runner is model else runner.gather_nodes(runner.y, root=None)
        x = model.geometry.interpolation @ y
        gap = np.linalg.norm(x[outside] - indenter.center, axis=1).min(initial=np.inf)
        if gap < indenter.radius:
            raise ValueError(f"at depth {h:g} Å the indenter reaches atoms outside the "
                             "atomistic core: enlarge the core")
        load, contact = indenter.load(y)
        step = DepthStep(float(h), load, contact, indentation.faulted(y), result.energy,
                         result.converged, result.steps)
        out.append(step)
        if on_step is not None:
            on_step(step)
    return out


def first_load_drop(steps, fmax: float):
    """(the step before, the step of) the first load drop: a depth step whose load falls
    below the previous one by more than the relaxation's uncertainty (the atoms in contact
    times ``fmax``); None when the load never drops."""
    for before, now in zip(steps, steps[1:]):
        if now.load < before.load - max(before.contact, 1) * fmax:
            return before, now
    return None
