#!/usr/bin/env python
"""Bone remodelling figures and timings: writes docs/bone_plate_2d.png (the 2D plate of
Weinans, Huiskes & Grootenboer 1992 under a distributed load: stimulus law with element
densities, with node-based densities, and the mechanostat-biased Komarova cells) and
docs/bone_komarova_cycle.png (the single remodelling cycle of Komarova et al. 2003, Fig. 2),
and prints one JSON object: the pattern metrics of each plate and the cost of a remodelling
step on a mid-size plate (elements per second, elasticity and cell model apart).

    python scripts/bone_plate.py [--divisions 40] [--steps 400] [--timing-divisions 100]
                                 [--backend cpu] [--no-figures]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit, machine  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"


def materials():
    from qc_sim.regions.mechanostat import DensityElasticity, StimulusLaw

    # E = 100 rho^2 MPa (gamma = 2 as in W1992), k = 0.25 J/g, B = 1, rho in [0.01, 1.74]
    return (DensityElasticity(C=100.0, gamma=2.0, poisson=0.3, rho_min=0.01, rho_max=1.74),
            StimulusLaw(rate=1.0, reference=0.25))


def plate_runs(divisions, steps, backend):
    from qc_sim.regions.bone import weinans_plate
    from qc_sim.regions.mechanostat import checkerboard_metrics, density_orientation

    el, law = materials()
    runs = {}
    for remedy in ("none", "nodes"):
        plate = weinans_plate(divisions, 100.0, pressure=5.0, law="stimulus", elasticity=el,
                              stimulus_law=law, density=0.8, remedy=remedy, resolve_tol=0.0,
                              backend=backend)
        for _ in range(steps):
            plate.advance(0.1)
        runs[f"stimulus_{remedy}"] = plate
    # the Komarova cells biased by the stimulus; S_ref = the plate's mean S at rho = 0.8
    plate = weinans_plate(divisions, 100.0, pressure=5.0, law="komarova", elasticity=el,
                          rho_ref=0.8, resolve_tol=1e-3, backend=backend)
    while plate.time < 3650.0:
        plate.advance(min(plate.stable_time_step(), 50.0))
    runs["komarova"] = plate
    metrics = {}
    for name, r in runs.items():
        rho = r.element_density()
        o = density_orientation(r.mesh, rho)
        metrics[name] = {**r.thermo(), **checkerboard_metrics(r.mesh, rho, el.rho_min,
                                                               el.rho_max),
                         "anisotropy": o["anisotropy"], "strut_angle_deg": o["strut_angle"],
                         "elasticity_solves": r.n_solves}
    return runs, metrics


def plot_plates(runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {"stimulus_none": "stimulus law, element densities\n(checkerboard, gamma = 2)",
              "stimulus_nodes": "stimulus law, node-based densities\n(Jacobs et al. 1995)",
              "komarova": "Komarova cells biased by U/rho\n(10 years, S_ref = initial mean)"}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), constrained_layout=True)
    for ax, (name, r) in zip(axes, runs.items()):
        m = r.mesh
        pc = ax.tripcolor(m.nodes[:, 0], m.nodes[:, 1], m.elements,
                          facecolors=r.element_density(), cmap="bone_r", vmin=0.0, vmax=1.74)
        load = r.problem.loads[:, 1] < 0
        ax.plot(m.nodes[load, 0], m.nodes[load, 1] + 1.5, "v", color="tab:red", ms=3)
        ax.set_title(titles[name], fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlabel("x (mm)")
    axes[0].set_ylabel("y (mm), bottom edge fixed")
    fig.colorbar(pc, ax=axes, shrink=0.8, label="apparent density (g/cm^3)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_cycle(path, backend):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qc_sim.regions.bone import single_cell_history

    h = single_cell_history(t_end=300.0, dt=0.5, backend=backend)
    fig, (a, b) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, constrained_layout=True)
    a.plot(h["time"], h["osteoclasts"], label="osteoclasts x1")
    a2 = a.twinx()
    a2.plot(h["time"], h["osteoblasts"], color="tab:orange", label="osteoblasts x2")
    a.set_ylabel("osteoclasts")
    a2.set_ylabel("osteoblasts")
    a.set_title("Komarova et al. (2003) single remodelling cycle")
    b.plot(h["time"], h["bone_mass"], color="k")
    i = int(np.argmin(h["bone_mass"]))
    b.annotate(f"min {h['bone_mass'][i]:.2f} % at day {h['time'][i]:.1f}",
               (h["time"][i], h["bone_mass"][i]), (80, 92), arrowprops={"arrowstyle": "->"})
    b.set_ylabel("bone mass z (%)")
    b.set_xlabel("time (days)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def timing(divisions, backend, steps=5):
    """Seconds per remodelling step on a divisions^2 x 2-element plate with the Komarova law:
    the elasticity solve (assembly through ContinuumRegion, SuperLU or AMG, energies) forced
    at every step, and the cell kernel over all elements (10-day steps)."""
    from qc_sim.regions.bone import weinans_plate

    el, _ = materials()
    plate = weinans_plate(divisions, 100.0, pressure=5.0, law="komarova", elasticity=el,
                          rho_ref=0.8, resolve_tol=0.0, backend=backend)
    plate.advance(10.0)  # warm-up (kernel compile, first factorisation)
    plate.timing = {"elasticity": 0.0, "micro": 0.0}
    solves = plate.n_solves
    for _ in range(steps):
        plate.advance(10.0)
    ne = len(plate.mesh.elements)
    el_s = plate.timing["elasticity"] / max(plate.n_solves - solves, 1)
    cell_s = plate.timing["micro"] / steps
    return {"elements": ne, "free_dofs": int(len(plate.problem.free)),
            "elasticity_s_per_step": el_s, "cells_s_per_step": cell_s,
            "elasticity_elements_per_s": ne / el_s, "cells_elements_per_s": ne / cell_s,
            "rk_substeps_per_element": float(plate.counts.sum(axis=1).mean()),
            "device": plate.device.describe()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--divisions", type=int, default=40)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--timing-divisions", type=int, default=100)
    p.add_argument("--backend", default=None)
    p.add_argument("--no-figures", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    runs, metrics = plate_runs(args.divisions, args.steps, args.backend)
    if not args.no_figures:
        DOCS.mkdir(exist_ok=True)
        plot_plates(runs, DOCS / "bone_plate_2d.png")
        plot_cycle(DOCS / "bone_komarova_cycle.png", args.backend)
    out = {"benchmark": "bone_plate", "commit": commit(), "machine": machine(),
           "plate": {"divisions": args.divisions, "steps": args.steps, "metrics": metrics},
           "timing": timing(args.timing_divisions, args.backend),
           "wall_s": time.perf_counter() - t0}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
