"""Bone remodelling driven by mechanics: a concurrent region with a micro model at every element.

:class:`BoneRegion` (physics ``"bone"``) speaks the region interface of
:mod:`qc_sim.regions.base`. It has two microscale laws:

- ``law="komarova"``: the Komarova et al. (2003) osteoclast/osteoblast/bone-mass model at
  every element (:mod:`qc_sim.regions.komarova`), all elements advanced by one call of the
  ``komarova_advance`` kernel (Dormand-Prince RK5(4), per-element error control), its
  osteoblast production biased by the local stimulus (:class:`MechanicalBias`); bone mass
  sets the density rho = rho_ref z / z_ref (bounded, z clamped to match), density sets the
  stiffness E = C rho^gamma. Without a mesh it is one point (the single-cell model, time in
  days), biased only by an imported stimulus.
- ``law="stimulus"``: the Huiskes/Weinans law drho/dt = B (U/rho - k) (Weinans, Huiskes &
  Grootenboer 1992), explicit (forward Euler) in time, rho clamped to its bounds.

A macro step ``advance(dt)`` is operator split and explicit in the mechanics: if the
element densities moved by more than ``resolve_tol`` (relative, max norm) since the last
elasticity solve, elasticity is solved again (:class:`ElasticProblem`); then the micro state
advances by dt with the stimulus S = U / rho of that solve held fixed.

``remedy="nodes"`` is the node-based approach of Jacobs, Levenston, Beaupre, Simo & Carter
(1995, J Biomech 28:449): the stimulus law lives at the nodes (nodal stimulus = volume
average of the adjacent elements', element density = mean of its nodes), which removes the
checkerboard that element-based densities form for gamma > 1; with the Komarova law the cells
stay at the elements and their stimulus is the element mean of that nodal average.
"""

from __future__ import annotations

import math
import time as _time

import numpy as np

from qc_sim.backend import get_device
from qc_sim.errors import InputError
from qc_sim.regions.komarova import KomarovaParameters, StepControl, advance_cells
from qc_sim.regions.mechanostat import (DensityElasticity, ElasticProblem, MechanicalBias,
                                        StimulusLaw, element_to_node, node_to_element)

LAWS = ("komarova", "stimulus")
REMEDIES = ("none", "nodes")


class BoneRegion:
    """A bone region: ``mesh`` (P1, 2D or 3D; None for a single point) with micro ``law``.

    mesh mode: ``fixed`` (nn, d) bool held displacement components, ``loads`` (nn, d) N;
    ``elasticity`` (:class:`DensityElasticity`); ``solver`` ("auto", "direct", "amg").
    komarova: ``cells`` (:class:`KomarovaParameters`), ``bias`` (:class:`MechanicalBias`,
    required with a mesh), ``rho_ref`` the density of bone mass ``z_ref``, ``initial_cells``
    (n, 3) or (3,) (default: the steady state with z = z_ref), ``control``
    (:class:`StepControl`). stimulus: ``stimulus_law`` (:class:`StimulusLaw`), ``density``
    the initial density (scalar, or per element, or per node with remedy "nodes").
    """

    physics = "bone"

    def __init__(self, mesh=None, *, law: str = "komarova", elasticity=None, fixed=None,
                 loads=None, cells=None, bias=None, stimulus_law=None, control=None,
                 density=None, rho_ref: float = 1.0, z_ref: float = 100.0, initial_cells=None,
                 remedy: str = "none", resolve_tol: float = 1e-3, solver: str = "auto",
                 backend=None):
        if law not in LAWS:
            raise InputError(f"bone.law must be one of {', '.join(LAWS)}, got {law!r}")
        if remedy not in REMEDIES:
            raise InputError(f"bone.remedy must be one of {', '.join(REMEDIES)}, got {remedy!r}")
        if mesh is None and law != "komarova":
            raise InputError("bone: law 'stimulus' needs a mesh (only 'komarova' runs as a "
                             "single point)")
        if not (isinstance(resolve_tol, (int, float)) and resolve_tol >= 0):
            raise InputError(f"bone.resolve_tol must be >= 0, got {resolve_tol!r}")
        if not (isinstance(z_ref, (int, float)) and z_ref > 0 and math.isfinite(z_ref)):
            raise InputError(f"bone.z_ref must be > 0, got {z_ref!r}")
        self.mesh, self.law, self.remedy = mesh, law, remedy
        self.resolve_tol = float(resolve_tol)
        self.device = get_device(backend)
        self.cells_params = cells if cells is not None else KomarovaParameters()
        self.control = control if control is not None else StepControl()
        self.bias = bias
        self.elasticity = elasticity if elasticity is not None else DensityElasticity()
        self.stimulus_law = stimulus_law if stimulus_law is not None else StimulusLaw()
        self.rho_ref, self.z_ref = float(rho_ref), float(z_ref)
        self.time = 0.0
        self.imported_stimulus = None
        self.counts = None
        self.share = None  # set by distribute() on MPI ranks
        self.timing = {"elasticity": 0.0, "micro": 0.0}
        self.n_solves = 0
        if mesh is None:
            self.n = 1
        else:
            self.n = len(mesh.elements)
            if fixed is None or loads is None:
                raise InputError("bone: a mesh needs 'fixed' (nn, d) and 'loads' (nn, d)")
            el = self.elasticity
            if not el.rho_min <= self.rho_ref <= el.rho_max:
                raise InputError(f"bone.rho_ref must lie in [rho_min, rho_max] = "
                                 f"[{el.rho_min}, {el.rho_max}], got {rho_ref!r}")
            self.problem = ElasticProblem(mesh, el, fixed, loads, solver=solver)
        if law == "komarova":
            if mesh is not None and bias is None:
                raise InputError("bone: law 'komarova' on a mesh needs a bias "
                                 "(MechanicalBias(reference=S_ref))")
            self._init_cells(initial_cells)
        else:
            self._init_density(density)
        if mesh is not None:
            self._solve()

    # -- set-up -------------------------------------------------------------------------

    def _init_cells(self, initial):
        x1, x2 = self.cells_params.steady_state()
        if initial is None:
            initial = (x1, x2, self.z_ref)
        init = np.asarray(initial, float)
        if init.shape == (3,):
            init = np.tile(init, (self.n, 1))
        if init.shape != (self.n, 3) or not np.all(np.isfinite(init)):
            raise InputError(f"bone.initial_cells must be (3,) or ({self.n}, 3) finite values")
        if np.any(init[:, :2] <= 0):
            raise InputError("bone.initial_cells: cell numbers x1, x2 must be > 0")
        self.cells = self.device.asarray(init)
        self.step = self.device.asarray(np.zeros(self.n))
        if self.mesh is not None:
            el = self.elasticity
            self.z_bounds = (self.z_ref * el.rho_min / self.rho_ref,
                             self.z_ref * el.rho_max / self.rho_ref)
        else:
            self.z_bounds = (-math.inf, math.inf)

    def _init_density(self, density):
        el = self.elasticity
        count = self.mesh.n_nodes if self.remedy == "nodes" else self.n
        rho = np.asarray(self.rho_ref if density is None else density, float)
        rho = np.broadcast_to(rho, (count,)).copy() if rho.ndim == 0 else rho.copy()
        if rho.shape != (count,) or not np.all(np.isfinite(rho)):
            raise InputError(f"bone.density must be a number or {count} values "
                             f"({'nodes' if self.remedy == 'nodes' else 'elements'})")
        if np.any(rho < el.rho_min) or np.any(rho > el.rho_max):
            raise InputError(f"bone.density must lie in [rho_min, rho_max] = "
                             f"[{el.rho_min}, {el.rho_max}]")
        self.rho = rho

    # -- the physics --------------------------------------------------------------------

    def element_density(self) -> np.ndarray:
        """Current apparent density (ne,) g/cm^3 of every element."""
        el = self.elasticity
        if self.law == "komarova":
            z = self.device.to_host(self.cells)[:, 2]
            return np.clip(self.rho_ref * z / self.z_ref, el.rho_min, el.rho_max)
        if self.remedy == "nodes":
            return node_to_element(self.mesh, self.rho)
        return self.rho.copy()

    def _solve(self):
        t0 = _time.perf_counter()
        rho = self.element_density()
        u, U, compliance = self.problem.solve(self.elasticity.young(rho))
        stimulus = U / rho
        if self.law == "komarova" and self.remedy == "nodes":
            stimulus = node_to_element(self.mesh, element_to_node(self.mesh, stimulus))
        self.displacement, self.energy_density, self.compliance = u, U, compliance
        self.stimulus, self.density_solved = stimulus, rho
        self.n_solves += 1
        self.timing["elasticity"] += _time.perf_counter() - t0

    def _needs_solve(self) -> bool:
        change = np.abs(self.element_density() - self.density_solved) / self.density_solved
        return bool(change.max() > self.resolve_tol)

    def _current_stimulus(self):
        if self.imported_stimulus is not None:
            return self.imported_stimulus
        return None if self.mesh is None else self.stimulus

    def advance(self, dt: float) -> None:
        """Move the region forward by ``dt`` (days for the Komarova law)."""
        if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
            raise InputError(f"bone: dt must be a positive number, got {dt!r}")
        if self.mesh is not None and self._needs_solve():
            self._solve()
        t0 = _time.perf_counter()
        S = self._current_stimulus()
        if self.law == "komarova":
            factor = np.ones(self.n) if S is None else self.bias.factor(S)
            self._advance_cells(factor, float(dt))
        else:
            law, el = self.stimulus_law, self.elasticity
            if self.remedy == "nodes":
                S = element_to_node(self.mesh, S)
            self.rho = np.clip(self.rho + dt * (law.rate * (S - law.reference)),
                               el.rho_min, el.rho_max)
        self.timing["micro"] += _time.perf_counter() - t0
        self.time += float(dt)

    def distribute(self, share) -> None:
        """Advance only the cell models of the elements ``share``
        (:class:`~qc_sim.parallel.entities.EntityShare`) gives this rank, and gather every
        rank's after each step. The cell models are the per-entity part of a step; the
        elasticity solve that follows needs every element's density and is repeated on every
        rank from the gathered state (the same bits everywhere: see
        :mod:`qc_sim.simulation.region`). The stimulus law is one vectorised update of every
        element, cheaper than the gather that splitting it would need."""
        self.share = share

    def _advance_cells(self, factor, dt: float) -> None:
        """The Komarova cells by dt: all of them, or this rank's and then a gather. Each
        point's sub-steps are its own (see :mod:`~qc_sim.regions.komarova`), so the rows are
        those of a serial run."""
        args = (self.device, self.cells_params.packed(), self.control)
        share = self.share
        if share is None:
            self.counts = advance_cells(*args, factor, self.cells, self.step, dt,
                                        *self.z_bounds)
            return
        mine = share.owned
        cells, step = self.cells[mine], self.step[mine]
        counts = advance_cells(*args, factor[mine], cells, step, dt, *self.z_bounds)
        host = self.device.to_host
        rows = np.column_stack([host(cells), host(step), counts.astype(float)])
        whole = share.gather_rows(rows)
        self.cells = self.device.asarray(np.ascontiguousarray(whole[:, :3]))
        self.step = self.device.asarray(np.ascontiguousarray(whole[:, 3]))
        self.counts = whole[:, 4:].astype(np.int32)

    def stable_time_step(self) -> float:
        """The explicit coupling's step limit (the micro ODEs themselves are adaptive).

        stimulus law: 1 / max lambda over the entities not held at a bound. At fixed load
        (U ~ rho^-gamma) the law is drho/dt = g(rho) = B (S (rho0/rho)^(gamma+1) - k), whose
        slope |g'| = B (gamma + 1) S / rho grows as rho falls; lambda is its largest value
        between rho and the local equilibrium rho* = rho (S/k)^(1/(gamma+1)), i.e.
        B (gamma + 1) max(S / rho, k / rho*), so a forward Euler step cannot overshoot rho*.

        komarova: 1 / max lambda, lambda = c |df/dS| (gamma + 1) S / z, the loop gain of
        bone mass -> density -> stimulus (dS/dz = -(gamma + 1) S / z at fixed load) ->
        bias f -> formation rate, with c = max(k2 x2_bar |(1 - g11)/Gamma|,
        k1 x1_bar |g21/Gamma|) the slope in f of the quasi-steady formation/resorption rate;
        and at most 1/min(beta1, beta2), so the held stimulus never lags the slowest cell
        population by more than its time scale. inf for a single point."""
        if self.mesh is None or self.imported_stimulus is not None:
            return math.inf
        el = self.elasticity
        if self.law == "stimulus":
            law = self.stimulus_law
            S, rho = self.stimulus, self.rho
            if self.remedy == "nodes":
                S = element_to_node(self.mesh, S)
            held = ((rho >= el.rho_max) & (S >= law.reference)) | \
                   ((rho <= el.rho_min) & (S <= law.reference))
            S, rho = S[~held], rho[~held]
            if not S.size:
                return math.inf
            k = law.reference
            target = np.clip(rho * (S / k) ** (1.0 / (el.gamma + 1)), el.rho_min, el.rho_max)
            lam = law.rate * (el.gamma + 1) * np.maximum(S / rho, k / target)
            return float(1.0 / lam.max())
        p = self.cells_params
        x1, x2 = p.steady_state()
        c = max(p.k2 * x2 * abs((1 - p.g11) / p.gamma), p.k1 * x1 * abs(p.g21 / p.gamma))
        z = self.device.to_host(self.cells)[:, 2]
        lam = c * np.abs(self.bias.slope(self.stimulus)) * (el.gamma + 1) * self.stimulus / z
        cell_time = 1.0 / min(p.beta1, p.beta2)
        return float(min(1.0 / lam.max() if lam.max() > 0 else math.inf, cell_time))

    # -- exchange, checkpoints, cost, output --------------------------------------------

    def exports(self) -> dict:
        out = {}
        if self.law == "komarova":
            c = self.device.to_host(self.cells)
            out.update(osteoclasts=c[:, 0].copy(), osteoblasts=c[:, 1].copy(),
                       bone_mass=c[:, 2].copy())
        if self.mesh is not None:
            rho = self.element_density()
            out.update(density=rho, young_modulus=self.elasticity.young(rho),
                       stimulus=self.stimulus.copy(),
                       strain_energy_density=self.energy_density.copy(),
                       displacement=self.displacement.copy())
            if self.law == "stimulus" and self.remedy == "nodes":
                out["nodal_density"] = self.rho.copy()
        return out

    def imports(self, fields: dict) -> None:
        """``stimulus``: S (J/g) per element or one number, replacing the mechanical one
        (None clears it; a single point needs a ``bias`` for it); ``loads``: new nodal loads
        (nn, d) N (elasticity is solved again at the next step)."""
        allowed = ("stimulus", "loads")
        for key, value in fields.items():
            if key not in allowed:
                raise InputError(f"bone.imports: unknown field {key!r}; allowed: "
                                 f"{', '.join(allowed)}")
            if key == "stimulus":
                if value is None:
                    self.imported_stimulus = None
                    continue
                if self.bias is None and self.law == "komarova":
                    raise InputError("bone.imports: a stimulus needs a bias "
                                     "(MechanicalBias(reference=S_ref))")
                s = np.broadcast_to(np.asarray(value, float), (self.n,)).copy()
                if not np.all(np.isfinite(s)) or np.any(s < 0):
                    raise InputError("bone.imports: stimulus must be finite and >= 0")
                self.imported_stimulus = s
            else:
                if self.mesh is None:
                    raise InputError("bone.imports: 'loads' needs a mesh")
                self.problem.set_loads(value)
                self._solve()

    def state_fields(self) -> dict:
        out = {"time": np.array(self.time)}
        if self.law == "komarova":
            out["cells"] = self.device.to_host(self.cells).copy()
            out["step_size"] = self.device.to_host(self.step).copy()
        else:
            out["density"] = self.rho.copy()
        if self.imported_stimulus is not None:
            out["imported_stimulus"] = self.imported_stimulus.copy()
        if self.mesh is not None:
            out.update(density_solved=self.density_solved.copy(),
                       displacement=self.displacement.copy(),
                       strain_energy_density=self.energy_density.copy(),
                       stimulus=self.stimulus.copy(), compliance=np.array(self.compliance),
                       loads=self.problem.loads.copy(), solves=np.array(self.n_solves))
        return out

    def load_state_fields(self, fields: dict) -> None:
        want = self.state_fields()
        optional = {"imported_stimulus"}
        missing = [k for k in want if k not in fields and k not in optional]
        if missing:
            raise InputError(f"bone checkpoint: missing fields {', '.join(missing)}")
        for key, value in fields.items():
            if key not in want and key not in optional:
                raise InputError(f"bone checkpoint: unknown field {key!r}")
            ref_shape = want[key].shape if key in want else (self.n,)
            if np.shape(value) != ref_shape:
                raise InputError(f"bone checkpoint: field {key!r} has shape {np.shape(value)}, "
                                 f"expected {ref_shape}")
        f = {k: np.array(v, copy=True) for k, v in fields.items()}
        self.time = float(f["time"])
        if self.law == "komarova":
            self.cells = self.device.asarray(f["cells"])
            self.step = self.device.asarray(f["step_size"])
        else:
            self.rho = f["density"].astype(float)
        self.imported_stimulus = f.get("imported_stimulus")
        if self.mesh is not None:
            self.density_solved = f["density_solved"]
            self.displacement = f["displacement"]
            self.energy_density = f["strain_energy_density"]
            self.stimulus = f["stimulus"]
            self.compliance = float(f["compliance"])
            self.problem.set_loads(f["loads"])
            self.n_solves = int(f["solves"])

    def entity_costs(self) -> np.ndarray:
        """Relative cost (mean 1) of each element (or the one point): its share of the
        measured elasticity time plus of the micro-model time in proportion to the RK
        sub-step attempts it took in the last step."""
        n = self.n
        cost = np.full(n, self.timing["elasticity"] / n)
        if self.counts is not None:
            attempts = self.counts.sum(axis=1).astype(float)
            cost += self.timing["micro"] * attempts / max(attempts.sum(), 1.0)
        else:
            cost += self.timing["micro"] / n
        total = cost.sum()
        return cost * (n / total) if total > 0 else np.ones(n)

    def entity_positions(self) -> np.ndarray:
        """(n, d) where each entity of :meth:`entity_costs` sits: element centroids (mm),
        the origin for a single point."""
        if self.mesh is None:
            return np.zeros((1, 1))
        return self.mesh.nodes[self.mesh.elements].mean(axis=1)

    def thermo(self) -> dict:
        if self.mesh is None:
            c = self.device.to_host(self.cells)[0]
            return {"time": self.time, "osteoclasts": float(c[0]), "osteoblasts": float(c[1]),
                    "bone_mass": float(c[2])}
        rho = self.element_density()
        v = self.mesh.volumes
        out = {"time": self.time, "mean_density": float(v @ rho / v.sum()),
               "min_density": float(rho.min()), "max_density": float(rho.max()),
               "compliance": float(self.compliance)}
        if self.law == "komarova":
            out["mean_bone_mass"] = float(v @ self.device.to_host(self.cells)[:, 2] / v.sum())
        return out


# -- functions for case files ------------------------------------------------------------

def single_cell_history(params: KomarovaParameters | None = None, t_end: float = 400.0,
                        dt: float = 1.0, initial=None, control: StepControl | None = None,
                        stimulus: float | None = None, bias: MechanicalBias | None = None,
                        backend=None) -> dict:
    """The single-cell Komarova model sampled every ``dt`` days up to ``t_end``: a dict of
    arrays ``time``, ``osteoclasts``, ``osteoblasts``, ``bone_mass``. ``initial`` (x1, x2, z)
    defaults to the single remodelling cycle of Komarova et al. (2003, Fig. 2):
    (x1_bar + 10, x2_bar, 100). With ``stimulus`` and ``bias`` the osteoblast production is
    biased by f(stimulus / S_ref)."""
    params = params if params is not None else KomarovaParameters()
    if initial is None:
        x1, x2 = params.steady_state()
        initial = (x1 + 10.0, x2, 100.0)
    if not (t_end > 0 and dt > 0):
        raise InputError(f"single_cell_history: t_end and dt must be > 0, got {t_end}, {dt}")
    region = BoneRegion(None, cells=params, initial_cells=initial, control=control, bias=bias,
                        backend=backend)
    if stimulus is not None:
        region.imports({"stimulus": stimulus})
    steps = int(round(t_end / dt))
    rows = [region.thermo()]
    for _ in range(steps):
        region.advance(dt)
        rows.append(region.thermo())
    return {key: np.array([r[key] for r in rows]) for key in rows[0]}


def grid_mesh(size, divisions):
    """A P1 Delaunay mesh (2D or 3D) of the regular grid of divisions[i] + 1 points along
    each side of the box [0, size] (mm), its box sides tagged (``mesh.face_sets``,
    ``mesh.node_sets``: "xlo", "xhi", ...); grid ties broken by a position hash."""
    from qc_sim.continuum.mesh import delaunay_mesh

    size = np.asarray(size, float)
    divisions = np.asarray(divisions, int)
    if size.shape != divisions.shape or size.shape not in ((2,), (3,)):
        raise InputError("grid_mesh: size and divisions must both have 2 or 3 entries")
    if np.any(size <= 0) or np.any(divisions < 1):
        raise InputError("grid_mesh: size must be > 0 and divisions >= 1")
    axes = [np.linspace(0.0, s, k + 1) for s, k in zip(size, divisions)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(size))
    mesh = delaunay_mesh(points)
    mesh.tag_box_sides(tol=1e-9 * size.max())
    return mesh


def region_on_mesh(mesh, fixed, loads, law, reference_stimulus=None, bias_amplitude=0.5,
                   bias_width=1.0, **kwargs):
    """A BoneRegion; for the Komarova law with no ``bias`` given, S_ref is
    ``reference_stimulus`` or, if None, the volume mean of S at the initial uniform density
    rho_ref (so the mean element is homeostatic at the start)."""
    if law == "komarova" and kwargs.get("bias") is None:
        if reference_stimulus is None:
            el = kwargs.get("elasticity") or DensityElasticity()
            rho = float(kwargs.get("rho_ref", 1.0))
            problem = ElasticProblem(mesh, el, fixed, loads, solver=kwargs.get("solver", "auto"))
            _, U, _ = problem.solve(np.full(len(mesh.elements), float(el.young(rho))))
            reference_stimulus = float(mesh.volumes @ (U / rho) / mesh.volumes.sum())
        kwargs["bias"] = MechanicalBias(reference_stimulus, bias_amplitude, bias_width)
    return BoneRegion(mesh, law=law, fixed=fixed, loads=loads, **kwargs)


def uniaxial_bar(stress: float, dim: int = 2, size=None, divisions=None, law: str = "stimulus",
                 reference_stimulus=None, bias_amplitude=0.5, bias_width=1.0, **kwargs):
    """A bar [0, L] x [0, W] (x [0, W]) pulled by a uniform traction ``stress`` (MPa) on its
    x = L face, held by rollers (u_x = 0 on x = 0, and just enough more to stop rigid
    motion), lateral faces free: uniaxial stress, exactly representable on P1 elements."""
    if dim not in (2, 3):
        raise InputError(f"uniaxial_bar: dim must be 2 or 3, got {dim!r}")
    size = (4.0, 1.0) + ((1.0,) if dim == 3 else ()) if size is None else size
    divisions = (8, 2) + ((2,) if dim == 3 else ()) if divisions is None else divisions
    mesh = grid_mesh(size, divisions)
    x = mesh.nodes
    fixed = np.zeros_like(x, bool)
    fixed[mesh.node_sets["xlo"], 0] = True
    origin = np.argmin((x**2).sum(axis=1))
    fixed[origin] = True
    if dim == 3:
        corner = np.argmin(((x - [0.0, size[1], 0.0]) ** 2).sum(axis=1))
        fixed[corner, 2] = True
    traction = np.zeros(dim)
    traction[0] = stress
    loads = mesh.traction_loads(mesh.face_sets["xhi"], traction)
    return region_on_mesh(mesh, fixed, loads, law, reference_stimulus, bias_amplitude,
                          bias_width,
                   **kwargs)


def weinans_plate(divisions: int = 40, size: float = 100.0, pressure: float = 2.0,
                  loaded_fraction: float = 0.5, law: str = "stimulus",
                  reference_stimulus=None, bias_amplitude=0.5, bias_width=1.0, **kwargs):
    """The 2D plate test of Weinans, Huiskes & Grootenboer (1992), in its set-up: a square
    plate (``size`` mm, plane stress, unit thickness) fixed along its bottom edge and pressed
    on the top edge by a uniform distributed load ``pressure`` (MPa) over the middle
    ``loaded_fraction`` of the edge; starts from a uniform density."""
    if not 0 < loaded_fraction <= 1:
        raise InputError(f"weinans_plate: loaded_fraction must be in (0, 1], got "
                         f"{loaded_fraction!r}")
    mesh = grid_mesh((size, size), (divisions, divisions))
    fixed = np.zeros_like(mesh.nodes, bool)
    fixed[mesh.node_sets["ylo"]] = True
    top = mesh.face_sets["yhi"]
    mid = mesh.nodes[top].mean(axis=1)[:, 0]
    loaded = top[np.abs(mid - 0.5 * size) <= 0.5 * loaded_fraction * size + 1e-9]
    loads = mesh.traction_loads(loaded, (0.0, -pressure))
    return region_on_mesh(mesh, fixed, loads, law, reference_stimulus, bias_amplitude,
                          bias_width,
                   **kwargs)


def bending_block(divisions=(12, 4, 4), size=(60.0, 20.0, 20.0), traction: float = 1.0,
                  law: str = "stimulus", reference_stimulus=None, bias_amplitude=0.5,
                  bias_width=1.0, **kwargs):
    """A 3D block in bending: a cantilever clamped on x = 0 and loaded on its x = L face by a
    uniform shear traction ``traction`` (MPa) in -z."""
    mesh = grid_mesh(size, divisions)
    fixed = np.zeros_like(mesh.nodes, bool)
    fixed[mesh.node_sets["xlo"]] = True
    loads = mesh.traction_loads(mesh.face_sets["xhi"], (0.0, 0.0, -traction))
    return region_on_mesh(mesh, fixed, loads, law, reference_stimulus, bias_amplitude,
                          bias_width,
                   **kwargs)


def mesh_file_region(path, fixed_side: str, load_side: str, traction, law: str = "stimulus",
                     reference_stimulus=None, bias_amplitude=0.5, bias_width=1.0, **kwargs):
    """A bone region on a mesh file meshio reads (Gmsh, VTK, ...): every node on the
    bounding-box side ``fixed_side`` ("xlo", "yhi", ...) held, a uniform ``traction`` (MPa,
    (d,)) on the faces of ``load_side``."""
    from qc_sim.continuum.mesh_files import read_mesh

    mesh = read_mesh(path)
    sides = sorted(mesh.face_sets)
    for name, side in (("fixed_side", fixed_side), ("load_side", load_side)):
        if side not in sides:
            raise InputError(f"{path}: {name} {side!r} is not a side of this {mesh.dim}D mesh "
                             f"({', '.join(sides)})")
    traction = np.asarray(traction, float)
    if traction.shape != (mesh.dim,):
        raise InputError(f"{path}: traction needs {mesh.dim} components for this mesh, got "
                         f"{traction.size}")
    if len(mesh.face_sets[load_side]) == 0:
        raise InputError(f"{path}: no boundary faces on load_side {load_side!r}")
    fixed = np.zeros_like(mesh.nodes, bool)
    fixed[mesh.node_sets[fixed_side]] = True
    loads = mesh.traction_loads(mesh.face_sets[load_side], traction)
    return region_on_mesh(mesh, fixed, loads, law, reference_stimulus, bias_amplitude,
                          bias_width, **kwargs)
