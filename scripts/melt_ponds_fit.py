#!/usr/bin/env python
"""Fit the melt-pond scheme to the resolved ensembles of a case and verify it; prints one
JSON object (machine, commit, figures) and writes it to ``--out``.

1. Fit: the case's resolved ensemble (``members`` columns per cell, its seed) runs the
   season (``fit_days``); the scheme's (r, delta_p, tau, s) are fitted by least squares to
   the cell means of pond fraction, albedo and cumulative melt, M_perm diagnosed from the
   ensemble (qc_sim.regions.melt_ponds_scheme). The coefficients go into the case's
   ``pond_*`` keys by hand.
2. Grid against the ensembles it replaces: the grid with the fitted coefficients runs the
   season beside the ensemble (the region itself); per cell the seasonal mean of albedo
   and the cumulative melt at the end, and the wall time of each (same process, same
   steps): the cost ratio.
   At the case's 16 cells both take NumPy's per-call overhead; the cost is also measured
   at 4096 cells (same members, 40 days), where the arithmetic sets it.
3. The albedo feedback: the grid's melt against its twin without the ponds' darkening.
4. The process model against the published SHEBA evolution: ensembles of 32 and 64
   members under the climatology itself (offset 0): July pond fraction (Tschudi, Curry &
   Maslanik 2001: 25-34 % of the area in July 1998), the albedo at the end of July
   (Perovich et al. 2002: 0.4 along the albedo line), the pond stages (onset, stage-I peak,
   drained minimum, stage-III range; Icepack's science guide: stages I-II about two weeks,
   stage III 0.15-0.45) and the season every 5 days (pond fraction, albedo, pond depth).

    python scripts/melt_ponds_fit.py [cases/melt_ponds_grid.toml] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from bench_md import commit, machine  # noqa: E402

from qc_sim.regions import melt_ponds  # noqa: E402
from qc_sim.regions.melt_ponds_physics import Columns  # noqa: E402
from qc_sim.regions.melt_ponds_scheme import ensemble_targets, fit_scheme  # noqa: E402


def case_spec(path: Path) -> melt_ponds.Spec:
    table = tomllib.loads(path.read_text())["melt_ponds"]
    kinds = {f.name: f.type for f in fields(melt_ponds.Spec)}
    return melt_ponds.Spec(**{k: tuple(v) if isinstance(v, list) else v
                              for k, v in table.items() if k in kinds})


def fit(spec):
    members, resolved = melt_ponds.draw_members(spec)
    offsets = np.linspace(*spec.longwave_offset, spec.cells)
    targets = ensemble_targets(members, resolved, spec.start_day, spec.fit_days, offsets,
                               spec.steps_per_day)
    start = Columns.start(np.full(spec.cells, spec.ice_thickness),
                          np.full(spec.cells, spec.snow_depth))
    tick = time.perf_counter()
    scheme, info = fit_scheme(targets, start, spec.start_day, spec.fit_days, offsets,
                              spec.steps_per_day)
    info["seconds"] = time.perf_counter() - tick
    return scheme, info


def season(spec, scheme):
    """The region over the season; with the per-cell albedo of grid and ensemble each day."""
    region = melt_ponds.MeltPondGrid(spec, scheme, *melt_ponds.draw_members(spec))
    grid, resolved = [], []
    for _ in range(int(round(spec.fit_days))):
        region.advance(1.0)
        grid.append(region.grid.albedo)
        resolved.append(region.members.albedo.mean(0))
    return region, np.array(grid), np.array(resolved)


def verify(region, albedo_grid, albedo_resolved):
    h = {name: region.history[:, k] for k, name in enumerate(melt_ponds.HISTORY)}
    melt_grid, melt_resolved = region.grid.melt, region.members.melt.mean(0)
    melting = melt_resolved > 0.05
    return {
        "seasonal_mean_albedo_grid": float(h["albedo"].mean()),
        "seasonal_mean_albedo_resolved": float(h["albedo_resolved"].mean()),
        "cell_seasonal_albedo_difference": [float(x) for x in
                                            albedo_grid.mean(0) - albedo_resolved.mean(0)],
        "largest_grid_mean_albedo_difference_any_day": float(np.abs(
            h["albedo"] - h["albedo_resolved"]).max()),
        "melt_grid_m": float(h["melt"][-1]), "melt_resolved_m": float(h["melt_resolved"][-1]),
        "melt_relative_difference": float(h["melt"][-1] / h["melt_resolved"][-1] - 1),
        "cell_melt_relative_difference": [float(x) for x in
                                          melt_grid[melting] / melt_resolved[melting] - 1],
        "melt_no_feedback_m": float(h["melt_no_feedback"][-1]),
        "feedback_melt_increase": float(h["melt"][-1] / h["melt_no_feedback"][-1] - 1),
        "seconds_grid": region.seconds["grid"], "seconds_resolved": region.seconds["resolved"],
        "wall_time_ratio": region.cost_ratio(),
        "column_update_ratio": region.spec.members,
    }


def sheba(spec, scheme, members=64):
    """The process model under the climatology itself (one cell, offset 0): its July and
    end-of-July figures and its season every 5 days (ensemble means of pond fraction,
    albedo and the mean depth of the ponds where there are any)."""
    one = replace(spec, cells=1, longwave_offset=(0.0, 0.0), members=members)
    region = melt_ponds.MeltPondGrid(one, scheme, *melt_ponds.draw_members(one))
    fraction, albedo, season = {}, {}, []
    for _ in range(int(round(one.fit_days))):
        region.advance(1.0)
        day = one.start_day + region.time
        fraction[day] = float(region.members.pond_fraction.mean())
        albedo[day] = float(region.members.albedo.mean())
        if round(day) % 5 == 0:
            area, depth = region.resolved.visible(region.members)
            ponded = area > 0
            season.append([day, fraction[day], albedo[day],
                           float(depth[ponded].mean()) if ponded.any() else 0.0])
    july = [fraction[d] for d in fraction if 180.0 < d <= 210.0]
    days = sorted(fraction)
    onset = next(d for d in days if fraction[d] > 0.05)
    peak = max((d for d in days if d < onset + 20), key=lambda d: fraction[d])
    drained = min((d for d in days if peak < d < peak + 40), key=lambda d: fraction[d])
    return {"members": members,
            "july_mean_pond_fraction": float(np.mean(july)),
            "july_pond_fraction_range": [float(min(july)), float(max(july))],
            "albedo_end_of_july": albedo[min(albedo, key=lambda d: abs(d - 210.0))],
            "pond_onset_day": onset, "stage_one_peak_day": peak,
            "stage_one_peak_fraction": fraction[peak],
            "stage_two_minimum_day": drained,
            "stage_two_minimum_fraction": fraction[drained],
            "stage_three_pond_fraction_range": [
                float(min(fraction[d] for d in days if drained <= d <= 240.0)),
                float(max(fraction[d] for d in days if drained <= d <= 240.0))],
            "season_day_fraction_albedo_depth_m": season,
            "reference_july_pond_fraction": "0.25-0.34 of the area (Tschudi et al. 2001)",
            "reference_albedo_end_of_july": "0.4 (Perovich et al. 2002)",
            "reference_stages": "stages I-II about 2 weeks; stage III pond fraction rarely "
                                "below 0.15 or above 0.45 (Icepack science guide, sealvl "
                                "ponds, citing Eicken et al. 2004, Polashenski et al. 2012, "
                                "Landy et al. 2014, Tschudi et al. 2001)"}


def cost(spec, scheme, cells=4096, days=40):
    """Wall time of the ensemble over the scheme's at a grid size where arithmetic, not
    NumPy's per-call overhead, sets it: ``cells`` cells, the case's members, ``days`` steps,
    both in the same run (the region times each part of every step)."""
    big = replace(spec, cells=cells)
    region = melt_ponds.MeltPondGrid(big, scheme, *melt_ponds.draw_members(big))
    for _ in range(days):
        region.advance(1.0)
    return {"cells": cells, "members": big.members, "days": days,
            "seconds_grid": region.seconds["grid"],
            "seconds_resolved": region.seconds["resolved"],
            "wall_time_ratio": region.cost_ratio()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", nargs="?", default=str(ROOT / "cases/melt_ponds_grid.toml"))
    parser.add_argument("--out", default=str(ROOT / "scripts/results/melt_ponds_fit.json"))
    args = parser.parse_args(argv)
    spec = case_spec(Path(args.case))
    scheme, info = fit(spec)
    spec = replace(spec, pond_retained=scheme.retained, pond_aspect=scheme.aspect,
                   drainage_days=scheme.drainage_days, sea_roughness=scheme.sea_roughness,
                   permeable_melt=scheme.permeable_melt)
    result = {"machine": machine(), "commit": commit(), "case": args.case,
              "cells": spec.cells, "members": spec.members, "days": spec.fit_days,
              "fitted": {"pond_retained": scheme.retained, "pond_aspect": scheme.aspect,
                         "drainage_days": scheme.drainage_days,
                         "sea_roughness": scheme.sea_roughness,
                         "permeable_melt": scheme.permeable_melt},
              "fit": info}
    result["grid_against_resolved"] = verify(*season(spec, scheme))
    result["process_model_against_sheba"] = {"members_32": sheba(spec, scheme, 32),
                                             "members_64": sheba(spec, scheme, 64)}
    result["cost_at_scale"] = cost(spec, scheme)
    text = json.dumps(result, indent=1)
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
