#!/usr/bin/env python
"""A vacancy in Mishin Cu: coupled models (bgfc, bqce, bqcf) against the fully atomistic
solution of the same clamped domain, for growing core radii. Prints one JSON object: per
coupling and core radius, the degrees of freedom, the vacancy formation energy and its
error, and the displacement error (max over the coupled model's atoms and a discrete energy
norm over their nearest-neighbour bonds).

    python scripts/validate_vacancy.py [--cells 24] [--radii 1 2 3 4] [--width 1.5]
                                       [--fine-zone sphere] [--taylor 0.01] [--rate 1]
                                       [--margin 0.5]

Each row carries its wall time (geometry, model with its patch test, solve and the defect
energy) beside the fully atomistic relaxation's (qc-sim, L-BFGS, set-up included). The
energy-based couplings relax by the preconditioned L-BFGS of qc_sim.coupling.statics with
a Taylor far field (--taylor 0: full Cauchy-Born); bqcf, on the full continuum, by the
preconditioned Anderson fixed point.
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


def main(argv=None) -> int:
    from scipy.spatial import cKDTree

    from qc_sim.backend import get_device
    from qc_sim.coupling import CoupledModel, build_geometry
    from qc_sim.coupling.reference import atomistic_reference
    from qc_sim.geometry import fcc
    from qc_sim.potentials.eam import Eam
    from qc_sim.reference.lammps import potentials_dir
    from qc_sim.solvers.lbfgs import lbfgs_line_search

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=24)
    p.add_argument("--radii", type=float, nargs="+", default=[1.0, 2.0, 3.0, 4.0])
    p.add_argument("--width", type=float, default=1.5)
    p.add_argument("--methods", nargs="+", default=["bgfc", "bqce", "bqcf"])
    p.add_argument("--fine-zone", default="sphere", choices=["box", "sphere"])
    p.add_argument("--rate", type=float, default=1.0, help="mesh coarsening rate")
    p.add_argument("--margin", type=float, default=0.5,
                   help="fine zone beyond the handshake, lattice constants")
    p.add_argument("--taylor", type=float, default=1e-2,
                   help="Taylor far field's strain criterion (0: full Cauchy-Born)")
    args = p.parse_args(argv)
    from qc_sim.coupling.statics import relax
    device = get_device("cpu")
    pot = Eam.from_file(potentials_dir() / "Cu_mishin1.eam.alloy")
    a = 3.6149250663890298
    lat = fcc(a)
    n = args.cells
    lo, hi = np.zeros(3), np.full(3, n * a)
    centre = np.full(3, n / 2 * a)
    e0 = -3.540218330204917
    start = time.perf_counter()
    ref_vac, rv = atomistic_reference(lat, lo, hi, pot, "Cu", device, vacancies=[centre],
                                      minimiser=lbfgs_line_search)
    seconds = time.perf_counter() - start
    ref_perfect, _ = atomistic_reference(lat, lo, hi, pot, "Cu", device)
    e_ref = rv.energy - ref_perfect.compute().energy() + e0
    ref_x = np.asarray(ref_vac.positions)
    ref_tree = cKDTree(ref_vac.atoms.positions)
    out = {"benchmark": "vacancy_coupled_vs_atomistic", "commit": commit(),
           "machine": machine(), "cells": n, "width_a": args.width,
           "atomistic": {"free_atoms": int((~np.asarray(ref_vac.fixed)).sum()),
                         "dofs": 3 * int((~np.asarray(ref_vac.fixed)).sum()),
                         "formation_energy": e_ref, "evaluations": rv.evaluations,
                         "seconds": seconds},
           "fine_zone": args.fine_zone, "taylor_strain": args.taylor, "rate": args.rate,
           "fine_margin_a": args.margin,
           "coupled": []}
    for method in args.methods:
        for radius in args.radii:
            t0 = time.perf_counter()
            # padding: one cutoff for the energy-based couplings, two for bqcf's EAM forces
            reach = (2 if method == "bqcf" else 1) * pot.cutoff
            g = build_geometry(lat, lo, hi, centre, radius * a, args.width * a,
                               reach=reach, vacancies=[centre], fine_zone=args.fine_zone,
                               rate=args.rate, fine_margin=args.margin * a)
            taylor = args.taylor if args.taylor > 0 and method != "bqcf" else None
            model = CoupledModel(g, pot, "Cu", method, device=device, taylor_strain=taylor)
            result = relax(model, fmax=1e-4).result
            energy_model = model if method != "bqcf" else CoupledModel(
                g, pot, "Cu", "bqce", device=device, check=False)
            e_vac = energy_model.bqce(model.y)[0] if method == "bqcf" else result.energy
            twin = model.twin  # the defect-free model, relaxed the same way (bqce and bqcf
            if method != "bgfc":  # are not at equilibrium in the homogeneous state)
                relax(twin, fmax=1e-4)
            e_perf = twin.bqce(twin.y)[0] if method == "bqcf" else twin.evaluate(twin.y)[0]
            e_f = e_vac - e_perf + e0
            x = np.zeros((len(g.atom_sites), 3))
            x[:, :3] = g.interpolation @ model.y
            _, idx = ref_tree.query(g.atom_sites, k=1)
            du = (x - g.atom_sites) - (ref_x[idx] - ref_vac.atoms.positions[idx])
            pairs = cKDTree(g.atom_sites).query_pairs(a / np.sqrt(2) * 1.01, output_type="ndarray")
            energy_norm = float(np.sqrt(((du[pairs[:, 0]] - du[pairs[:, 1]]) ** 2).sum()))
            dofs = 3 * int(model.free.sum())
            out["coupled"].append({
                "method": method, "core_radius_a": radius, "dofs": dofs,
                "dof_ratio": out["atomistic"]["dofs"] / dofs, "converged": result.converged,
                "formation_energy": e_f, "energy_error": e_f - e_ref,
                "max_displacement_error": float(np.abs(du).max()),
                "energy_norm_error": energy_norm, "evaluations": result.evaluations,
                "nodes": int(g.mesh.n_nodes), "elements": int(len(g.mesh.elements)),
                "seconds": time.perf_counter() - t0,
                "speedup": out["atomistic"]["seconds"] / (time.perf_counter() - t0)})
            print(json.dumps(out["coupled"][-1]), file=sys.stderr)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
