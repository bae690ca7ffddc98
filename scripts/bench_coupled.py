#!/usr/bin/env python
"""Time to solution of the coupled model against full atomistics, 10^4 to 10^8 lattice sites.

A vacancy in Mishin Cu at the centre of the clamped cube of N^3 fcc cells (the problem of
scripts/validate_vacancy.py), relaxed to a largest force of 1e-4 eV/Å by
- the coupled model: bgfc (Taylor far field, graded mesh with a spherical fine zone,
  preconditioned L-BFGS) and, beside it, the same bgfc with plain L-BFGS (the iteration
  counts the preconditioner saves); bqcf (full Cauchy-Born: its patch test at every strain
  rules out the Taylor far field) by the preconditioned Anderson fixed point, and by FIRE;
- qc-sim atom by atom (L-BFGS), up to ``--atomistic-max`` cells;
- LAMMPS CG on the same atoms (``qc_sim.reference.lammps.relax_clamped``), on 1 and 2 ranks,
  up to ``--lammps-max`` cells.
Every run is a fresh process, timed from outside as a user waits for it (interpreter,
imports, set-up and solve: ``coupled_s``, ``atomistic_s``, ``lammps_s``); the coupled run
also reports its time from the lattice on (``in_process_s``), its split and peak memory.
Past the largest atomistic size the atomistic costs are extrapolated from the measured cost per atom-evaluation and the measured growth of the
evaluation count with size, and labelled so. Prints one JSON object.

    python scripts/bench_coupled.py [--cells 14 24 30 64 136 292] [--atomistic-max 64]
                                    [--lammps-max 64] [--threads 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

A0 = 3.6149250663890298  # Å, Mishin Cu
E0 = -3.540218330204917  # eV per atom
FMAX = 1e-4


def _problem(cells):
    from qc_sim.geometry import fcc
    from qc_sim.potentials.eam import Eam
    from qc_sim.reference.lammps import potentials_dir

    pot = Eam.from_file(potentials_dir() / "Cu_mishin1.eam.alloy")
    lo, hi = np.zeros(3), np.full(3, cells * A0)
    return fcc(A0), pot, lo, hi, np.full(3, cells / 2 * A0)


def one_coupled(cells, method, precondition, core, width, taylor, rate, margin):
    """One coupled relaxation, timed from the lattice on (this process)."""
    from qc_sim.backend import get_device
    from qc_sim.coupling import CoupledModel, build_geometry
    from qc_sim.coupling.statics import relax

    t0 = time.perf_counter()
    device = get_device("cpu")
    lat, pot, lo, hi, centre = _problem(cells)
    t1 = time.perf_counter()
    reach = pot.cutoff if method != "bqcf" else 2 * pot.cutoff
    g = build_geometry(lat, lo, hi, centre, core * A0, width * A0, reach=reach,
                       vacancies=[centre], fine_zone="sphere", rate=rate,
                       fine_margin=margin * A0)
    t2 = time.perf_counter()
    model = CoupledModel(g, pot, "Cu", method, device=device,
                         taylor_strain=None if method == "bqcf" else taylor)
    t3 = time.perf_counter()
    for m in (model, model.twin):
        m.clock.update(atoms=0.0, continuum=0.0, handshake=0.0, taylor_assembly=0.0)
    r = relax(model, fmax=FMAX, precondition=precondition)
    t4 = time.perf_counter()
    clock = dict(model.clock)
    # the defect's energy against the defect-free twin (bgfc: at its far field, its own
    # equilibrium; bqcf: the bqce energy of both, the twin relaxed the same way)
    if method == "bqcf":
        energy_model = CoupledModel(g, pot, "Cu", "bqce", device=device, check=False)
        relax(model.twin, fmax=FMAX, precondition=precondition)
        e_f = energy_model.bqce(model.y)[0] - model.twin.bqce(model.twin.y)[0] + E0
    else:
        e_f = r.energy - model.twin.evaluate(model.twin.y)[0] + E0
    t5 = time.perf_counter()
    evaluation = clock["atoms"] + clock["continuum"] + clock["handshake"]
    taylor_err = model.taylor_error() if method != "bqcf" else None
    return {
        "sites": 4 * cells**3, "cells": cells, "method": method,
        "preconditioned": bool(precondition),
        "in_process_s": t4 - t0 + (t5 - t4 if method == "bqcf" else 0.0),
        "converged": r.converged, "max_force": r.result.max_force,
        "evaluations": r.result.evaluations, "iterations": r.result.steps,
        "passes": r.passes, "taylor_handed_over": r.handed_over,
        "formation_energy": e_f,
        "nodes": int(g.mesh.n_nodes), "elements": int(len(g.mesh.elements)),
        "atoms": int(len(g.atom_sites)), "dofs": 3 * int(model.free.sum()),
        "split_s": {"potential": t1 - t0, "geometry": t2 - t1,
                    "model_and_patch_test": t3 - t2,
                    "preconditioner": r.seconds["preconditioner"],
                    "atoms": clock["atoms"], "continuum": clock["continuum"],
                    "handshake": clock["handshake"],
                    "taylor_assembly": clock["taylor_assembly"],
                    "minimiser": r.seconds["solve"] - evaluation - clock["taylor_assembly"],
                    "defect_energy": t5 - t4},
        "continuum_share": clock["continuum"] / evaluation if evaluation else None,
        "taylor": taylor_err,
    }


def one_atomistic(cells, threads):
    """qc-sim atom by atom, as scripts/bench_statics.py measures it (one process, its wall
    time; L-BFGS with a line search on the forces): the vacancy relaxed, and the perfect
    crystal evaluated for the formation energy."""
    from bench_statics import run_qc_sim

    r = run_qc_sim(cells, 1, threads)
    perfect = run_qc_sim(cells, 1, threads, perfect=True)
    return {"cells": cells, "sites": 4 * cells**3, "seconds": r["seconds"],
            "in_process_s": r.get("in_process_s"), "evaluations": r["evaluations"],
            "iterations": r["iterations"], "converged": r["converged"], "atoms": r["atoms"],
            "split_s": r.get("split"), "formation_energy": r["energy"] - perfect["energy"] + E0}


def one_lammps(cells, ranks):
    from qc_sim.reference.lammps import relax_clamped

    lat, pot, lo, hi, centre = _problem(cells)
    # energies summed as e_i - e0 (LAMMPS's total pe is rounded by ~1e-4 eV at 1e5 atoms)
    r = relax_clamped(lat, lo, hi, pot, "Cu", fmax=FMAX, vacancies=[centre], ranks=ranks,
                      reference_energy=E0)
    r["cells"], r["sites"] = cells, 4 * cells**3
    return r


def _child(kind, threads, *args):
    """Run one measurement in a fresh process: its JSON, its peak memory (GB) and the
    process's whole wall time (``process_s``: interpreter, imports and all)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--one", kind, *map(str, args)],
                         capture_output=True, text=True, env=env, timeout=7200)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{kind} {args} failed: {out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = seconds
    return result


def _medians(runs, keys, time_key):
    """One record per configuration (``keys``): the run of median ``time_key`` (the lower
    of the middle two for an even count), with ``runs_s``: every run's time, in order."""
    groups = {}
    for r in runs:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for group in groups.values():
        ordered = sorted(group, key=lambda r: r[time_key])
        chosen = dict(ordered[(len(ordered) - 1) // 2])
        chosen["runs_s"] = [r[time_key] for r in group]
        out.append(chosen)
    return out


def _extrapolate(measured: dict, sites: int, key_s: str, key_n: str, atoms_of) -> dict:
    """Cost at ``sites`` from the largest measured run's seconds per atom-evaluation and the
    measured growth of the evaluations with size (the log-log slope of the two largest)."""
    sizes = sorted(measured)
    big = measured[sizes[-1]]
    slope = 0.0
    if len(sizes) > 1:
        small = measured[sizes[-2]]
        slope = max(np.log(big[key_n] / small[key_n]) / np.log(sizes[-1] / sizes[-2]), 0.0)
    evaluations = big[key_n] * (sites / sizes[-1]) ** slope
    per = big[key_s] / (atoms_of(sizes[-1]) * big[key_n])
    return {"seconds": per * atoms_of(sites) * evaluations, "evaluations": evaluations,
            "per_atom_evaluation_s": per, "evaluation_growth_exponent": slope}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, nargs="+", default=[14, 24, 30, 64, 136, 292])
    p.add_argument("--atomistic-max", type=int, default=64)
    p.add_argument("--lammps-max", type=int, default=64)
    p.add_argument("--lammps-ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--threads", type=int, default=1, help="OpenMP threads of qc-sim's runs")
    p.add_argument("--core", type=float, default=1.0, help="core radius, lattice constants")
    p.add_argument("--width", type=float, default=1.5, help="handshake width, a")
    p.add_argument("--taylor", type=float, default=1e-2, help="Taylor far field's strain")
    p.add_argument("--rate", type=float, default=1.0, help="mesh coarsening rate")
    p.add_argument("--margin", type=float, default=0.5,
                   help="fine zone beyond the handshake, lattice constants")
    p.add_argument("--repeats", type=int, default=1,
                   help="rounds of every configuration (alternating), medians reported")
    p.add_argument("--repeat-max", type=int, default=64,
                   help="largest size repeated (larger ones run once)")
    p.add_argument("--plain-max", type=int, default=136,
                   help="largest size of the unpreconditioned comparison")
    p.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        kind, rest = args.one[0], args.one[1:]
        if kind == "coupled":
            r = one_coupled(int(rest[0]), rest[1], rest[2] == "1", *map(float, rest[3:8]))
        else:
            r = one_lammps(int(rest[0]), int(rest[1]))
        r["peak_memory_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(json.dumps(r))
        return 0

    from bench_md import commit, machine
    from qc_sim.coupling.reference import clamped_crystal

    lat, pot, *_ = _problem(2)

    def atoms_of(sites):  # the clamped cube's atoms (its held shell included)
        n = round((sites / 4) ** (1 / 3))
        return len(clamped_crystal(lat, np.zeros(3), np.full(3, n * A0), 2 * pot.cutoff,
                                   "Cu")[0].positions) if n <= 64 else \
            4 * (n + 4 * pot.cutoff / A0) ** 3

    out = {"benchmark": "coupled_vs_atomistic_vacancy", "commit": commit(),
           "machine": machine(), "fmax": FMAX, "threads": args.threads,
           "repeats": args.repeats, "repeat_max_cells": args.repeat_max,
           "core_radius_a": args.core, "width_a": args.width, "taylor_strain": args.taylor,
           "rate": args.rate, "fine_margin_a": args.margin,
           "note": ("every figure the wall time of one fresh process (start-up, imports, "
                    "set-up, solve); qc-sim on --threads OpenMP threads, LAMMPS on 1 rank "
                    "per core: the 'same cores' figures are those with ranks == threads; "
                    "speedup is against the faster of LAMMPS and qc-sim atoms on the same "
                    "cores"),
           "atomistic": [], "lammps": [], "coupled": [], "runs": []}
    for n in args.cells:
        repeats = args.repeats if n <= args.repeat_max else 1
        for rep in range(repeats):  # every configuration once per round: alternating
            for method, pre in (("bgfc", True), ("bgfc", False), ("bqcf", True),
                                ("bqcf", False)):
                if not pre and n > args.plain_max:
                    continue
                r = _child("coupled", args.threads, n, method, int(pre), args.core,
                           args.width, args.taylor, args.rate, args.margin)
                r["coupled_s"] = r["process_s"]  # like LAMMPS's and qc-sim atoms': a process
                r["repeat"] = rep
                out["coupled"].append(r)
                print(json.dumps({k: r[k] for k in ("sites", "method", "preconditioned",
                                                    "coupled_s", "evaluations")}),
                      file=sys.stderr)
            if n <= args.atomistic_max:
                r = one_atomistic(n, args.threads)
                r["repeat"] = rep
                out["atomistic"].append(r)
                print(json.dumps(r), file=sys.stderr)
            if n <= args.lammps_max:
                for ranks in args.lammps_ranks:
                    r = _child("lammps", 1, n, ranks)
                    r["repeat"] = rep
                    out["lammps"].append(r)
                    print(json.dumps({k: r[k] for k in ("sites", "ranks", "seconds",
                                                        "evaluations")}), file=sys.stderr)
    # the rows use each configuration's median run (its whole record); every run is kept
    out["coupled"] = _medians(out["coupled"], ("sites", "method", "preconditioned"),
                              "coupled_s")
    out["atomistic"] = _medians(out["atomistic"], ("sites",), "seconds")
    out["lammps"] = _medians(out["lammps"], ("sites", "ranks"), "seconds")
    qc = {r["sites"]: r for r in out["atomistic"]}
    lmp = {ranks: {r["sites"]: r for r in out["lammps"] if r["ranks"] == ranks}
           for ranks in args.lammps_ranks}
    same = args.threads if args.threads in lmp else min(lmp) if lmp else None
    e_ref = (qc or lmp.get(same) or {None: {"formation_energy": np.nan}})
    for c in out["coupled"]:
        s = c["sites"]
        row = {k: c[k] for k in ("sites", "method", "preconditioned", "coupled_s",
                                 "in_process_s", "evaluations", "iterations",
                                 "formation_energy", "nodes",
                                 "elements", "atoms", "dofs", "continuum_share",
                                 "peak_memory_gb")}
        if s in qc:
            row.update(atomistic_s=qc[s]["seconds"], atomistic_extrapolated=False,
                       atomistic_evaluations=qc[s]["evaluations"])
        elif qc:
            x = _extrapolate(qc, s, "seconds", "evaluations", atoms_of)
            row.update(atomistic_s=x["seconds"], atomistic_extrapolated=True,
                       atomistic_evaluations=x["evaluations"])
        if same is not None and lmp[same]:
            if s in lmp[same]:
                L = lmp[same][s]
                row.update(lammps_s=L["seconds"], lammps_evaluations=L["evaluations"],
                           lammps_ranks=same, lammps_extrapolated=False,
                           lammps_energy_error=L["formation_energy"] - (
                               qc[s]["formation_energy"] if s in qc else np.nan))
            else:
                x = _extrapolate(lmp[same], s, "seconds", "evaluations", atoms_of)
                row.update(lammps_s=x["seconds"], lammps_evaluations=x["evaluations"],
                           lammps_ranks=same, lammps_extrapolated=True,
                           lammps_energy_error=None)
        for ranks in args.lammps_ranks:  # every LAMMPS figure, for the reader
            if not lmp[ranks]:
                continue
            if s in lmp[ranks]:
                row[f"lammps_{ranks}_ranks_s"] = lmp[ranks][s]["seconds"]
                row[f"lammps_{ranks}_ranks_extrapolated"] = False
            else:
                x = _extrapolate(lmp[ranks], s, "seconds", "evaluations", atoms_of)
                row[f"lammps_{ranks}_ranks_s"] = x["seconds"]
                row[f"lammps_{ranks}_ranks_extrapolated"] = True
            row[f"speedup_vs_lammps_{ranks}_ranks"] = (row[f"lammps_{ranks}_ranks_s"]
                                                       / c["coupled_s"])
        ref_sites = s if s in e_ref else max(e_ref)
        row["energy_reference_sites"] = ref_sites
        row["energy_error"] = c["formation_energy"] - e_ref[ref_sites]["formation_energy"]
        peers = [row[k] for k in ("atomistic_s", "lammps_s") if k in row]
        row["speedup"] = min(peers) / c["coupled_s"] if peers else None
        out["runs"].append(row)
    print(json.dumps(out, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
