"""A mode-I crack in a coupled model, loaded by its K field until the atoms at the tip
either cleave or emit a dislocation (docs/design.md section 6.4; the showcase of issue 5).

The crystal is oriented with x the direction of propagation, y the crack-plane normal and z
the front, periodic along z (a straight front). The tip sits between two atomic planes and
columns at the middle of the domain, inside a cylindrical atomistic core; the crack's faces
cut the mesh behind it (elements straddling the plane are removed; the model keeps an uncut
twin for the patch test and bgfc's correction). Each load step raises K, moves every node by
the change of the anisotropic K field (:class:`~qc_sim.continuum.crack_field.CrackField`),
holds the outer boundary on the field and relaxes. After each step the atoms are read:

- **cleavage**: the bonds across the crack plane ahead of the initial tip break (stretched
  past ``1.3`` nearest-neighbour distances); the tip is the farthest broken bond, and the
  crack has cleaved when it runs at least two bond rows past where it started;
- **emission**: atoms of the core away from the crack faces lose their centrosymmetry
  (Kelchner, Plimpton & Hamilton, Phys. Rev. B 58 (1998) 11085; parameter above 1 Å^2, as a
  stacking fault or a partial's core does), while the tip has not run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.continuum.crack_field import J_PER_M2, MPA_SQRT_M, CrackField, cubic_stiffness
from qc_sim.coupling.centrosymmetry import CSP_FAULT, centrosymmetry, opposite_pairs
from qc_sim.coupling.geometry import build_geometry
from qc_sim.coupling.model import CoupledModel
from qc_sim.geometry.lattice import oriented_lattice
from qc_sim.units import EV_PER_A3_TO_GPA

BROKEN = 1.3  # a bond across the plane is broken past this many nearest-neighbour distances


@dataclass
class Crack:
    """A coupled crack model: ``model`` (the whole serial model), its K ``field``, the
    ``tip`` (x, y) Å; ``runner`` is what the minimiser drives: ``model`` itself, or this
    rank's share of it (:class:`~qc_sim.coupling.domain.DomainCoupledModel`)."""

    model: CoupledModel
    field: CrackField
    tip: np.ndarray
    orientation: np.ndarray
    runner: object = None
    patch_results: list = None
    imbalance: float = 1.0

    def __post_init__(self):
        if self.runner is None:
            self.runner = self.model

    @property
    def nearest(self) -> float:
        return self.model.geometry.lattice.nearest_neighbor_distance


def build_crack(lattice, orientation, repeats, potential, species: str, elastic, core_radius,
                width, method="bgfc", rate=0.5, device=None, comm=None) -> Crack:
    """The crack model of ``lattice`` (cubic) turned to ``orientation`` (x: propagation,
    y: crack-plane normal, z: front; Miller rows), ``repeats`` oriented cells, with the cubic
    ``elastic`` constants (C11, C12, C44) GPa of ``potential`` for the K field; core radius
    and handshake width in Å. With ``comm`` of several MPI ranks the model is split over them
    (the patch test too)."""
    turned = oriented_lattice(lattice, orientation)
    lengths = np.diag(turned.cell)
    hi = np.asarray(repeats, float) * lengths
    sites = turned.basis * lengths  # the cell's sites: planes and columns to stand between
    tip = np.array([_between(sites[:, 0], lengths[0], hi[0] / 2),
                    _between(sites[:, 1], lengths[1], hi[1] / 2)])
    # padding: one cutoff beyond the blended atoms for the energy-based couplings, two for
    # bqcf (whose blended atoms need their neighbours' whole densities)
    reach = (2 if method == "bqcf" else 1) * potential.cutoff

    def faces(corners):
        """Elements behind the tip that straddle the crack plane."""
        y = corners[:, :, 1]
        behind = corners[:, :, 0].mean(axis=1) < tip[0]
        return behind & (y.min(axis=1) < tip[1]) & (y.max(axis=1) > tip[1])

    geometry = build_geometry(turned, np.zeros(3), hi, [tip[0], tip[1], 0.0], core_radius,
                              width, reach=reach, rate=rate, periodic=(False, False, True),
                              fine_margin=reach + lattice.a, cut=faces)
    split = comm is not None and comm.Get_size() > 1
    model = CoupledModel(geometry, potential, species, method, device=device, check=not split)
    runner, imbalance = model, 1.0
    if split:
        from qc_sim.coupling.domain import DomainCoupledModel

        runner = DomainCoupledModel(comm, model)
        runner.check_patch_test()
        imbalance = runner.imbalance()
    C = cubic_stiffness(*elastic, orientation) / EV_PER_A3_TO_GPA
    return Crack(model, CrackField(C), tip, np.asarray(orientation), runner,
                 runner.patch_results, imbalance)


def _between(offsets, period, near) -> float:
    """The point midway between two consecutive site coordinates (``offsets`` within one
    ``period``) nearest to ``near``."""
    s = np.unique(np.round(np.asarray(offsets) % period, 9))
    s = np.concatenate([s, [s[0] + period]])
    mids = 0.5 * (s[:-1] + s[1:])
    k = np.floor(near / period)
    candidates = np.concatenate([mids + (k + j) * period for j in (-1, 0, 1)])
    return float(candidates[np.argmin(np.abs(candidates - near))])


@dataclass(frozen=True)
class LoadStep:
    """One load step: K (MPa m^0.5), G (J/m^2), the tip's advance (Å), atoms with a fault
    signature, the minimiser's account, and what the atoms did ("none", "cleavage",
    "emission")."""

    K: float
    G: float
    advance: float
    faulted: int
    converged: bool
    steps: int
    event: str


class CrackReader:
    """What the atoms of a crack model are doing: bonds across the plane ahead of the tip,
    and the centrosymmetry of the core's atoms away from the faces."""

    def __init__(self, crack: Crack):
        from scipy.spatial import cKDTree

        g = crack.model.geometry
        self.crack = crack
        X = g.atom_sites
        self.period = np.where(g.periodic, g.hi - g.lo, 0.0)
        r_nn = crack.nearest
        self.r_nn = r_nn
        tree = cKDTree(X - g.lo, boxsize=np.where(g.periodic, g.hi - g.lo,
                                                  10 * (g.hi - g.lo) + 1.0))
        pairs = tree.query_pairs(1.05 * r_nn, output_type="ndarray")
        tip = crack.tip
        i, j = pairs[:, 0], pairs[:, 1]
        across = (X[i, 1] - tip[1]) * (X[j, 1] - tip[1]) < 0
        ahead = 0.5 * (X[i, 0] + X[j, 0]) > tip[0]
        self.bonds = pairs[across & ahead]
        self.bond_x = 0.5 * (X[self.bonds[:, 0], 0] + X[self.bonds[:, 1], 0])
        # centrosymmetry: the core's atoms more than 0.75 a from the crack plane
        core = (g.atom_beta == 1.0) & (np.abs(X[:, 1] - tip[1]) > 0.75 * g.lattice.a)
        self.core, self.pairs = opposite_pairs(X, np.flatnonzero(core), tree, r_nn, self._wrap,
                                               g.lo)

    def _wrap(self, d):
        """Minimum image along the periodic axes."""
        p = self.period
        return np.where(p > 0, d - p * np.round(d / np.where(p > 0, p, 1.0)), d)

    def positions(self, y):
        """Every atom's position (na, d) Å for node positions ``y`` (nn, d)."""
        g = self.crack.model.geometry
        return g.interpolation @ y + g.atom_offset

    def advance(self, x) -> float:
        """How far (Å) past the initial tip the farthest broken bond lies (0: none)."""
        d = np.linalg.norm(self._wrap(x[self.bonds[:, 0]] - x[self.bonds[:, 1]]), axis=1)
        broken = d > BROKEN * self.r_nn
        if not broken.any():
            return 0.0
        return float(self.bond_x[broken].max() - self.crack.tip[0])

    def centrosymmetry(self, x) -> np.ndarray:
        """(n_core,) Å^2 of the core atoms away from the faces."""
        return centrosymmetry(x, self.core, self.pairs, self._wrap)


def load_crack(crack: Crack, k_values, fmax: float = 1e-3, max_steps: int = 20_000,
               minimiser=None, on_step=None) -> list[LoadStep]:
    """Raise K through ``k_values`` (MPa m^0.5), relaxing at each; stop after the step
    where the atoms cleave or emit. ``on_step(LoadStep)`` is told after each step."""
    from qc_sim.solvers import fire, lbfgs

    model, runner = crack.model, crack.runner
    solve = minimiser or (fire if model.method == "bqcf" else lbfgs)
    X = model.geometry.mesh.nodes
    unit = np.zeros_like(X)  # the field of K = 1 eV/Å^2.5 at every node
    unit[:, :2] = crack.field.displacement(X, crack.tip, 1.0)
    mine = getattr(runner, "nodes", np.arange(len(X)))  # the nodes this rank moves
    X, unit = X[mine], unit[mine]
    reader = CrackReader(crack)
    held = ~runner.free
    k_now, out = 0.0, []
    for k in k_values:
        K = float(k) * MPA_SQRT_M
        runner.y = runner.y + (K - k_now) * unit
        runner.y[held] = X[held] + K * unit[held]
        k_now = K
        result = solve(runner, fmax=fmax, max_steps=max_steps)
        x = reader.positions(_whole(runner))
        advance = reader.advance(x)
        faulted = int((reader.centrosymmetry(x) > CSP_FAULT).sum())
        event = ("cleavage" if advance >= 2 * crack.nearest else
                 "emission" if faulted >= 6 else "none")
        step = LoadStep(float(k), crack.field.energy_release_rate(K) * J_PER_M2, advance,
                        faulted, result.converged, result.steps, event)
        out.append(step)
        if on_step is not None:
            on_step(step)
        if event != "none":
            break
    return out


def _whole(runner):
    """All node positions: the model's own, or gathered from the ranks (once per load
    step, to read the atoms)."""
    if not hasattr(runner, "nodes"):
        return runner.y
    return runner.gather_nodes(runner.y, root=None)
