#!/usr/bin/env python
"""Why our N-version P8 is later than cardiacFoam's at dx 0.2 and 0.1 mm: the same benchmark
(cases/cardiac_n_version.toml's set-up, scripts/cardiac_n_version.py's run) with two spatial
operators on the same grid and everything else unchanged (cells, stimulus, conductivities,
chi, Cm, time stepping, the 0 mV activation):

- ``q1``: qc-sim's own, trilinear (Q1) elements with the mass lumped (a 27-point stencil);
- ``fd``: the 7-point stencil, sum_a sigma_a (V_{i+1} - 2 V_i + V_{i-1}) / dx^2 along each
  axis, which is what a cell-centred finite-volume code with two-point fluxes (cardiacFoam)
  solves on an orthogonal grid with the fibres along a grid axis.

In the cosine basis the two differ only by the factors (2 + cos(pi k / N)) / 3 that the Q1
stiffness carries along the other axes (the consistent 1D mass over the lumped one):
``fd`` sets them to 1 (``MonodomainTissue(stencil="fd")``, ``cardiac.build(spec,
stencil="fd")``). Everything else is the same code path. Prints one JSON object.

    python scripts/cardiac_n_version_stencil.py [--dx 0.5,0.2] [--dt 0.05] [--stencil q1,fd]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit  # noqa: E402
from bench_regions import machine  # noqa: E402


def run(dx: float, dt: float, stencil: str, t_max: float) -> dict:
    from qc_sim.regions import cardiac

    spec = replace(cardiac.Spec(), dx=dx, dt=dt, solver="dct")
    assert cardiac.check(spec, None) == []
    start = time.perf_counter()
    region = cardiac.build(spec, stencil=stencil)
    while region.tissue.t < t_max - 1e-9:
        region.advance(1.0)
        if all(math.isfinite(v) for v in region.point_activation().values()):
            break
    return {"dx_mm": dx, "dt_ms": dt, "stencil": stencil,
            "activation_ms": {k: round(v, 4) for k, v in region.point_activation().items()},
            "wall_s": round(time.perf_counter() - start, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dx", default="0.5,0.2", help="grid spacings, mm")
    parser.add_argument("--dt", default="0.05", help="time steps, ms")
    parser.add_argument("--stencil", default="q1,fd", help="q1 and/or fd")
    parser.add_argument("--t-max", type=float, default=160.0, help="stop here at the latest")
    args = parser.parse_args(argv)
    runs = []
    for dx in (float(x) for x in args.dx.split(",")):
        for dt in (float(x) for x in args.dt.split(",")):
            for stencil in args.stencil.split(","):
                runs.append(run(dx, dt, stencil, args.t_max))
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"script": "scripts/cardiac_n_version_stencil.py", "commit": commit(),
                      "machine": machine(), "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
