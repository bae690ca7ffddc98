#!/usr/bin/env python
"""Mesh generation for a 3D fcc domain: by default 1,000,000 lattice sites with a fine zone of
50,000 sites at its centre, graded at coarsening rate 0.5; prints one JSON object with the
timings (site selection, triangulation, mesh set-up), the node and element counts and the
element quality (minimum and median, 1 for the regular tetrahedron).

    python scripts/bench_mesh.py [--sites 1000000] [--fine 50000] [--rate 0.5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit, machine  # noqa: E402


def run(sites, fine, rate):
    from qc_sim.continuum.mesh import delaunay_mesh, lattice_points
    from qc_sim.geometry import fcc

    a = 3.615
    lat = fcc(a)
    n = round((sites / 4) ** (1 / 3))
    m = round((fine / 4) ** (1 / 3))
    lo, hi = (0.0,) * 3, (n * a,) * 3
    f_lo = tuple((n - m) / 2 * a for _ in range(3))
    f_hi = tuple((n + m) / 2 * a for _ in range(3))
    t0 = time.perf_counter()
    points = lattice_points(lat, lo, hi, f_lo, f_hi, rate=rate)
    t1 = time.perf_counter()
    mesh = delaunay_mesh(points)
    t2 = time.perf_counter()
    report = mesh.quality_report()
    covered = float(mesh.volumes.sum() / (n * a) ** 3)
    return {"domain_sites": 4 * n**3, "fine_sites": 4 * m**3, "select_s": t1 - t0,
            "triangulate_and_setup_s": t2 - t1, "total_s": t2 - t0,
            "volume_covered": covered, **report}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, default=1_000_000)
    p.add_argument("--fine", type=int, default=50_000)
    p.add_argument("--rate", type=float, default=0.5)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    runs = [run(args.sites, args.fine, args.rate) for _ in range(args.repeats)]
    out = {"benchmark": "mesh_fcc_graded", "commit": commit(), "machine": machine(),
           "rate": args.rate, **{k: v for k, v in runs[0].items() if not k.endswith("_s")},
           "total_s_median": statistics.median(r["total_s"] for r in runs),
           "runs": runs}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
