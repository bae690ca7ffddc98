#!/usr/bin/env python
"""Benchmarks of the region physics beyond mechanics; prints one JSON object (machine,
commit, figures). One function per benchmark: ``bench_bone_plate`` and
``bench_homogenization``.

Bone plate: the 2D Weinans plate with the Komarova cells at every element
(cases/bone_plate_2d.toml's model) at ``--plate-divisions``: elements per second per
remodelling step, split into the elasticity (assembly and solve) and the cell model (one
kernel launch), on each backend; the median of ``--plate-steps`` steps.

Homogenisation: the periodic cell problem on N^3 porous voxel images (a thresholded,
periodically smoothed Gaussian random field; pores are phase 0 and conduct with D0 = 1, the
solid does not, or conducts with ``--solid``), for each N in ``--sizes`` and each backend
in ``--backends``: wall time, peak resident memory of a fresh process that does only that
solve, CG iterations, the tensor and the tortuosity. Where ``import taufactor`` works, TauFactor (Kench & Cooper 2021,
SoftwareX 14, 100706) runs on the same image in the same run: it fixes the concentration on
the two x faces and closes the sides, which is the periodic cell problem on the image
mirrored into a (2N)^3 cell, so that is what its tau_x is compared with (the mirrored solve
is skipped above ``--mirror-max`` voxels a side).

    python scripts/bench_regions.py [--sizes 64,128,256] [--porosity 0.4] [--solid 0]
                                    [--backends numpy] [--mirror-max 128]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_md  # noqa: E402
from bench_md import commit  # noqa: E402


def machine() -> dict:
    """bench_md's machine record, with memory and load (these solves are memory-bound)."""
    out = bench_md.machine()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                out["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    out["load_average"] = list(os.getloadavg())
    return out


def porous_image(n: int, porosity: float, seed: int = 0, smoothing: float = 2.0):
    """(n, n, n) uint8: 0 in the pores (a fraction ``porosity`` of the voxels), 1 in the
    solid; a periodic Gaussian random field smoothed over ``smoothing`` voxels, cut at its
    ``porosity`` quantile."""
    from scipy import ndimage

    field = np.random.default_rng(seed).standard_normal((n, n, n), dtype=np.float32)
    field = ndimage.gaussian_filter(field, smoothing, mode="wrap")
    return (field > np.quantile(field, porosity)).astype(np.uint8)


def _peak_rss_gib() -> float:
    """Peak resident memory of this process since it was exec'd (VmHWM; ru_maxrss would
    carry the parent's peak across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _ours(n, porosity, seed, backend, mirrored, solid=0.0):
    """One solve in a fresh process: the figures and the process's peak memory."""
    from qc_sim.regions.homogenization import homogenize_image
    from qc_sim.regions.homogenization_voxel import (face_conductances, solve_cell_amg,
                                                     voxel_clusters)

    image = porous_image(n, porosity, seed)
    if mirrored:  # the x column of the mirrored (2n)^3 cell only
        for axis in range(3):
            image = np.concatenate([image, np.flip(image, axis=axis)], axis=axis)
        before = _peak_rss_gib()
        t0 = time.perf_counter()
        k = np.where(image == 0, 1.0, solid)
        del image
        g = face_conductances(k)
        kept, anchors, percolating = voxel_clusters(k > 0)
        porosity_measured = float((k == 1.0).mean())
        del k
        tensor, info = solve_cell_amg(g, kept, anchors, 1e-8, columns=[0])
        seconds = time.perf_counter() - t0
        return {"side": 2 * n, "seconds": seconds, "K_xx": float(tensor[0, 0]),
                "tau_x": porosity_measured / float(tensor[0, 0]) if percolating[0]
                else None, "iterations": info["iterations"][0],
                "peak_rss_gib": _peak_rss_gib(), "rss_before_solve_gib": before}
    before = _peak_rss_gib()
    result = homogenize_image(image, [1.0, solid], backend=backend)
    info = result["solver"]
    return {"side": n, "backend": info["backend"], "method": info["method"],
            "seconds": info["seconds"], "setup_seconds": info["setup_seconds"],
            "solve_seconds": info["solve_seconds"], "iterations": info["iterations"],
            "residual": info["residual"], "unknowns": info["unknowns"],
            "peak_rss_gib": _peak_rss_gib(), "rss_before_solve_gib": before,
            "porosity": result["porosity"], "effective_tensor": result["effective_tensor"],
            "tortuosity": [t if np.isfinite(t) else None for t in result["tortuosity"]],
            "asymmetry": info["asymmetry"]}


def _taufactor(n, porosity, seed, conv_crit):
    import taufactor
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    image = porous_image(n, porosity, seed)
    before = _peak_rss_gib()
    t0 = time.perf_counter()
    solver = taufactor.Solver((image == 0).astype(np.uint8), device="cpu")
    tau = solver.solve(verbose=False, conv_crit=conv_crit, iter_limit=100_000)
    return {"side": n, "seconds": time.perf_counter() - t0, "tau_x": float(np.ravel(tau)[0]),
            "D_rel_x": float(np.ravel(solver.D_rel)[0]), "iterations": int(solver.iter),
            "conv_crit": conv_crit, "precision": "float32",
            "peak_rss_gib": _peak_rss_gib(), "rss_before_solve_gib": before,
            "version": getattr(taufactor, "__version__", "unknown")}


def _taufactor_unavailable():
    try:
        import taufactor  # noqa: F401
    except Exception as exc:  # ImportError, or torch failing to load
        return f"{type(exc).__name__}: {exc}"
    return None


def _in_fresh_process(function, *args):
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def bench_homogenization(sizes, porosity=0.4, seed=0, backends=("numpy",),
                         mirror_max=128, taufactor_conv=1e-4, taufactor_max=128,
                         solid=0.0) -> dict:
    """Per size and backend: time, peak memory, iterations; TauFactor beside it."""
    taufactor_reason = _in_fresh_process(_taufactor_unavailable)  # keeps torch out of here
    runs = []
    for n in sizes:
        entry = {"side": n, "voxels": n**3, "ours": {}}
        for backend in backends:
            entry["ours"][backend] = _in_fresh_process(_ours, n, porosity, seed, backend, False,
                                                       solid)
        if taufactor_reason is None and n <= taufactor_max and solid == 0.0:
            entry["taufactor"] = _in_fresh_process(_taufactor, n, porosity, seed,
                                                   taufactor_conv)
            if n <= mirror_max:
                mirrored = _in_fresh_process(_ours, n, porosity, seed, "numpy", True)
                entry["ours_mirrored_x"] = mirrored
                entry["tau_x_relative_difference"] = (
                    entry["taufactor"]["tau_x"] / mirrored["tau_x"] - 1.0
                    if mirrored["tau_x"] else None)
        runs.append(entry)
        print(json.dumps(entry), file=sys.stderr, flush=True)  # progress
    return {"benchmark": "homogenization_porous_voxels", "porosity_target": porosity,
            "seed": seed, "image": "periodic Gaussian random field, smoothing 2 voxels, "
            "cut at the porosity quantile; pores (phase 0) D0 = 1",
            "solid_conductivity": solid,
            "solver_tolerance": 1e-8, "taufactor": taufactor_reason or "available",
            "runs": runs}


def bench_bone_plate(divisions=(40, 80, 140), steps=5, backends=("numpy", "cpu")) -> dict:
    """Per mesh and backend: medians over ``steps`` 10-day steps with the elasticity solved
    every step (resolve_tol 0) of the time in the elasticity and in the cell kernel."""
    from qc_sim.regions.bone import weinans_plate

    runs = []
    for n in divisions:
        entry = {"divisions": n, "elements": 2 * n * n, "backends": {}}
        for backend in backends:
            region = weinans_plate(divisions=n, size=100.0, pressure=2.0, law="komarova",
                                   rho_ref=0.8, resolve_tol=0.0,
                                   backend=backend)
            elastic, micro = [], []
            for _ in range(steps):
                before = dict(region.timing)
                region.advance(10.0)
                elastic.append(region.timing["elasticity"] - before["elasticity"])
                micro.append(region.timing["micro"] - before["micro"])
            e, m = float(np.median(elastic)), float(np.median(micro))
            ne = entry["elements"]
            entry["backends"][backend] = {
                "elasticity_s": e, "cells_s": m, "step_s": e + m,
                "elements_per_s": ne / (e + m), "elasticity_elements_per_s": ne / e,
                "cells_elements_per_s": ne / m}
        runs.append(entry)
        print(json.dumps(entry), file=sys.stderr, flush=True)
    return {"benchmark": "bone_plate_2d_komarova", "step_days": 10.0,
            "elasticity": "ContinuumRegion tangent assembly + sparse solve (direct below 2e5 "
            "unknowns)", "runs": runs}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="64,128,256", help="image sides, comma-separated")
    p.add_argument("--porosity", type=float, default=0.4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--solid", type=float, default=0.0,
                   help="conductivity of the solid (0: only the pores carry unknowns; > 0: "
                   "every voxel does, the largest system; TauFactor is then skipped)")
    p.add_argument("--backends", default=None,
                   help="comma-separated (default: numpy, and gpu where available; the "
                   "compiled cpu backend runs the same scipy/pyamg code as numpy)")
    p.add_argument("--mirror-max", type=int, default=128,
                   help="largest side for the mirrored (2N)^3 comparison with TauFactor")
    p.add_argument("--taufactor-max", type=int, default=128,
                   help="largest side TauFactor runs at (its CPU solve grows fast)")
    p.add_argument("--taufactor-conv", type=float, default=1e-4,
                   help="TauFactor's conv_crit (relative spread of the slice fluxes)")
    p.add_argument("--plate-divisions", default="40,80,140",
                   help="bone plate meshes (n x n squares, 2 n^2 triangles); empty: skip")
    p.add_argument("--plate-steps", type=int, default=5)
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    plates = [int(s) for s in args.plate_divisions.split(",") if s]
    if args.backends:
        backends = tuple(args.backends.split(","))
    else:
        from qc_sim.backend import available_backends

        backends = ("numpy",) + (("gpu",) if available_backends()["gpu"] is None else ())
    from qc_sim.backend import available_backends

    compiled = tuple(b for b in ("cpu", "gpu") if available_backends()[b] is None)
    out = {"commit": commit(), "machine": machine()}
    if plates:
        out["bone_plate"] = bench_bone_plate(plates, args.plate_steps, ("numpy",) + compiled)
    if sizes:
        out["homogenization"] = bench_homogenization(sizes, args.porosity, args.seed,
                                                     backends, args.mirror_max,
                                                     args.taufactor_conv, args.taufactor_max,
                                                     args.solid)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
