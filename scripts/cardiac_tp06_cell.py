#!/usr/bin/env python
"""The ten Tusscher-Panfilov 2006 epicardial cell (qc_sim.regions.cardiac_tp06) alone, paced
at 1 Hz (-52 pA/pF for 1 ms, the CellML version's protocol) for ``--beats`` beats from its
resting state, at each Rush-Larsen step in ``--dt``: of the last beat the resting potential
(just before the stimulus), the peak, the maximum upstroke velocity, APD90 and APD50 (from
the upstroke through -40 mV to 90 % / 50 % repolarisation), and APD90's difference from the
finest step's (Rush-Larsen's convergence). Prints one JSON object.

    python scripts/cardiac_tp06_cell.py [--dt 0.1,0.05,0.02,0.01] [--beats 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit  # noqa: E402
from bench_regions import machine  # noqa: E402


def last_beat(dt: float, beats: int, period: float = 1000.0) -> dict:
    from qc_sim.regions.cardiac_tp06 import TP06Epi

    cell = TP06Epi()
    y = cell.initial_state(1)
    n = int(round(period / dt))
    V = np.empty(n)
    start = time.perf_counter()
    for beat in range(beats):
        for k in range(n):
            cell.step(y, dt, -52.0 if k * dt < 1.0 - 1e-9 else 0.0)
            V[k] = y[0, 0]
        if beat == beats - 2:
            rest = float(y[0, 0])  # the potential just before the last stimulus
    t = dt * np.arange(1, n + 1)
    k_peak = int(np.argmax(V))
    peak = float(V[k_peak])
    k_up = int(np.argmax(V > -40.0))
    t_up = t[k_up - 1] + dt * (-40.0 - V[k_up - 1]) / (V[k_up] - V[k_up - 1])

    def apd(fraction):
        level = peak - fraction * (peak - rest)
        k = k_peak + int(np.argmax(V[k_peak:] < level))
        return float(t[k - 1] + dt * (V[k - 1] - level) / (V[k - 1] - V[k]) - t_up)

    return {"dt_ms": dt, "rest_mV": round(rest, 4), "peak_mV": round(peak, 4),
            "dVdt_max_mV_per_ms": round(float(np.max(np.diff(V[:k_peak + 1])) / dt), 2),
            "APD90_ms": round(apd(0.9), 3), "APD50_ms": round(apd(0.5), 3),
            "wall_s": round(time.perf_counter() - start, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dt", default="0.1,0.05,0.02,0.01", help="steps, ms")
    parser.add_argument("--beats", type=int, default=5)
    args = parser.parse_args(argv)
    runs = []
    for dt in (float(x) for x in args.dt.split(",")):
        runs.append(last_beat(dt, args.beats))
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    finest = min(runs, key=lambda r: r["dt_ms"])
    for r in runs:
        r["APD90_minus_finest_ms"] = round(r["APD90_ms"] - finest["APD90_ms"], 3)
    out = {"script": "scripts/cardiac_tp06_cell.py", "commit": commit(), "machine": machine(),
           "pacing": "1 Hz, -52 pA/pF for 1 ms", "beats": args.beats, "runs": runs}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
