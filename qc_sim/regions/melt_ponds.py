"""Melt ponds on sea ice, hierarchically (issue 24): a coarse grid of cells whose energy
balance uses a pond parameterisation in the form of the CICE/Icepack pond schemes
(:mod:`melt_ponds_scheme`), fitted to ensembles of a resolved process model of ponds on
level ice (:mod:`melt_ponds_physics`), run beside the ensembles it replaces.

The grid: ``cells`` cells across a forcing gradient, cell k with the downwelling longwave of
the Fletcher (1965) climatology plus an offset from ``longwave_offset`` (W m^-2). Each
cell carries

- the scheme (one column per cell: the cell's mean ice and snow, one pond volume);
- its twin without the albedo feedback (ponds form but the radiation sees the unponded
  surface's albedo), so the melt the feedback adds is the difference;
- ``members`` resolved columns (the ensemble the scheme replaces: thickness, snow depth,
  roughness and upper-ice salinity drawn per member from the ranges of the case).

Region time is in days from day ``start_day`` of the climatology's 360-day year. State:
every column's arrays and the history of the thermo means (so the picture spans a
restarted run); a restart is bitwise.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from qc_sim.regions.melt_ponds_physics import Columns, ResolvedPonds, step_columns
from qc_sim.regions.melt_ponds_scheme import LevelIcePonds, ensemble_targets, fit_scheme

UNIT = "days"


@dataclass(frozen=True)
class Spec:
    cells: int = 16
    longwave_offset: tuple = (-5.0, 15.0)
    start_day: float = 135.0
    ice_thickness: float = 2.0
    thickness_spread: float = 0.3
    snow_depth: float = 0.3
    snow_spread: float = 0.5
    roughness: tuple = (0.1, 0.4)
    salinity: tuple = (0.5, 2.0)
    retained: float = 0.85
    members: int = 32
    seed: int = 1
    scheme: str = "shipped"
    fit_days: float = 120.0
    steps_per_day: int = 4
    pond_retained: float = 0.9637
    pond_aspect: float = 1.60217
    drainage_days: float = 8.5642
    sea_roughness: float = 0.09502
    permeable_melt: float = 0.32884
    feedback_twin: bool = True


KEY_DOCS = {
    "cells": "number of grid cells across the forcing gradient",
    "longwave_offset": "[first, last] cell's offset to the downwelling longwave, W/m^2",
    "start_day": "day of the 360-day climatological year at time 0 (135 = mid-May), days",
    "ice_thickness": "mean initial ice thickness, m",
    "thickness_spread": "members' thickness uniform within mean x (1 -/+ spread), -",
    "snow_depth": "mean initial snow depth, m",
    "snow_spread": "members' snow depth uniform within mean x (1 -/+ spread), -",
    "roughness": "[min, max] of the members' surface roughness (mean height above the "
                 "lowest point), m",
    "salinity": "[min, max] of the members' upper-ice bulk salinity, ppt",
    "retained": "fraction of the unponded surface's meltwater the resolved ponds keep, -",
    "members": "resolved process-model columns per cell run beside the grid (0: none)",
    "seed": "seed of the members' random draws",
    "scheme": "coefficients of the parameterisation: shipped (the keys below) or refit "
              "(least squares to this run's ensemble at build)",
    "fit_days": "length of the season the refit runs, days",
    "steps_per_day": "steps a day (region steps are cut into these; the forcing's midpoint "
                     "each): the explicit step's melt error is first order in them",
    "pond_retained": "scheme: retained fraction r of the unponded meltwater, -",
    "pond_aspect": "scheme: pond depth / pond fraction delta_p, m",
    "drainage_days": "scheme: e-folding time of drainage through permeable ice, days",
    "sea_roughness": "scheme: mean surface height above its lowest point that sets the ponds "
                     "left at sea level, m",
    "permeable_melt": "scheme: cumulative melt after which the ice drains, m of water",
    "feedback_twin": "also run the grid without the pond albedo feedback",
}

CHOICES = {"scheme": ("shipped", "refit")}


def check(spec: Spec, case_dir) -> list:
    """The section's problems as (key, message), empty when it is good."""
    problems = [(f.name, f"must be finite, got {getattr(spec, f.name)}")
                for f in fields(spec) if not _finite(getattr(spec, f.name))]
    if spec.steps_per_day < 1:
        problems.append(("steps_per_day", f"must be at least 1, got {spec.steps_per_day}"))
    if spec.cells < 1:
        problems.append(("cells", f"must be at least 1, got {spec.cells}"))
    if spec.members < 0:
        problems.append(("members", f"must be 0 or more, got {spec.members}"))
    for key in ("longwave_offset", "roughness", "salinity"):
        pair = getattr(spec, key)
        if len(pair) != 2 or pair[0] > pair[1]:
            problems.append((key, f"must be [low, high] with low <= high, got {list(pair)}"))
    if len(spec.roughness) == 2 and not spec.roughness[0] > 0:
        problems.append(("roughness", f"must be positive, got {list(spec.roughness)}"))
    if len(spec.salinity) == 2 and not spec.salinity[0] > 0:
        problems.append(("salinity", f"must be positive, got {list(spec.salinity)}"))
    for key in ("ice_thickness", "snow_depth", "pond_aspect", "drainage_days", "sea_roughness",
                "fit_days"):
        if not getattr(spec, key) > 0:
            problems.append((key, f"must be positive, got {getattr(spec, key)}"))
    if not spec.ice_thickness * (1 - spec.thickness_spread) >= 0.1 or spec.thickness_spread < 0:
        problems.append(("thickness_spread", "must leave every member at least 0.1 m of ice "
                         f"(0 <= spread, got {spec.thickness_spread})"))
    if not 0 <= spec.snow_spread <= 1:
        problems.append(("snow_spread", f"must be within [0, 1], got {spec.snow_spread}"))
    for key in ("retained", "pond_retained"):
        if not 0 < getattr(spec, key) <= 1:
            problems.append((key, f"must be within (0, 1], got {getattr(spec, key)}"))
    if spec.permeable_melt < 0:
        problems.append(("permeable_melt", f"must be 0 or more, got {spec.permeable_melt}"))
    if not 0 <= spec.start_day < 360:
        problems.append(("start_day", f"must be within [0, 360), got {spec.start_day}"))
    if spec.scheme == "refit" and spec.members < 1:
        problems.append(("scheme", "refit needs members >= 1 to fit to"))
    return problems


def _finite(value):
    values = value if isinstance(value, tuple) else (value,)
    return all(not isinstance(v, float) or math.isfinite(v) for v in values)


def draw_members(spec: Spec):
    """The resolved ensemble's start (members, cells) and its ponds, from ``spec.seed``."""
    rng = np.random.default_rng(spec.seed)
    shape = (spec.members, spec.cells)
    ice = spec.ice_thickness * rng.uniform(1 - spec.thickness_spread, 1 + spec.thickness_spread,
                                           shape)
    snow = spec.snow_depth * rng.uniform(1 - spec.snow_spread, 1 + spec.snow_spread, shape)
    ponds = ResolvedPonds(rng.uniform(*spec.roughness, shape), rng.uniform(*spec.salinity, shape),
                          np.full(shape, spec.retained))
    return Columns.start(ice, snow), ponds


HISTORY = ("time", "pond_fraction", "albedo", "melt", "ice_thickness", "melt_no_feedback",
           "pond_fraction_resolved", "albedo_resolved", "melt_resolved",
           "ice_thickness_resolved")


class MeltPondGrid:
    """The grid of cells with its scheme, twin and resolved ensemble (see the module)."""

    physics = "melt_ponds"

    def __init__(self, spec: Spec, scheme: LevelIcePonds, members: Columns | None,
                 resolved: ResolvedPonds | None, fit: dict | None = None):
        self.spec, self.scheme, self.resolved, self.fit = spec, scheme, resolved, fit
        self.offsets = np.linspace(*spec.longwave_offset, spec.cells)
        start = Columns.start(np.full(spec.cells, spec.ice_thickness),
                              np.full(spec.cells, spec.snow_depth))
        self.grid, self.twin, self.members = start, start, members
        self.time = 0.0
        self.history = np.zeros((0, len(HISTORY)))
        self.seconds = {"grid": 0.0, "resolved": 0.0}

    def _step(self, dt_days):
        day = self.spec.start_day + self.time
        tick = time.perf_counter()
        self.grid = step_columns(self.grid, self.scheme, day, dt_days, self.offsets)
        self.seconds["grid"] += time.perf_counter() - tick
        if self.spec.feedback_twin:
            self.twin = step_columns(self.twin, self.scheme, day, dt_days, self.offsets,
                                     feedback=False)
        if self.members is not None:
            tick = time.perf_counter()
            self.members = step_columns(self.members, self.resolved, day, dt_days,
                                        self.offsets)
            self.seconds["resolved"] += time.perf_counter() - tick
        self.time += dt_days

    def advance(self, dt):
        """``dt`` days, in substeps of at most 1/``steps_per_day`` day."""
        n = max(1, math.ceil(dt * self.spec.steps_per_day - 1e-9))
        for _ in range(n):
            self._step(dt / n)
        self.history = np.vstack([self.history, self._means()])

    def stable_time_step(self):
        return math.inf  # advance cuts its steps to steps_per_day itself

    def _means(self):
        nan = float("nan")
        m = self.members
        return np.array([
            self.time, self.grid.pond_fraction.mean(), self.grid.albedo.mean(),
            self.grid.melt.mean(), self.grid.ice.mean(),
            self.twin.melt.mean() if self.spec.feedback_twin else nan,
            m.pond_fraction.mean() if m is not None else nan,
            m.albedo.mean() if m is not None else nan,
            m.melt.mean() if m is not None else nan,
            m.ice.mean() if m is not None else nan])

    def thermo(self):
        values = dict(zip(HISTORY, map(float, self._means())))
        values["surface_temperature"] = float(self.grid.surface_temperature.mean())
        if not self.spec.feedback_twin:
            values.pop("melt_no_feedback")
        if self.members is None:
            for key in HISTORY[6:]:
                values.pop(key)
        return values

    def exports(self):
        return {"pond_fraction": self.grid.pond_fraction.copy(), "albedo": self.grid.albedo.copy(),
                "ice_thickness": self.grid.ice.copy(), "melt": self.grid.melt.copy()}

    def imports(self, fields):
        pass

    def state_fields(self):
        out = {"time": np.array([self.time]), "history": self.history.copy()}
        parts = {"grid": self.grid, "twin": self.twin}
        if self.members is not None:
            parts["members"] = self.members
        for prefix, columns in parts.items():
            for f in fields(Columns):  # one row per cell (members: (cells, members))
                out[f"{prefix}_{f.name}"] = getattr(columns, f.name).T.copy()
        return out

    def load_state_fields(self, state):
        self.time = float(state["time"][0])
        self.history = np.array(state["history"], float).reshape(-1, len(HISTORY))
        for prefix in ("grid", "twin", "members"):
            if prefix == "members" and self.members is None:
                continue
            setattr(self, prefix, Columns(**{
                f.name: np.ascontiguousarray(np.asarray(state[f"{prefix}_{f.name}"]).T)
                for f in fields(Columns)}))

    def entity_costs(self):
        """Column updates per cell per step: the scheme, its twin, the resolved members."""
        return np.full(self.spec.cells, 1.0 + self.spec.feedback_twin + self.spec.members)

    def entity_positions(self):
        out = np.zeros((self.spec.cells, 3))
        out[:, 0] = self.offsets
        return out

    def cost_ratio(self):
        """Wall time of the resolved ensemble over the grid's scheme, this process so far."""
        return self.seconds["resolved"] / max(self.seconds["grid"], 1e-12)

    def verification(self):
        """Grid against the ensembles it replaces, per cell: the mean over the steps so far
        of |albedo difference|, the seasonal-mean albedo difference, and the relative
        difference of cumulative melt now (cells with melt > 0.05 m)."""
        m = self.members
        resolved_melt = m.melt.mean(0)
        melting = resolved_melt > 0.05
        h = self.history
        return {
            "albedo_now": float(np.abs(self.grid.albedo - m.albedo.mean(0)).max()),
            "seasonal_albedo": float(abs(h[:, 2].mean() - h[:, 7].mean())) if len(h) else 0.0,
            "melt_relative": (self.grid.melt[melting] / resolved_melt[melting] - 1.0),
            "melt_mean_relative": float(h[-1, 3] / h[-1, 8] - 1.0) if len(h) else 0.0,
        }

    def picture(self, folder) -> Path:
        from qc_sim.regions.melt_ponds_picture import draw

        return draw(self, Path(folder), HISTORY)


def shipped_scheme(spec: Spec) -> LevelIcePonds:
    return LevelIcePonds(spec.pond_retained, spec.pond_aspect, spec.drainage_days,
                         spec.sea_roughness, spec.permeable_melt)


def build(spec: Spec, case_dir, backend=None):
    members, resolved = draw_members(spec) if spec.members > 0 else (None, None)
    scheme, fit = shipped_scheme(spec), None
    if spec.scheme == "refit":
        offsets = np.linspace(*spec.longwave_offset, spec.cells)
        targets = ensemble_targets(members, resolved, spec.start_day, spec.fit_days, offsets,
                                   spec.steps_per_day)
        start = Columns.start(np.full(spec.cells, spec.ice_thickness),
                              np.full(spec.cells, spec.snow_depth))
        guess = (spec.pond_retained, spec.pond_aspect, spec.drainage_days, spec.sea_roughness)
        scheme, fit = fit_scheme(targets, start, spec.start_day, spec.fit_days, offsets,
                                 spec.steps_per_day, guess=guess)
    return MeltPondGrid(spec, scheme, members, resolved, fit)
