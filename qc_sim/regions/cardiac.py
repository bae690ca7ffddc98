"""Cardiac tissue as a region plug-in (physics ``"cardiac"``): a cell model at every node of a
box, joined by the monodomain equation (:mod:`qc_sim.regions.cardiac_tissue`).

Cell models (``[cardiac] cell_model``): ``"tp06_epi"``, the ten Tusscher–Panfilov (2006)
human epicardial ventricular cell (:mod:`qc_sim.regions.cardiac_tp06`), the cell of the
N-version benchmark of Niederer et al. (Phil Trans R Soc A 369: 4331, 2011); and
``"maltsev_lakatta"``, the coupled-clock sinoatrial pacemaker cell of Maltsev & Lakatta (Am J
Physiol Heart Circ Physiol 296: H594, 2009) in :mod:`qc_sim.regions.cardiac_maltsev`, with
stochastic (binomial) channel gating when ``stochastic = true``.

Every cell model is a :class:`CellModel`; the tissue knows no model by name. Units of a case:
lengths mm, time ms (the region's unit), conductivities S/m (= mS/mm), chi 1/mm, Cm
µF/mm^2, the stimulus µA/cm^3 as the benchmark gives it. With both intra- and extracellular
conductivities given, the monodomain tensor is their harmonic mean along and across the
fibres (Niederer et al. 2011, p. 4339).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from qc_sim.errors import InputError
from qc_sim.regions.cardiac_tissue import MonodomainTissue, conductivity_tensor, grid_nodes


class CellModel(Protocol):
    """What the tissue asks of a cell model (the interface of every cardiac cell).

    - ``name``: "tp06_epi", "maltsev_lakatta_2009", ...
    - ``state_names``: the states, ``state_names[0] == "V"`` (membrane potential, mV)
    - ``initial_state(n)``: (n_states, n) float64, the resting/initial values
    - ``step(y, dt, i_stim, rng=None)``: advance every cell's ODEs (V included) by ``dt`` ms
      in place, with stimulus current ``i_stim`` (pA/pF = µA/µF, scalar or (n,), the sign
      of the model's total ionic current: dV/dt = -(I_ion + I_stim)), by a method suited to
      stiff cell ODEs (Rush–Larsen for the gates); ``rng`` a numpy Generator for stochastic
      gating, None for deterministic
    - ``max_time_step()``: ms, the largest stable and accurate ``dt`` of ``step``
    """

    name: str
    state_names: tuple

    def initial_state(self, n: int) -> np.ndarray: ...

    def step(self, y: np.ndarray, dt: float, i_stim, rng=None) -> None: ...

    def max_time_step(self) -> float: ...


UNIT = "ms"
CELL_MODELS = ("tp06_epi", "maltsev_lakatta")
STOCHASTIC_MODELS = ("maltsev_lakatta",)  # the models with stochastic gating


@dataclass(frozen=True)
class Spec:
    cell_model: str = "tp06_epi"
    size: tuple = (20.0, 7.0, 3.0)
    dx: float = 0.5
    dt: float = 0.05
    conductivity_intra: tuple = (0.17, 0.019)
    conductivity_extra: tuple = (0.62, 0.24)
    chi: float = 140.0
    capacitance: float = 0.01
    fibre: tuple = (1.0, 0.0, 0.0)
    stimulus_lo: tuple = (0.0, 0.0, 0.0)
    stimulus_hi: tuple = (1.5, 1.5, 1.5)
    stimulus_amplitude: float = 50000.0
    stimulus_start: float = 0.0
    stimulus_duration: float = 2.0
    stimulus_period: float = 0.0
    theta: float = 1.0
    splitting: str = "godunov"
    solver: str = "direct"
    stochastic: bool = False
    seed: int = 0


KEY_DOCS = {
    "cell_model": "the cell at every node: tp06_epi (ten Tusscher-Panfilov 2006 epicardial) "
                  "or maltsev_lakatta (Maltsev-Lakatta 2009 sinoatrial pacemaker)",
    "size": "the tissue box, mm (1 to 3 entries: a strand, a sheet, a slab)",
    "dx": "grid spacing, mm (every size must be a whole number of dx)",
    "dt": "reaction-diffusion step inside a macro step, ms (at most the cell's max step)",
    "conductivity_intra": "intracellular conductivity along and across the fibres, S/m",
    "conductivity_extra": "extracellular conductivity along and across the fibres, S/m "
                          "(monodomain: harmonic mean with the intracellular); [] for none",
    "chi": "membrane surface to volume ratio, 1/mm",
    "capacitance": "membrane capacitance Cm, uF/mm^2",
    "fibre": "fibre direction (one entry per size entry; normalised)",
    "stimulus_lo": "lower corner of the stimulated box, mm",
    "stimulus_hi": "upper corner of the stimulated box, mm",
    "stimulus_amplitude": "stimulus current, uA/cm^3 (positive depolarises; 0: none)",
    "stimulus_start": "stimulus start, ms",
    "stimulus_duration": "stimulus duration, ms",
    "stimulus_period": "stimulus period, ms (0: one stimulus)",
    "theta": "diffusion time scheme: 1 backward Euler, 0.5 Crank-Nicolson",
    "splitting": "operator splitting: godunov (reaction, diffusion) or strang",
    "solver": "diffusion solve: direct (SuperLU, factorised once), dct (exact by cosine "
              "transforms, fibres along a grid axis; for fine 3D grids) or cg (conjugate "
              "gradients)",
    "stochastic": "stochastic channel gating (maltsev_lakatta only)",
    "seed": "seed of the stochastic gating's generator",
}
CHOICES = {"cell_model": CELL_MODELS, "splitting": ("godunov", "strang"),
           "solver": ("direct", "dct", "cg")}


def make_cell(name: str):
    """The :class:`CellModel` called ``name`` in a case; the pacemaker module on first use."""
    if name == "tp06_epi":
        from qc_sim.regions.cardiac_tp06 import TP06Epi

        return TP06Epi()
    try:
        from qc_sim.regions.cardiac_maltsev import MaltsevLakatta2009
    except ModuleNotFoundError as exc:
        if exc.name != "qc_sim.regions.cardiac_maltsev":
            raise
        raise InputError("maltsev_lakatta needs qc_sim/regions/cardiac_maltsev.py, which "
                         "this installation lacks") from None
    return MaltsevLakatta2009()


def monodomain_conductivities(spec: Spec):
    """(along, across) S/m: the intracellular pair, or its harmonic mean with the
    extracellular one."""
    si = spec.conductivity_intra
    if not spec.conductivity_extra:
        return float(si[0]), float(si[1])
    se = spec.conductivity_extra
    return tuple(float(a * b / (a + b)) for a, b in zip(si, se))


def divisions(spec: Spec):
    return tuple(int(round(L / spec.dx)) for L in spec.size)


def stimulated_nodes(spec: Spec, nodes) -> np.ndarray:
    tol = 1e-9 * max(spec.size)
    lo, hi = np.asarray(spec.stimulus_lo), np.asarray(spec.stimulus_hi)
    return np.all((nodes >= lo - tol) & (nodes <= hi + tol), axis=1)


def check(spec: Spec, case_dir) -> list:
    """The problems of a [cardiac] section, (key, message), empty when it is good."""
    problems = []

    def need(ok, key, message):
        if not ok:
            problems.append((key, message))
        return ok

    d = len(spec.size)
    try:
        cell = make_cell(spec.cell_model)
    except InputError as exc:
        return [("cell_model", str(exc))]
    if not need(1 <= d <= 3 and all(L > 0 for L in spec.size), "size",
                f"1 to 3 positive lengths (mm), got {list(spec.size)}"):
        return problems
    if not need(spec.dx > 0, "dx", f"must be positive (mm), got {spec.dx}"):
        return problems
    whole = all(abs(L / spec.dx - round(L / spec.dx)) < 1e-6 * max(1.0, L / spec.dx)
                and round(L / spec.dx) >= 1 for L in spec.size)
    need(whole, "dx", f"every size {list(spec.size)} must be a whole number of dx = {spec.dx}")
    n = math.prod(round(L / spec.dx) + 1 for L in spec.size)
    need(n <= 4_000_000, "dx", f"{n} nodes: at most 4e6")
    step = cell.max_time_step()
    need(0 < spec.dt <= step, "dt",
         f"must be in (0, {step}] ms (the max step of {cell.name}), got {spec.dt}")
    need(len(spec.conductivity_intra) == 2 and all(s > 0 for s in spec.conductivity_intra),
         "conductivity_intra", f"two positive values (S/m), got {list(spec.conductivity_intra)}")
    need(len(spec.conductivity_extra) in (0, 2)
         and all(s > 0 for s in spec.conductivity_extra), "conductivity_extra",
         f"two positive values (S/m) or [], got {list(spec.conductivity_extra)}")
    need(spec.chi > 0, "chi", f"must be positive (1/mm), got {spec.chi}")
    need(spec.capacitance > 0, "capacitance", f"must be positive (uF/mm^2), got {spec.capacitance}")
    need(len(spec.fibre) == d and any(f != 0 for f in spec.fibre), "fibre",
         f"a nonzero vector of {d} entries (one per size entry), got {list(spec.fibre)}")
    for key in ("stimulus_lo", "stimulus_hi"):
        need(len(getattr(spec, key)) == d, key,
             f"{d} entries (one per size entry), got {list(getattr(spec, key))}")
    need(math.isfinite(spec.stimulus_amplitude), "stimulus_amplitude", "must be finite")
    for key in ("stimulus_start", "stimulus_duration", "stimulus_period"):
        need(getattr(spec, key) >= 0, key, f"must be >= 0 (ms), got {getattr(spec, key)}")
    need(spec.stimulus_period == 0 or spec.stimulus_period > spec.stimulus_duration,
         "stimulus_period", f"must exceed stimulus_duration ({spec.stimulus_duration} ms)")
    need(0.5 <= spec.theta <= 1.0, "theta", f"must be in [0.5, 1], got {spec.theta}")
    need(spec.solver != "dct" or sum(f != 0 for f in spec.fibre) == 1, "solver",
         f"dct needs the fibres along a grid axis, got fibre {list(spec.fibre)}")
    need(not spec.stochastic or spec.cell_model in STOCHASTIC_MODELS, "stochastic",
         f"cell model {spec.cell_model} has deterministic gates only")
    need(spec.seed >= 0, "seed", f"must be >= 0, got {spec.seed}")
    if problems or spec.stimulus_amplitude == 0:
        return problems
    nodes = grid_nodes(spec.size, divisions(spec))
    need(stimulated_nodes(spec, nodes).any(), "stimulus_hi",
         "the stimulated box holds no grid node")
    return problems


def build(spec: Spec, case_dir=None, backend=None, *, stencil="q1"):
    """The :class:`CardiacRegion` of a checked [cardiac] section; ``stencil`` the spatial
    operator of :class:`MonodomainTissue` ("q1", cases always; "fd" for comparisons)."""
    cell = make_cell(spec.cell_model)
    along, across = monodomain_conductivities(spec)
    sigma = conductivity_tensor(spec.fibre, along, across)
    div = divisions(spec)
    nodes = grid_nodes(spec.size, div)
    rng = np.random.Generator(np.random.PCG64(spec.seed)) if spec.stochastic else None
    tissue = MonodomainTissue(
        cell, spec.size, div, sigma, spec.chi, spec.capacitance,
        stimulated=stimulated_nodes(spec, nodes),
        stimulus=spec.stimulus_amplitude * 1e-3,  # µA/cm^3 -> µA/mm^3
        stimulus_start=spec.stimulus_start, stimulus_duration=spec.stimulus_duration,
        stimulus_period=spec.stimulus_period, dt=spec.dt, theta=spec.theta,
        splitting=spec.splitting, solver=spec.solver, rng=rng, stencil=stencil)
    return CardiacRegion(tissue)


_CORNER_BITS = {1: (0,), 2: (1, 0), 3: (1, 0, 2)}  # bit of the corner number per axis


def niederer_points(size) -> dict:
    """name -> point (mm) of Niederer et al. (2011, the set-up figure): P1..P8 the corners,
    P1 (0,0,0), P2 (0,Ly,0), P3 (Lx,0,0), P4 (Lx,Ly,0), P5..P8 the same at z = Lz, and P9
    the centre; a sheet or a strand has its corners numbered likewise, then its centre."""
    d = len(size)
    bits = _CORNER_BITS[d]
    points = {f"P{k + 1}": tuple(size[a] * ((k >> bits[a]) & 1) for a in range(d))
              for k in range(2 ** d)}
    points[f"P{2 ** d + 1}"] = tuple(0.5 * L for L in size)
    return points


class CardiacRegion:
    """A region of cardiac tissue (:class:`MonodomainTissue`) speaking the region
    interface; thermo: time, the fraction of nodes activated, max and mean V, the latest
    activation time, and at the centre node the beats and mean cycle length."""

    physics = "cardiac"

    def __init__(self, tissue: MonodomainTissue):
        self.tissue = tissue
        self.points = {name: tissue.nearest_node(p)
                       for name, p in niederer_points(tissue.size).items()}
        self.centre = tissue.nearest_node(0.5 * np.asarray(tissue.size))
        tissue.probes = np.array(list(self.points.values()), np.int64)
        tissue.trace = [(0.0, *tissue.V[tissue.probes])]

    def point_activation(self) -> dict:
        """name -> activation time (ms, nan until activated) at Niederer's points."""
        return {name: float(self.tissue.activation[i]) for name, i in self.points.items()}

    # the region interface
    def advance(self, dt: float) -> None:
        self.tissue.advance(dt)

    def stable_time_step(self) -> float:
        return math.inf  # advance sub-steps at the cell's own step

    def exports(self) -> dict:
        return {"V": self.tissue.V.copy(), "activation_time": self.tissue.activation.copy()}

    def imports(self, fields: dict) -> None:
        pass

    def state_fields(self) -> dict:
        t = self.tissue
        fields = {"cells": t.y.T.copy(), "activation_time": t.activation.copy(),
                  "last_upstroke": t.last_upstroke.copy(), "upstrokes": t.upstrokes.copy(),
                  "time": np.array([t.t]), "probe_trace": np.array(t.trace, float)}
        if t.rng is not None:
            fields["rng_state"] = _rng_words(t.rng)
        return fields

    def load_state_fields(self, fields: dict) -> None:
        t = self.tissue
        cells = np.asarray(fields["cells"], float)
        if cells.shape != t.y.T.shape:
            raise InputError(f"checkpoint cells {cells.shape} do not fit this tissue "
                             f"{t.y.T.shape}")
        t.y = np.ascontiguousarray(cells.T)
        t.activation = np.asarray(fields["activation_time"], float).copy()
        t.last_upstroke = np.asarray(fields["last_upstroke"], float).copy()
        t.upstrokes = np.asarray(fields["upstrokes"], np.int64).copy()
        t.t = float(np.asarray(fields["time"])[0])
        t.trace = [tuple(row) for row in np.asarray(fields["probe_trace"], float)]
        if t.rng is not None:
            _set_rng_words(t.rng, fields["rng_state"])

    def entity_costs(self):
        return np.ones(len(self.tissue.nodes))

    def entity_positions(self):
        nodes = self.tissue.nodes
        return np.hstack([nodes, np.zeros((len(nodes), 3 - nodes.shape[1]))])

    def thermo(self) -> dict:
        t = self.tissue
        act = t.activation
        done = ~np.isnan(act)
        c = self.centre
        beats = int(t.upstrokes[c])
        cycle = ((t.last_upstroke[c] - act[c]) / (beats - 1)) if beats >= 2 else math.nan
        return {"time": t.t, "activated": float(done.mean()), "V_max": float(t.V.max()),
                "V_mean": float(t.V.mean()),
                "latest_activation": float(act[done].max()) if done.any() else math.nan,
                "beats": float(beats), "cycle_length": float(cycle)}

    def picture(self, folder) -> Path:
        return draw_tissue(self, Path(folder))


def _rng_words(rng) -> np.ndarray:
    """The PCG64 state of ``rng`` as six uint64 words (state and increment in halves)."""
    s = rng.bit_generator.state
    mask = (1 << 64) - 1
    st, inc = s["state"]["state"], s["state"]["inc"]
    return np.array([st >> 64, st & mask, inc >> 64, inc & mask, s["has_uint32"],
                     s["uinteger"]], dtype=np.uint64)


def _set_rng_words(rng, words) -> None:
    w = [int(x) for x in np.asarray(words, np.uint64)]
    rng.bit_generator.state = {"bit_generator": "PCG64",
                               "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
                               "has_uint32": w[4], "uinteger": w[5]}


def draw_tissue(region: CardiacRegion, folder: Path) -> Path:
    """cardiac.png in ``folder``: the activation-time map and the potential now on the
    z = 0 face (a sheet: itself; a strand: V and activation along it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = region.tissue
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cardiac.png"
    shape = tuple(k + 1 for k in t.divisions)
    act = t.activation.reshape(shape, order="F")
    V = t.V.reshape(shape, order="F")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    title = f"{t.cell.name}, t = {t.t:.4g} ms"
    if len(shape) == 1:
        x = t.nodes[:, 0]
        axes[0].plot(x, act, ".-")
        axes[0].set(xlabel="x (mm)", ylabel="activation time (ms)")
        axes[1].plot(x, V)
        axes[1].set(xlabel="x (mm)", ylabel="V (mV)")
    else:
        face = (slice(None), slice(None)) + (0,) * (len(shape) - 2)
        hx, hy = (L / k for L, k in zip(t.size[:2], t.divisions[:2]))
        extent = (-hx / 2, t.size[0] + hx / 2, -hy / 2, t.size[1] + hy / 2)  # node-centred
        for ax, field, label, cmap in ((axes[0], act[face], "activation time (ms)", "viridis"),
                                       (axes[1], V[face], "V (mV)", "inferno")):
            art = ax.imshow(field.T, origin="lower", extent=extent, cmap=cmap, aspect="equal")
            fig.colorbar(art, ax=ax, label=label, shrink=0.8)
            ax.set(xlabel="x (mm)", ylabel="y (mm)")
        if np.isfinite(act[face]).sum() > 3:
            axes[0].contour(act[face].T, colors="w", linewidths=0.6, origin="lower",
                            extent=extent, levels=8)
    axes[0].set_title("activation time, z = 0" if len(shape) == 3 else "activation time")
    axes[1].set_title(title)
    trace = np.array(t.trace)
    for k, name in enumerate(region.points):
        axes[2].plot(trace[:, 0], trace[:, k + 1], lw=1, label=name)
    axes[2].set(xlabel="t (ms)", ylabel="V (mV)", title="potential at the points")
    axes[2].legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
