#!/usr/bin/env python
"""EAM Cu on MPI ranks: qc-sim's CPU backend (one thread per rank, the crystal split by RCB)
against LAMMPS on the same ranks in the same run (LAMMPS's bench/in.eam problem, scaled to
``--atoms``). Prints one JSON object: machine, commit, and per rank count the atom-steps/s of
both and qc-sim's per-rank time split into compute, communication (ghost positions,
migration) and waiting (the global decisions). Medians of ``--repeats`` runs. Then the
coupled crack showcase (cases/cu_crack.toml, its model split by DomainCoupledModel) on
``--crack-ranks``: the evaluations per second and the load imbalance, max over mean of the
per-rank time of its own work in an evaluation (exchanges and waiting excluded), beside the
imbalance of the partition's measured entity costs.

    python scripts/bench_mpi.py [--atoms 256000] [--steps 20] [--ranks 1,2]
                                [--crack-ranks 1,2,4] [--crack-evaluations 20]

The workers run under mpiexec: python scripts/bench_mpi.py --worker CELLS STEPS POTENTIAL,
and --crack-worker EVALUATIONS.
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


def _layout(comm) -> dict:
    """Ranks, OpenMP threads per rank and the cores they ran on (those of rank 0's node:
    the union of its ranks' affinity masks), for the JSON; collective."""
    from qc_sim.backend import cpu
    from qc_sim.backend.cpu import node_masks

    masks, _, _ = node_masks(comm, cpu.affinity())
    return {"ranks": comm.Get_size(), "threads_per_rank": cpu.get_num_threads(),
            "ranks_per_node": len(masks), "cores": len(frozenset().union(*masks))}


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
    from qc_sim.parallel.mpi import traffic

    traffic.update(messages=0, bytes=0)
    exchanges = run.exchanges
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(steps):
        run.step(0.005)
    comm.Barrier()
    wall = time.perf_counter() - start
    timings = comm.gather(dict(run.timing, owned=run.n_owned, ghosts=len(run.system)
                               - run.n_owned, messages_per_step=traffic["messages"] / steps,
                               bytes_per_step=traffic["bytes"] / steps,
                               re_exchanges=run.exchanges - exchanges), root=0)
    layout = _layout(comm)  # collective
    if comm.Get_rank() == 0:
        print(json.dumps({"atom_steps_per_s": len(atoms) * steps / wall, "wall_s": wall,
                          "atoms": len(atoms), **layout, "per_rank": timings}))


def crack_worker(evaluations: int) -> None:
    import numpy as np
    from mpi4py import MPI

    from qc_sim.backend import cpu, get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.cases.schema import load_case
    from qc_sim.simulation.models import crack_model
    from qc_sim.continuum.crack_field import MPA_SQRT_M

    comm = MPI.COMM_WORLD
    device = get_device("cpu")
    cpu.set_num_threads(1)
    case = load_case(Path(__file__).resolve().parents[1] / "cases" / "cu_crack.toml")
    crack = crack_model(case, build_potential(case), device, comm)
    runner = crack.runner
    X = crack.model.geometry.mesh.nodes
    mine = getattr(runner, "nodes", np.arange(len(X)))
    runner.y = X[mine].copy()  # the K field of 0.5 MPa m^0.5 at every node
    runner.y[:, :2] += crack.field.displacement(X[mine], crack.tip, 0.5 * MPA_SQRT_M)
    for _ in range(2):  # warm-up
        runner.evaluate(runner.y)
    clock = getattr(runner, "clock", None)
    if clock is not None:
        clock.total = clock.communication = 0.0
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(evaluations):
        runner.evaluate(runner.y)
    comm.Barrier()
    wall = time.perf_counter() - start
    own = clock.compute if clock is not None else wall
    per_rank = comm.gather({"compute_s": own, "communication_s":
                            clock.communication if clock is not None else 0.0,
                            "nodes": len(runner.y),
                            "atoms": len(getattr(runner, "atoms", crack.model.geometry.atom_sites))},
                           root=0)
    layout = _layout(comm)  # collective
    if comm.Get_rank() == 0:
        work = [r["compute_s"] for r in per_rank]
        print(json.dumps({"evaluations_per_s": evaluations / wall, "wall_s": wall,
                          **layout,
                          "nodes": len(X), "atoms": len(crack.model.geometry.atom_sites),
                          "imbalance": max(work) / (sum(work) / len(work)),
                          "partition_cost_imbalance": crack.imbalance, "per_rank": per_rank}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--atoms", type=int, default=256_000)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--ranks", default="1,2", help="rank counts of the EAM benchmark ('' none)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--potential", help="EAM file (default: Cu_u3.eam of the lammps package)")
    p.add_argument("--crack-ranks", default="1,2,4")
    p.add_argument("--crack-evaluations", type=int, default=20)
    p.add_argument("--worker", nargs=3, metavar=("CELLS", "STEPS", "POTENTIAL"))
    p.add_argument("--crack-worker", type=int, metavar="EVALUATIONS")
    args = p.parse_args(argv)
    if args.worker:
        worker(int(args.worker[0]), int(args.worker[1]), args.worker[2])
        return 0
    if args.crack_worker:
        crack_worker(args.crack_worker)
        return 0
    from qc_sim.cases.checks import potential_search_path

    pot = Path(args.potential) if args.potential else next(
        d / "Cu_u3.eam" for d in potential_search_path(Path.cwd()) if (d / "Cu_u3.eam").is_file())
    cells = cells_for(args.atoms)
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
        shutil.which("mpiexec")
    out = {"benchmark": "eam_cu_mpi", "commit": commit(), "machine": machine(),
           "atoms": 4 * cells**3, "steps": args.steps, "runs": {}}
    for ranks in [int(r) for r in args.ranks.split(",") if r]:
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
        entry = {"ranks": ranks, "threads_per_rank": details["threads_per_rank"],
                 "cores": details["cores"],
                 "qc_sim_atom_steps_per_s": statistics.median(ours), "qc_sim_runs": ours,
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
    out["coupled_crack"] = {}
    for ranks in [int(r) for r in args.crack_ranks.split(",") if r]:
        runs = []
        for _ in range(args.repeats):
            res = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, __file__,
                                  "--crack-worker", str(args.crack_evaluations)],
                                 capture_output=True, text=True, timeout=3600,
                                 env=dict(os.environ, OMP_NUM_THREADS="1"))
            if res.returncode:
                raise RuntimeError(res.stderr[-2000:])
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
        entry = {"ranks": ranks, "threads_per_rank": runs[-1]["threads_per_rank"],
                 "cores": runs[-1]["cores"],
                 "evaluations_per_s": statistics.median(r["evaluations_per_s"] for r in runs),
                 "imbalance": statistics.median(r["imbalance"] for r in runs),
                 "partition_cost_imbalance": runs[-1]["partition_cost_imbalance"],
                 "nodes": runs[-1]["nodes"], "atoms": runs[-1]["atoms"],
                 "last_run_per_rank": runs[-1]["per_rank"]}
        out["coupled_crack"][str(ranks)] = entry
        print(json.dumps({f"crack {ranks}": entry}), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
