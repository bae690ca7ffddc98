"""Dislocation nucleation from a surface step: the activation energy Q by climbing-image NEB
at several applied strains, in a coupled model or atom by atom (issue 30).

The study, on either model of :mod:`qc_sim.coupling.step` (through :class:`CoupledStep` or
:class:`AtomisticStep`, which give both the same few calls):

1. **Quasi-static loading.** From the relaxed unloaded slab the uniaxial strain is raised
   by ``load_step`` (each step an affine move of every degree of freedom, then a
   relaxation) until the step nucleates on its own: the interior atoms (a lattice constant
   or more below the lower terrace, away from held atoms) that lose their centrosymmetry
   (Kelchner, Plimpton & Hamilton, Phys. Rev. B 58 (1998) 11085; above 1 Å^2), more
   than a lattice constant inside both faces, in the coupled model's core, pass
   ``NUCLEATED`` per unit cell along the line. The first such strain is the quasi-static
   athermal strain; its relaxed state carries the dislocation glided away from the step.
2. **End states** at each NEB strain: the loaded step (from the loading's last state below
   that strain) and, on a block, the leading partial stopped ``depth`` Å down its plane by
   pinned atoms (:func:`pin_mask`, held in every image too), or on a film the film slipped
   by the partial through to the bottom face, each relaxed (:func:`end_states`).
3. **CI-NEB** between them (Henkelman, Uberuaga & Jónsson, J. Chem. Phys. 113 (2000)
   9901), linear initial path, relaxed by FIRE 2.0 exactly as
   :func:`~qc_sim.solvers.neb.run_neb` does, but with the minimiser's state kept in
   :class:`~qc_sim.solvers.neb.BandState` (:func:`~qc_sim.solvers.neb.relax_band`) so
   that a checkpoint of the whole band restarts it bit for bit.
   ``progress(iteration, max_force, energies)`` is told every iteration.
4. **Fits.** Q(strain) and Q(tau), tau the resolved shear stress of the homogeneous load on
   the leading partial's system (:func:`~qc_sim.coupling.step.resolved_shear_stress`);
   Q = Q0 (1 - tau/tau_ath)^alpha by least squares; the athermal strain where that Q
   reaches 0; the activation volume Omega = -dQ/dtau (Zhu, Li, Samanta, Leach & Gall,
   Phys. Rev. Lett. 100 (2008) 025502) in b^3, b = a/sqrt(2).

Q here is the energy of nucleating a straight dislocation along the whole periodic line
(length L): it and Omega grow with L, unlike the half-loop of a 3D nucleation.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qc_sim.coupling.centrosymmetry import CSP_FAULT, centrosymmetry, opposite_pairs
from qc_sim.solvers.fire import Fire
from qc_sim.solvers.neb import (BAND_FIRE, Band, BandResult, BandState, interpolate,
                                  relax_band)

NUCLEATED = 4  # faulted interior atoms per oriented cell along the line: a dislocation
EV_PER_GPA_TO_A3 = 160.21766339999998  # 1 eV/GPa in Å^3


# -- the two models behind one set of calls ---------------------------------------------


class _Watch:
    """The interior atoms whose centrosymmetry tells a fault: reference sites ``X`` (n, 3),
    the candidate atoms ``interior`` (indices), the slab (for the periodic line)."""

    def __init__(self, X, interior, slab):
        from scipy.spatial import cKDTree

        self.L = slab.line_length
        shift = np.array([X[:, 0].min() - 1.0, X[:, 1].min() - 1.0, 0.0])
        tree = cKDTree(X - shift, boxsize=[1e6, 1e6, self.L])
        self.atoms, self.pairs = opposite_pairs(X, interior, tree,
                                                slab.lattice.nearest_neighbor_distance,
                                                self.wrap, shift)
        self.per_cell = len(slab.lattice.basis) // 2 * max(
            int(round(self.L / slab.lattice.cell[2, 2])), 1)

    def wrap(self, d):
        d = np.array(d, float)
        d[..., 2] -= self.L * np.round(d[..., 2] / self.L)
        return d

    def centrosymmetry(self, x) -> np.ndarray:
        return centrosymmetry(x, self.atoms, self.pairs, self.wrap)

    def faulted(self, x) -> int:
        return int((self.centrosymmetry(x) > CSP_FAULT).sum())


class CoupledStep:
    """The coupled stepped slab (a :class:`~qc_sim.coupling.step.StepModel`) for the study:
    states are node positions (nn, 3)."""

    kind = "coupled"

    def __init__(self, step, fmax: float = 1e-3, precondition: bool = True):
        self.step = step
        self.model = step.model
        self.slab = step.slab
        self.fmax = float(fmax)
        self.precondition = bool(precondition)
        g = self.model.geometry
        y, a = g.atom_sites[:, 1], self.slab.lattice.a
        deep = (g.atom_beta == 1.0) & (y < self.slab.lower_terrace - a + 1e-6) & (y > a)
        self.watch = _Watch(g.atom_sites, np.flatnonzero(deep), self.slab)

    @property
    def dofs(self) -> int:
        return 3 * int(self.model.free.sum())

    @property
    def strain(self) -> float:
        return self.step.strain

    def initial(self):
        """The unloaded block's node positions; the step's strain back to 0, so that the
        next :meth:`load` moves them from there (not from a strain an earlier study left)."""
        self.step.strain = 0.0
        return self.model.geometry.mesh.nodes.copy()

    def load(self, strain, state):
        return self.step.load(strain, state)

    def relax(self, state, pinned=None):
        """(relaxed state, energy eV, converged); ``pinned`` (nn,) bool: nodes also held
        where ``state`` has them."""
        from qc_sim.coupling.statics import relax

        self.model.y = np.array(state, float)
        free = self.model.free
        if pinned is not None:
            self.model.free = free & ~np.asarray(pinned, bool)
        try:
            r = relax(self.model, fmax=self.fmax)
        finally:
            self.model.free = free
        return self.model.y.copy(), r.energy, r.converged

    def positions(self, state):
        return self.step.atom_positions(state)

    def reference_sites(self):
        return self.model.geometry.atom_sites

    def seed_sites(self):
        return self.model.geometry.mesh.nodes

    @property
    def held(self):
        return ~self.model.free

    def images(self, states, pinned=None):
        """One CoupledImage per state, each over a shallow copy of the model with its own
        AtomisticSystem (its own neighbour list: one list shared by images that differ by
        more than the skin would be rebuilt at every evaluation); ``pinned`` nodes held."""
        import copy

        from qc_sim.atomistic.system import AtomisticSystem
        from qc_sim.coupling.model import CoupledImage

        out = []
        for y in states:
            model = copy.copy(self.model)
            if pinned is not None:
                model.free = self.model.free & ~np.asarray(pinned, bool)
            atoms = self.model.atoms
            model.atoms = AtomisticSystem(atoms.atoms, atoms.potential, atoms.device,
                                          skin=atoms.skin)
            out.append(CoupledImage(model, y))
        return out

    def batch(self):
        return None

    @property
    def band_params(self) -> Fire:
        """FIRE 2.0 for the band: with ``precondition`` the atoms' (:data:`BAND_FIRE`), the
        coarse nodes made heavy (:meth:`inv_mass`); without, unit masses and the time step
        capped at 1.5/sqrt(lambda_max), the largest eigenvalue of the mesh's elastic
        stiffness: a coarse element is stiffer per node than a bond (lambda_max about
        120 eV/Å^2 against about 20), and the band's default dt_max of 1 blows the images up
        through its far field."""
        if self.precondition:
            return BAND_FIRE
        if getattr(self, "_params", None) is None:
            from scipy.sparse import csr_matrix
            from scipy.sparse.linalg import eigsh

            lam = float(eigsh(csr_matrix(self.model.stiffness()), k=1, which="LA",
                              return_eigenvectors=False)[0])
            cap = 1.5 / math.sqrt(lam)
            self._params = Fire(dt=min(0.1, cap), dt_max=min(1.0, cap), n_delay=20)
        return self._params

    def state_of(self, image):
        return image.y.copy()

    def prepare_band(self, states) -> None:
        """The Taylor far field set afresh from the band's relaxed end ``states``
        (:meth:`~qc_sim.coupling.model.CoupledModel.retaylor`)."""
        self.model.retaylor(states)

    def inv_mass(self) -> np.ndarray:
        """(nn * d,) FIRE's inverse masses for one image: each degree of freedom as heavy
        as its diagonal stiffness is against a core atom's (the median over the core's
        degrees of freedom), never lighter than an atom, so that the band takes the atoms'
        time step everywhere (a coarse element is stiffer per node than a bond, and flat
        elements of the thin periodic slab most of all along z) and the coarse nodes move as
        fast in their own soft modes."""
        if not self.precondition:
            return None
        if getattr(self, "_inv_mass", None) is None:
            from qc_sim.coupling.model import CORE

            d = self.model.dim
            diag = np.asarray(self.model.stiffness().diagonal()).reshape(-1, d)
            core = self.model.geometry.node_zone == CORE
            mass = np.maximum(diag / np.median(diag[core]), 1.0)
            self._inv_mass = (1.0 / mass).reshape(-1)
        return self._inv_mass


class AtomisticStep:
    """The fully atomistic stepped slab (a :class:`~qc_sim.coupling.step.AtomisticSlab`):
    states are atom positions (n, 3)."""

    kind = "atomistic"

    def __init__(self, slab_model, fmax: float = 1e-3):
        self.step = slab_model
        self.system = slab_model.system
        self.slab = slab_model.slab
        self.fmax = float(fmax)
        X = slab_model.reference
        fixed = np.asarray(self.system.fixed, bool)
        deep = ~fixed & (X[:, 1] < self.slab.lower_terrace - self.slab.lattice.a + 1e-6)
        deep &= ((X[:, 0] > 2 * self.slab.lattice.a) & (X[:, 0] < self.slab.hi[0]
                 - 2 * self.slab.lattice.a) & (X[:, 1] > self.slab.lattice.a))
        self.watch = _Watch(X, np.flatnonzero(deep), self.slab)

    @property
    def dofs(self) -> int:
        return 3 * int((~np.asarray(self.system.fixed, bool)).sum())

    @property
    def strain(self) -> float:
        return self.step.strain

    def initial(self):
        """The unloaded block's atom positions, its strain back to 0 (as the coupled)."""
        self.step.strain = 0.0
        return self.step.reference.copy()

    def load(self, strain, state):
        return self.step.load(strain, state)

    def relax(self, state, pinned=None):
        """(relaxed state, energy eV, converged); ``pinned`` (n,) bool: atoms also held
        where ``state`` has them."""
        from qc_sim.atomistic.system import AtomisticSystem
        from qc_sim.solvers import fire, lbfgs

        system = self.system
        if pinned is not None:
            s = self.system
            system = AtomisticSystem(s.atoms, s.potential, s.device, skin=s.skin,
                                     fixed=np.asarray(s.fixed, bool) | np.asarray(pinned, bool))
        system.set_positions(np.array(state, float))
        r = lbfgs(system, fmax=self.fmax, max_steps=20_000)
        if not r.converged:
            r = fire(system, fmax=self.fmax, max_steps=50_000)
        return np.asarray(system.positions, float).copy(), r.energy, r.converged

    def positions(self, state):
        return np.asarray(state, float)

    def reference_sites(self):
        return self.step.reference

    def seed_sites(self):
        return self.step.reference

    @property
    def held(self):
        return np.asarray(self.system.fixed, bool)

    def images(self, states, pinned=None):
        from qc_sim.atomistic.system import AtomisticSystem

        s = self.system
        fixed = np.asarray(s.fixed, bool)
        if pinned is not None:
            fixed = fixed | np.asarray(pinned, bool)
        out = []
        for x in states:
            im = AtomisticSystem(s.atoms, s.potential, s.device, skin=s.skin, fixed=fixed)
            im.set_positions(np.array(x, float))
            out.append(im)
        return out

    def batch(self):
        from qc_sim.atomistic.replicas import batch_energy_forces

        return batch_energy_forces

    band_params = BAND_FIRE

    def state_of(self, image):
        return np.asarray(image.positions, float).copy()

    def prepare_band(self, states) -> None:
        pass

    def inv_mass(self):
        return None


# -- the loading ---------------------------------------------------------------------------


@dataclass
class Loading:
    """The quasi-static loading: strains, energies (eV) and faulted atoms of each relaxed
    state, the first strain that nucleated (None if none did), and the states."""

    strains: list = field(default_factory=list)
    energies: list = field(default_factory=list)
    faulted: list = field(default_factory=list)
    states: list = field(default_factory=list)
    nucleation_strain: float | None = None
    nucleated_state: np.ndarray | None = None


def load_until_nucleation(problem, start: float, step: float, end: float,
                          on_step=None) -> Loading:
    """Raise the strain from ``start`` by ``step`` to ``end``, relaxing at each, until the
    faulted interior atoms reach :data:`NUCLEATED` per cell along the line (the strain is
    first ramped from 0 to ``start`` by ``step``: one jump can nucleate early). In a coupled
    block the nucleated partial glides out of the core and squeezes an element past the
    Cauchy-Born shell: that relaxation's ValueError also counts as the nucleation (its
    state None, its faulted count -1)."""
    out = Loading()
    state = problem.initial()
    for k in range(1, int(math.ceil(abs(start) / step - 1e-9))):  # ramp up to the start
        state = problem.relax(problem.load(math.copysign(k * step, start), state))[0]
    n = int(math.floor((end - start) / step + 1e-9)) + 1
    threshold = NUCLEATED * problem.watch.per_cell
    for k in range(n):
        strain = start + k * step
        try:
            state, energy, _ = problem.relax(problem.load(strain, state))
            faulted = problem.watch.faulted(problem.positions(state))
        except ValueError:  # the slip left the core (see above)
            state, energy, faulted = None, float("nan"), -1
        out.strains.append(strain)
        out.energies.append(energy)
        out.faulted.append(faulted)
        if on_step is not None:
            on_step(strain, energy, faulted)
        if faulted >= threshold or faulted < 0:
            out.nucleation_strain, out.nucleated_state = strain, state
            break
        out.states.append(state)
    return out


def end_states(problem, loading: Loading, strain: float, depth: float | None = None,
               pin_radius: float = 3.0, plane: int = 0):
    """(initial, final, their energies, final's faulted atoms) at ``strain``: the loaded
    step from the loading's last state below it, relaxed; with ``depth`` (a block) the
    partial's Volterra cut ``depth`` Å down ``plane`` (:func:`~qc_sim.coupling.step.
    partial_seed`) relaxed with the :func:`pin_mask` atoms held where the loaded step has
    them; without, the film slipped by the leading partial (:func:`~qc_sim.coupling.step.
    slip_seed`), relaxed.
    (The loading's own nucleated state, unloaded, is no end state for a band: above the
    athermal strain the partial runs and more slip can follow it, and a straight band to
    that state starts the climbing image up a wall.)"""
    from qc_sim.coupling.step import slip_seed

    below = [k for k, s in enumerate(loading.strains[:len(loading.states)])
             if abs(s) <= abs(strain) + 1e-12]
    start = loading.states[below[-1]] if below else problem.initial()
    problem.step.strain = loading.strains[below[-1]] if below else 0.0
    initial, e0, _ = problem.relax(problem.load(strain, start))
    sites = problem.seed_sites()
    pinned = None
    if depth:  # a block: the partial glided ``depth`` Å, stopped by the pinned atoms
        from qc_sim.coupling.step import partial_seed

        seed = partial_seed(problem.slab, sites, depth, np.sign(strain), plane)
        pinned = pin_mask(problem, depth, pin_radius, plane)
        seed[pinned] = 0.0  # where the loaded step has them, in every image
    else:
        seed = slip_seed(problem.slab, sites, np.sign(strain))
    seed[problem.held] = 0.0
    final, e1, _ = problem.relax(initial + seed, pinned)
    return initial, final, e0, e1, problem.watch.faulted(problem.positions(final))


def pin_mask(problem, depth: float, radius: float = 3.0, plane: int = 0) -> np.ndarray:
    """(n,) bool over the problem's degrees of freedom' sites: the atoms within ``radius``
    Å (in the plane normal to the line) of the slip trace two partial Burgers vectors
    beyond ``depth``. On a block they are held where the loaded step has them in the end
    state and in every image of the band: an obstacle that stops the partial ``depth`` Å
    down its plane, the same in both models. Without it the end state is no minimum (the
    partial glides on under any stress above gamma/b_p), and the images between it and
    the saddle run down the plane past it, to the held faces, where a coupled core cannot
    follow."""
    ahead = problem.slab.trace_point(depth + 2 * problem.slab.lattice.a / np.sqrt(6.0), plane)
    sites = problem.seed_sites()
    return np.hypot(*(sites[:, :2] - ahead).T) < radius


# -- the band (relaxed by :func:`~qc_sim.solvers.neb.relax_band`, restartable) -----------


def make_band(problem, initial, final, n_inner: int, spring: float, pinned=None) -> Band:
    """A climbing-image band of ``n_inner`` images linearly between the end states,
    ``pinned`` sites (:func:`pin_mask`) held in every image."""
    inner = interpolate(np.asarray(initial, float).reshape(-1),
                        np.asarray(final, float).reshape(-1), n_inner)
    shape = np.shape(initial)
    images = problem.images([initial] + [y.reshape(shape) for y in inner] + [final], pinned)
    return Band(images, k=spring, climb=True, evaluate_batch=problem.batch())


# -- fits ----------------------------------------------------------------------------------


def fit_power_law(tau, Q):
    """(Q0 eV, tau_ath GPa, alpha) of Q = Q0 (1 - tau/tau_ath)^alpha by least squares in
    log Q (every Q must be positive): a scan over tau_ath beyond the largest tau, Q0 and
    alpha linear in the logs at each."""
    tau, Q = np.asarray(tau, float), np.asarray(Q, float)
    if len(tau) < 3 or np.any(Q <= 0):
        raise ValueError("the fit needs at least three positive barriers")
    best = None
    top = tau.max()
    for t_ath in top * (1.0 + np.geomspace(1e-4, 3.0, 4000)):
        A = np.stack([np.ones_like(tau), np.log1p(-tau / t_ath)], axis=1)
        coef, *_ = np.linalg.lstsq(A, np.log(Q), rcond=None)
        err = float(((A @ coef - np.log(Q)) ** 2).sum())
        if best is None or err < best[0]:
            best = (err, float(np.exp(coef[0])), float(t_ath), float(coef[1]))
    return best[1], best[2], best[3]


def activation_volume(tau, Q0, tau_ath, alpha):
    """Omega = -dQ/dtau (Å^3) of the fit at ``tau`` (GPa)."""
    tau = np.asarray(tau, float)
    return EV_PER_GPA_TO_A3 * Q0 * alpha / tau_ath * (1.0 - tau / tau_ath) ** (alpha - 1.0)


# -- the whole study -----------------------------------------------------------------------


@dataclass
class StrainPoint:
    """The NEB at one strain: strain, resolved shear stress tau (GPa), barrier Q (eV), the
    energy profile, its convergence, and the saddle's state."""

    strain: float
    tau: float
    barrier: float
    energies: np.ndarray
    coordinate: np.ndarray
    converged: bool
    iterations: int
    final_energy: float
    final_faulted: int
    seconds: float
    saddle_state: np.ndarray = None


@dataclass
class NucleationResult:
    """What :func:`nucleation_study` measured (``to_json`` for the numbers)."""

    kind: str
    dofs: int
    loading: Loading
    points: list
    fit: dict
    seconds: dict
    b: float
    line_length: float
    figures: dict = field(default_factory=dict)

    @property
    def status(self) -> int:
        """The exit status, as every run's result has: 0 (the study stops on no signal; a
        second run resumes from its band checkpoint)."""
        return 0

    @property
    def strains(self) -> np.ndarray:
        return np.array([p.strain for p in self.points])

    @property
    def barriers(self) -> np.ndarray:
        return np.array([p.barrier for p in self.points])

    @property
    def stresses(self) -> np.ndarray:
        return np.array([p.tau for p in self.points])

    def to_json(self) -> dict:
        return {"model": self.kind, "dofs": self.dofs, "b_A": self.b,
                "line_length_A": self.line_length,
                "quasi_static": {"strains": self.loading.strains,
                                 "energies_eV": [None if math.isnan(e) else e
                                                 for e in self.loading.energies],
                                 "faulted": self.loading.faulted,
                                 "nucleation_strain": self.loading.nucleation_strain},
                "neb": [{"strain": p.strain, "tau_GPa": p.tau, "barrier_eV": p.barrier,
                         "energies_eV": np.asarray(p.energies).tolist(),
                         "coordinate_A": np.asarray(p.coordinate).tolist(),
                         "converged": p.converged, "iterations": p.iterations,
                         "final_energy_eV": p.final_energy,
                         "final_faulted": p.final_faulted, "seconds": p.seconds}
                        for p in self.points],
                "fit": self.fit, "seconds": self.seconds, "figures": self.figures}


def nucleation_study(problem, material, strains, load_start: float, load_step: float,
                     load_end: float, n_inner: int = 7, spring: float = 0.1,
                     neb_fmax: float = 0.02, max_iterations: int = 2000, progress=None,
                     checkpoint=None, every: int = 50, log=None,
                     band_params: Fire | None = None,
                     climb_at: float | None = 0.05,
                     depth: float | None = None, plane: int = 0,
                     climb_min: float = 0.05) -> NucleationResult:
    """The whole study on ``problem`` (:class:`CoupledStep` or :class:`AtomisticStep`).
    ``checkpoint``: a path (.npz) where the band (and the finished strains) is written every
    ``every`` iterations, and from which a run restarts when it exists. ``log(str)`` hears
    one line per loading step and per finished NEB. ``band_params``: FIRE's for the band
    (default the problem's own; a comparison of two models gives both the same).
    ``depth``: on a block, how far (Å) down its plane the end state's partial has glided
    (:func:`end_states`); None: a film's, through to the bottom face. ``plane``: which
    plane of the family the partial glides on (:meth:`~qc_sim.coupling.step.StepSlab.
    trace_point`); ``climb_min``: :func:`relax_band`'s (0: the climbing image goes after
    barriers of any height, as the last ones before the athermal strain need)."""
    from qc_sim.coupling.step import resolved_shear_stress, uniaxial_strain

    say = log or (lambda s: None)
    t0 = time.perf_counter()
    loading = load_until_nucleation(
        problem, load_start, load_step, load_end,
        on_step=lambda e, E, n: say(f"load strain {e:.4f}: energy {E:.6f} eV, "
                                    f"{n} faulted atoms"))
    if loading.nucleation_strain is None:
        raise RuntimeError(f"the step did not nucleate up to strain {load_end:g}: raise "
                           "load_end")
    t_load = time.perf_counter() - t0
    done = _read_done(checkpoint)
    points = []
    for k, strain in enumerate(strains):
        t1 = time.perf_counter()
        if abs(strain) >= abs(loading.nucleation_strain):
            say(f"NEB strain {strain:.4f}: skipped, at or above the quasi-static "
                f"nucleation strain {loading.nucleation_strain:.4f}")
            continue
        initial, final, e0, e1, faulted = end_states(problem, loading, strain, depth,
                                                     plane=plane)
        if faulted < NUCLEATED * problem.watch.per_cell:
            raise RuntimeError(f"at strain {strain:g} the nucleated state falls back to the "
                               "step when unloaded: raise the NEB strains")
        problem.prepare_band([initial, final])
        band = make_band(problem, initial, final, n_inner, spring,
                         pin_mask(problem, depth, plane=plane) if depth else None)
        inv_mass = problem.inv_mass()
        if inv_mass is not None:
            inv_mass = np.tile(inv_mass, n_inner)
        state = _read_band(checkpoint, k, done)

        def save(s, k=k):
            _write_checkpoint(checkpoint, k, s, points)

        if k in done:
            r = done[k]
            points.append(r)
            say(f"NEB strain {strain:.4f}: from the checkpoint, Q = {r.barrier:.4f} eV")
            continue
        try:
            result, _ = relax_band(band, neb_fmax, max_iterations, state,
                                   band_params or problem.band_params, climb_at=climb_at,
                                   climb_min=climb_min,
                                   progress=(None if progress is None else
                                             lambda i, fm, e, s=strain: progress(i, fm, e)),
                                   checkpoint=save if checkpoint else None, every=every,
                                   inv_mass=inv_mass)
        except ValueError as exc:  # an element squeezed past the Cauchy-Born shell
            say(f"NEB strain {strain:.4f}: the band blew up ({exc})")
            e = np.full(len(band.images), np.nan)
            result = BandResult(e, e, float("nan"), False, 0, band.evaluations, 0)
        saddle = problem.state_of(band.images[result.saddle])
        F = uniaxial_strain(material, strain)
        p = StrainPoint(float(strain), resolved_shear_stress(material, F), result.barrier,
                        result.energies, result.coordinate, result.converged,
                        result.iterations, float(e1 - e0), faulted,
                        time.perf_counter() - t1, saddle)
        points.append(p)
        if checkpoint:
            _write_checkpoint(checkpoint, k, None, points)
        say(f"NEB strain {strain:.4f}: Q = {p.barrier:.4f} eV (tau {p.tau:.3f} GPa), "
            f"{'converged' if p.converged else 'NOT converged'} in {p.iterations} "
            f"iterations, {p.seconds:.1f} s")
    fit = fit_result(points, material, loading, problem.slab)
    return NucleationResult(problem.kind, problem.dofs, loading, points, fit,
                            {"loading": t_load, "total": time.perf_counter() - t0},
                            problem.slab.burgers, problem.slab.line_length)


def fit_result(points, material, loading, slab) -> dict:
    """The power-law fit over the converged NEBs with a barrier left, the athermal strain
    and the activation volumes (b^3)."""
    from scipy.optimize import brentq

    from qc_sim.coupling.step import resolved_shear_stress, uniaxial_strain

    used = [p for p in points if p.converged and p.barrier > 0]  # Q = 0: no barrier left
    tau = np.array([p.tau for p in used])
    Q = np.array([p.barrier for p in used])
    out = {"nucleation_strain_quasi_static": loading.nucleation_strain,
           "fitted_strains": [p.strain for p in used]}
    if len(used) < 3:
        return out
    Q0, tau_ath, alpha = fit_power_law(tau, Q)

    def tau_of(e):
        return resolved_shear_stress(material, uniaxial_strain(material, e)) - tau_ath

    hi = 1.5 * max(p.strain for p in points) + 0.05
    try:
        e_ath = brentq(tau_of, 0.0, hi, xtol=1e-7)
    except ValueError:
        e_ath = None
    b3 = slab.burgers ** 3
    omega = activation_volume(tau, Q0, tau_ath, alpha) / b3
    step = (loading.strains[1] - loading.strains[0]) if len(loading.strains) > 1 else None
    out.update({"Q0_eV": Q0, "tau_ath_GPa": tau_ath, "alpha": alpha,
                "athermal_strain_fit": e_ath,
                "athermal_strain_agrees": (None if e_ath is None or step is None else
                                           bool(abs(e_ath - loading.nucleation_strain)
                                                <= step + 1e-12)),
                "activation_volume_b3": omega.tolist(),
                "activation_volume_per_b_of_line_b3": (omega * slab.burgers
                                                        / slab.line_length).tolist()})
    return out


# -- checkpoints -----------------------------------------------------------------------------


def _write_checkpoint(path, k, state, points) -> None:
    """The band of strain ``k`` (or none, between strains) and the finished strains' numbers,
    atomically (written to a temporary name, then renamed)."""
    arrays = {"strain_index": np.array([k]), "finished": np.array([len(points)])}
    if state is not None:
        arrays.update(state.to_arrays("band_"))
    for i, p in enumerate(points):
        arrays[f"point{i}_scalars"] = np.array([p.strain, p.tau, p.barrier, p.converged,
                                                p.iterations, p.final_energy, p.final_faulted,
                                                p.seconds])
        arrays[f"point{i}_energies"] = np.asarray(p.energies)
        arrays[f"point{i}_coordinate"] = np.asarray(p.coordinate)
        arrays[f"point{i}_saddle"] = np.asarray(p.saddle_state)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _read_done(path) -> dict:
    if not path or not Path(path).exists():
        return {}
    with np.load(path) as f:
        out = {}
        for i in range(int(f["finished"][0])):
            s = f[f"point{i}_scalars"]
            out[i] = StrainPoint(float(s[0]), float(s[1]), float(s[2]),
                                 np.array(f[f"point{i}_energies"]),
                                 np.array(f[f"point{i}_coordinate"]), bool(s[3]), int(s[4]),
                                 float(s[5]), int(s[6]), float(s[7]),
                                 np.array(f[f"point{i}_saddle"]))
        return out


def _read_band(path, k, done) -> BandState | None:
    if not path or not Path(path).exists() or k in done:
        return None
    with np.load(path) as f:
        if int(f["strain_index"][0]) != k or "band_y" not in f:
            return None
        return BandState.from_arrays(f, "band_")


__all__ = ["CoupledStep", "AtomisticStep", "Loading", "load_until_nucleation", "end_states",
           "BandState", "BandResult", "relax_band", "make_band", "fit_power_law",
           "activation_volume", "StrainPoint", "NucleationResult", "nucleation_study",
           "NUCLEATED", "build_problems", "run_nucleation", "pin_mask"]


# -- the case --------------------------------------------------------------------------------


def build_problems(case, device=None, atomistic: bool = False):
    """(problem, material) of a case with [coupling] and [nucleation]: the coupled model,
    or with ``atomistic`` the same film atom by atom."""
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.coupling.step import build_atomistic_slab, build_step_model, stepped_slab

    device = device or get_device(case.run.backend)
    lat, c, n = case.lattice, case.coupling, case.nucleation
    potential = build_potential(case)
    block = n.bottom == "held"
    slab = stepped_slab(lat.a, lat.repeats, n.step_layers, bottom_held=block,
                        centre_depth=n.glide_depth if block else None)
    species = lat.species[0]
    if atomistic:
        model = build_atomistic_slab(slab, potential, species, device)
        return AtomisticStep(model, fmax=c.fmax), model.material
    core_depth = n.core_depth or ((n.glide_depth + 5.0) if block else None)
    step = build_step_model(slab, potential, species, c.core_radius * lat.a, core_depth,
                            c.width * lat.a, c.method, c.rate, c.fine_margin * lat.a,
                            taylor_strain=c.taylor_strain if c.taylor_strain > 0 else None,
                            surfaces=n.surfaces, surface_radius=n.surface_radius * lat.a,
                            plane=n.plane, device=device)
    return CoupledStep(step, fmax=c.fmax), step.material


def run_nucleation(case, progress=None, checkpoint=None, device=None, log=None,
                   atomistic: bool = False) -> NucleationResult:
    """The case's study (:func:`nucleation_study`) on its coupled model (or, with
    ``atomistic``, on the same film atom by atom); writes [nucleation] json, plot and saddle
    (relative to the working directory, as every output) and names them in the result's
    ``figures``. ``checkpoint``: a path
    (.npz) for the band's checkpoints, restarted from when it exists."""
    n = case.nucleation
    t0 = time.perf_counter()
    problem, material = build_problems(case, device, atomistic)
    t_build = time.perf_counter() - t0
    result = nucleation_study(problem, material, list(n.strains), n.load_start, n.load_step,
                              n.load_end, n.images, n.spring, n.neb_fmax, n.max_iterations,
                              progress=progress, checkpoint=checkpoint,
                              every=n.checkpoint_every or 10**9, log=log,
                              depth=n.glide_depth if n.bottom == "held" else None,
                              plane=n.plane, climb_min=0.0 if n.bottom == "held" else 0.05)
    result.seconds["build"] = t_build
    base = Path(".")  # like every output of a run: relative to the working directory
    from qc_sim.simulation.nucleation_plots import plot_paths, plot_saddle

    if n.plot:
        result.figures["plot"] = str(plot_paths(result, base / n.plot))
    if n.saddle:
        result.figures["saddle"] = str(plot_saddle(problem, result, base / n.saddle))
    out = base / n.json
    out.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    result.figures["json"] = str(out)
    return result
