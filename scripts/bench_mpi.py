#!/usr/bin/env python
"""EAM Cu on MPI ranks: qc-sim's CPU backend (one thread per rank, the crystal split by RCB)
against LAMMPS on the same ranks in the same run (LAMMPS's bench/in.eam problem, scaled to
``--atoms``). Prints one JSON object: machine, commit, and per rank count the atom-steps/s of
both and qc-sim's per-rank time split into compute, communication (ghost positions,
migration) and waiting (the global decisions). Medians of ``--repeats`` runs.

    python scripts/bench_mpi.py [--atoms 256000] [--steps 20] [--ranks 1,2]

The worker runs under mpiexec: python scripts/bench_mpi.py --worker CELLS STEPS POTENTIAL
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import cells_for, commit, machine, time_lammps  # noqa: E402


def worker(cells: int, steps: int, potential: str) -> None:
    import numpy as np
    from mpi4py import MPI

    from qc_sim.atomistic.domain import DomainDynamics
    from qc_sim.atomistic.random import maxwell_boltzmann_velocities
    from qc_sim.backend import cpu, get_device
    from qc_sim.geometry.crystal import build_crystal
    from qc_sim.geometry.lattice import fcc
    from qc_sim.parallel.decompose import rcb
    from qc_sim.potentials.eam import Eam

    comm = MPI.COMM_WORLD
    device = get_device("cpu")
    cpu.set_num_threads(1)
    atoms = build_crystal(fcc(3.615), repeats=(cells,) * 3, species=("Cu",))
    v = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, 1600.0, 376847)
    part = rcb(atoms.positions, np.ones(len(atoms)), comm.Get_size(), atoms.box.lo,
               atoms.box.hi)
    run = DomainDynamics(comm, atoms, v, Eam.from_file(potential), device, part, skin=1.0)
    for _ in range(5):  # warm-up: kernels compiled and cached
        run.step(0.005)
    run.timing = dict.fromkeys(run.timing, 0.0)
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(steps):
        run.step(0.005)
    comm.Barrier()
    wall = time.perf_counter() - start
    timings = comm.gather(dict(run.timing, owned=run.n_owned, ghosts=len(run.system)
                               - run.n_owned), root=0)
    if comm.Get_rank() == 0:
        print(json.dumps({"atom_steps_per_s": len(atoms) * steps / wall, "wall_s": wall,
                          "atoms": len(atoms), "per_rank": timings}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--atoms", type=int, default=256_000)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--ranks", default="1,2")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--potential", help="EAM file (default: Cu_u3.eam of the lammps package)")
    p.add_argument("--worker", nargs=3, metavar=("CELLS", "STEPS", "POTENTIAL"))
    args = p.parse_args(argv)
    if args.worker:
        worker(int(args.worker[0]), int(args.worker[1]), args.worker[2])
        return 0
    from qc_sim.cases.checks import potential_search_path

    pot = Path(args.potential) if args.potential else next(
        d / "Cu_u3.eam" for d in potential_search_path(Path.cwd()) if (d / "Cu_u3.eam").is_file())
    cells = cells_for(args.atoms)
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
        shutil.which("mpiexec")
    out = {"benchmark": "eam_cu_mpi", "commit": commit(), "machine": machine(),
           "atoms": 4 * cells**3, "steps": args.steps, "runs": {}}
    for ranks in [int(r) for r in args.ranks.split(",")]:
        ours, details = [], None
        for _ in range(args.repeats):
            res = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, __file__,
                                  "--worker", str(cells), str(args.steps), str(pot)],
                                 capture_output=True, text=True, timeout=3600,
                                 env=dict(os.environ, OMP_NUM_THREADS="1"))
            if res.returncode:
                raise RuntimeError(res.stderr[-2000:])
            details = json.loads(res.stdout.strip().splitlines()[-1])
            ours.append(details["atom_steps_per_s"])
        lammps = [time_lammps(cells, args.steps, ranks, pot) for _ in range(args.repeats)]
        lammps = [x for x in lammps if x is not None]
        entry = {"qc_sim_atom_steps_per_s": statistics.median(ours), "qc_sim_runs": ours,
                 "qc_sim_last_run_per_rank": details["per_rank"],
                 "lammps_atom_steps_per_s": statistics.median(lammps) if lammps else None,
                 "lammps_runs": lammps}
        if lammps:
            entry["qc_sim_over_lammps"] = entry["qc_sim_atom_steps_per_s"] / \
                entry["lammps_atom_steps_per_s"]
        out["runs"][str(ranks)] = entry
        print(json.dumps({ranks: entry}), file=sys.stderr, flush=True)
    if "1" in out["runs"] and "2" in out["runs"]:
        out["qc_sim_2_over_1_ranks"] = (out["runs"]["2"]["qc_sim_atom_steps_per_s"]
                                        / out["runs"]["1"]["qc_sim_atom_steps_per_s"])
    out["coupled_crack_imbalance"] = "not measured: the coupled crack showcase does not exist yet"
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
