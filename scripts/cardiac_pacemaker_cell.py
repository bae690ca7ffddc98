#!/usr/bin/env python
"""Verification runs of the Maltsev–Lakatta (2009) SAN pacemaker cell; writes one JSON
(machine, commit, figures) to scripts/results/cardiac_pacemaker_cell_<tag>.json.

1. reference: the appendix equations (cardiac_maltsev_currents.derivatives) by LSODA
   (rtol 1e-8, atol 1e-10) from the CellML start: cycle length, MDP, overshoot, Cai range;
2. convergence: the first cycle length of MaltsevLakatta2009.step at dt = 0.1 ... 0.0125 ms
   against the reference, and the observed order;
3. blocks: ks (RyR release, ryanodine), P_up (SERCA) and g_if (I_f) scaled, all cells
   in one vectorised run of ``--block-ms`` ms at 0.1 ms; cycle lengths of the last beats;
4. stochastic gating: 16 cells at each of N = 1e3 ... 1e6 gates per population, mean and
   spread of all intervals after the first beat, against the deterministic run.

    python scripts/cardiac_pacemaker_cell.py [--tag xeon] [--block-ms 8000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit, machine  # noqa: E402

from qc_sim.regions.cardiac_maltsev import (  # noqa: E402
    MaltsevLakatta2009, Trace, pacemaker_features, run, upstroke_times)
from qc_sim.regions.cardiac_maltsev_currents import (  # noqa: E402
    IDX, LIMIT_CYCLE_STATE, MaltsevParameters, derivatives)

BLOCKS = {  # name: (parameter, factor on the basal value)
    "basal": ("ks", 1.0),
    "ks x 0.5": ("ks", 0.5), "ks x 0.25": ("ks", 0.25), "ks x 0.1": ("ks", 0.1),
    "ks = 0": ("ks", 0.0),
    "P_up x 0.5": ("P_up", 0.5), "P_up x 0.25": ("P_up", 0.25), "P_up = 0": ("P_up", 0.0),
    "g_if x 0.5": ("g_if", 0.5), "g_if = 0": ("g_if", 0.0),
}


def lsoda_reference(duration=1000.0) -> dict:
    """Features of the first cycle of the appendix equations solved by LSODA."""
    p = MaltsevParameters()
    sol = solve_ivp(lambda t, y: derivatives(y[:, None], p)[:, 0], (0.0, duration),
                    np.asarray(LIMIT_CYCLE_STATE), method="LSODA", rtol=1e-8, atol=1e-10,
                    max_step=0.5)
    trace = Trace(sol.t, sol.y[0][:, None], sol.y[IDX["Cai"]][:, None])
    return pacemaker_features(trace, beats=1)


def first_cycle_length(dt) -> float:
    model = MaltsevLakatta2009()
    trace = run(model, model.initial_state(1), 470.0, dt)
    return pacemaker_features(trace, beats=1)["cycle_length_ms"]


def convergence(reference_ms, dts=(0.1, 0.05, 0.025, 0.0125)) -> list:
    rows = []
    for dt in dts:
        start = time.perf_counter()
        cl = first_cycle_length(dt)
        rows.append({"dt_ms": dt, "cycle_length_ms": cl, "error_ms": cl - reference_ms,
                     "wall_s": time.perf_counter() - start})
    for coarse, fine in zip(rows, rows[1:]):
        fine["observed_order"] = float(np.log2(abs(coarse["error_ms"] / fine["error_ms"])))
    return rows


def blocks(duration) -> dict:
    base = MaltsevParameters()
    overrides = {key: np.ones(len(BLOCKS)) * getattr(base, key) for key in ("ks", "P_up", "g_if")}
    for k, (key, factor) in enumerate(BLOCKS.values()):
        overrides[key][k] *= factor
    model = MaltsevLakatta2009(**overrides)
    trace = run(model, model.initial_state(len(BLOCKS)), duration, 0.1, record_every=2)
    out = {}
    for k, name in enumerate(BLOCKS):
        ups = upstroke_times(trace.t, trace.V[:, k])
        late = ups[ups > duration / 2]
        intervals = np.diff(late)
        row = {"beats": int(len(ups)), "beats_in_second_half": int(len(late))}
        if len(intervals) >= 2:
            row.update(pacemaker_features(trace, k, beats=len(intervals)))
            row["intervals_ms_last"] = [round(float(v), 2) for v in intervals[-6:]]
        out[name] = row
    return out


def stochastic(duration=1500.0, groups=(1e3, 1e4, 1e5, 1e6), per_group=16, seed=2009) -> dict:
    n_channels = np.repeat(groups, per_group)
    model = MaltsevLakatta2009(n_channels=n_channels)
    trace = run(model, model.initial_state(n_channels.size), duration, 0.1,
                rng=np.random.default_rng(seed))
    deterministic = MaltsevLakatta2009()
    det_trace = run(deterministic, deterministic.initial_state(1), duration, 0.1)
    det = np.diff(upstroke_times(det_trace.t, det_trace.V[:, 0]))
    out = {"deterministic_mean_ms": float(det.mean()), "groups": []}
    for g, N in enumerate(groups):
        intervals = np.concatenate([np.diff(upstroke_times(trace.t, trace.V[:, k]))
                                    for k in range(g * per_group, (g + 1) * per_group)])
        out["groups"].append({"n_channels": N, "intervals": int(intervals.size),
                              "mean_ms": float(intervals.mean()),
                              "std_ms": float(intervals.std())})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="xeon")
    parser.add_argument("--block-ms", type=float, default=8000.0)
    args = parser.parse_args()
    start = time.perf_counter()
    reference = lsoda_reference()
    result = {
        "machine": machine(), "commit": commit(),
        "paper": "Maltsev & Lakatta, Am J Physiol Heart Circ Physiol 296: H594-H615 (2009)",
        "paper_basal_cycle_length_ms": 333.0,
        "lsoda_reference": reference,
        "convergence": convergence(reference["cycle_length_ms"]),
        "blocks": blocks(args.block_ms),
        "stochastic": stochastic(),
    }
    result["wall_s"] = time.perf_counter() - start
    out = Path(__file__).resolve().parent / "results" / f"cardiac_pacemaker_cell_{args.tag}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
