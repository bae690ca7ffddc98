#!/usr/bin/env python
"""Dislocation nucleation from a surface step (issue 30): the coupled CI-NEB against the
same CI-NEB done atom by atom, on stepped Cu blocks of growing size, and LAMMPS's ``neb``
on the smallest as the check of the atomistic one. Prints one JSON object (machine, commit,
per block: sizes, degrees of freedom, the quasi-static nucleation strain, the barrier at
each strain, the fit, the wall times) and writes it to --out.

    python scripts/step_nucleation.py [--sizes 48x30 96x60] [--strains 0.03 0.04]
                                      [--models atomistic coupled] [--lammps] [--out FILE]

The block (docs/step_nucleation.md): x [110] held, y [001] free on top with the step and
held at the bottom, z [1-10] periodic (3 b). Both models run the same study
(:func:`qc_sim.simulation.nucleation.nucleation_study`): quasi-static loading by
--load-step until the step nucleates, then at each strain the relaxed step and the
partial glided --depth Å down --plane against a pinned obstacle as end states and a
CI-NEB with --images inner images to --fmax, each model with its own FIRE (the atoms'
FIRE 2.0; the coupled band the same with its coarse nodes made heavy). The coupled model
is bgfc with a core of --radius lattice constants about the slip trace to --depth + 5 Å
and --surface-radius under the top face. --models runs one model only (two processes on
two cores; timings are then per model on its own core). Set OMP_NUM_THREADS (1 on a shared
machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit, machine  # noqa: E402

A = 3.6149250663890298
MASS = 63.546


def block(nx, ny, args, device, potential, which):
    """{name: (problem, build seconds)} and the material of the block nx x ny x 3 cells."""
    from qc_sim.coupling.step import build_atomistic_slab, build_step_model, stepped_slab
    from qc_sim.simulation.nucleation import AtomisticStep, CoupledStep

    slab = stepped_slab(A, (nx, ny, 3), args.layers, bottom_held=True, centre_depth=args.depth)
    out, material = {}, None
    if "coupled" in which:
        t0 = time.perf_counter()
        step = build_step_model(slab, potential, "Cu", args.radius * A, args.depth + 5.0,
                                1.5 * A, "bgfc", rate=args.rate, margin=args.margin * A,
                                surfaces=True, surface_radius=args.surface_radius * A,
                                taylor_strain=args.taylor, plane=args.plane, device=device)
        out["coupled"] = (CoupledStep(step, fmax=1e-3), time.perf_counter() - t0)
        material = step.material
    if "atomistic" in which:
        t0 = time.perf_counter()
        slab_atoms = build_atomistic_slab(slab, potential, "Cu", device, material=material)
        out["atomistic"] = (AtomisticStep(slab_atoms, fmax=1e-3), time.perf_counter() - t0)
        material = slab_atoms.material
    return out, material, slab


def lammps_neb(problem, initial, final, args, potential_file, pinned) -> dict:
    """LAMMPS's ``neb`` (REPLICA package, one MPI rank per replica, quickmin) between the
    atomistic end states, the fixed and the ``pinned`` atoms held by setforce, spring
    1 eV/Å^2 (ours), climbing after the first stage; the barrier EBF of the last line of
    the log."""
    from qc_sim.reference.lammps import _environment, executable

    n = args.images + 2
    fixed = np.asarray(problem.system.fixed, bool) | np.asarray(pinned, bool)
    L = problem.slab.line_length
    x0, x1 = np.asarray(initial), np.asarray(final)
    lo = np.minimum(x0.min(axis=0), x1.min(axis=0)) - 10.0
    hi = np.maximum(x0.max(axis=0), x1.max(axis=0)) + 10.0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = [f"{i + 1} {2 if fixed[i] else 1} {x:.12f} {y:.12f} {z % L:.12f}"
                for i, (x, y, z) in enumerate(x0)]
        (tmp / "init.data").write_text(
            f"stepped film\n\n{len(x0)} atoms\n2 atom types\n\n{lo[0]} {hi[0]} xlo xhi\n"
            f"{lo[1]} {hi[1]} ylo yhi\n0.0 {L!r} zlo zhi\n\nMasses\n\n1 {MASS}\n2 {MASS}\n\n"
            "Atoms # atomic\n\n" + "\n".join(rows) + "\n")
        (tmp / "final.txt").write_text(f"{len(x1)}\n" + "\n".join(
            f"{i + 1} {x:.12f} {y:.12f} {z % L:.12f}" for i, (x, y, z) in enumerate(x1)) + "\n")
        (tmp / "in.neb").write_text(f"""units metal
atom_style atomic
atom_modify map array sort 0 0.0
boundary f f p
read_data init.data
pair_style eam/alloy
pair_coeff * * {potential_file} Cu Cu
group held type 2
fix hold held setforce 0.0 0.0 0.0
fix nebfix all neb 1.0 parallel ideal
timestep 0.002
min_style quickmin
thermo 100
neb 0.0 {args.fmax} 20000 20000 100 final final.txt
""")
        lmp = executable()
        t0 = time.perf_counter()
        out = subprocess.run(["mpiexec", "-n", str(n), str(lmp), "-partition", f"{n}x1",
                              "-in", "in.neb", "-log", "log.lammps", "-screen", "none"],
                             cwd=tmp, capture_output=True, text=True,
                             env=_environment(threads=1), timeout=3600)
        seconds = time.perf_counter() - t0
        log = (tmp / "log.lammps").read_text() if (tmp / "log.lammps").exists() else ""
        if out.returncode != 0:
            return {"error": (out.stderr or log)[-2000:], "seconds": seconds}
        lines = [ln.split() for ln in log.splitlines()]
        head = max(k for k, ln in enumerate(lines) if ln[:2] == ["Step", "MaxReplicaForce"])
        cols = lines[head]
        last = [ln for ln in lines[head + 1:] if ln and ln[0].isdigit()][-1]
        ebf = float(last[cols.index("EBF")])
        force = float(last[cols.index("MaxReplicaForce")])
        energies = [float(v) for v in last[cols.index("RD1") + 1::2][:n]]
        return {"barrier_eV": ebf, "max_replica_force": force, "steps": int(last[0]),
                "energies_eV": [e - energies[0] for e in energies], "seconds": seconds}


def main(argv=None) -> int:
    from qc_sim.backend import get_device
    from qc_sim.potentials.eam import Eam
    from qc_sim.reference.lammps import potentials_dir
    from qc_sim.simulation.nucleation import end_states, nucleation_study

    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--sizes", nargs="+", default=["48x30", "72x45", "96x60", "128x80"],
                   help="blocks, oriented cells along x and y (2.556 x 3.615 Å)")
    p.add_argument("--models", nargs="+", default=["atomistic", "coupled"])
    p.add_argument("--layers", type=int, default=2, help="step height, (001) planes")
    p.add_argument("--strains", type=float, nargs="+",
                   default=[0.02, 0.03, 0.035, 0.04, 0.045, 0.05])
    p.add_argument("--load-step", type=float, default=0.001)
    p.add_argument("--depth", type=float, default=25.0,
                   help="Å down the plane where the end state's partial is stopped")
    p.add_argument("--plane", type=int, default=1,
                   help="the {111} plane of the family: 0 through the step's re-entrant "
                        "corner, 1 the next (through the riser)")
    p.add_argument("--images", type=int, default=9,
                   help="inner images (5 miss the embryo on the largest block: docs)")
    p.add_argument("--fmax", type=float, default=0.002, help="NEB force tolerance, eV/Å")
    p.add_argument("--radius", type=float, default=1.4, help="core radius, lattice constants")
    p.add_argument("--surface-radius", type=float, default=0.6,
                   help="depth of the core under the top face, lattice constants")
    p.add_argument("--margin", type=float, default=0.5, help="all-sites margin, a")
    p.add_argument("--rate", type=float, default=0.5)
    p.add_argument("--taylor", type=float, default=0.03,
                   help="strain below which an element takes the Taylor expansion")
    p.add_argument("--lammps", action="store_true", help="LAMMPS neb on the first block")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"
                                        / "step_nucleation_xeon.json"))
    args = p.parse_args(argv)
    device = get_device("cpu")
    potential_file = potentials_dir() / "Cu_mishin1.eam.alloy"
    potential = Eam.from_file(potential_file)
    out = {"benchmark": "step_nucleation_coupled_vs_atomistic", "commit": commit(),
           "machine": machine(), "omp_threads": os.environ.get("OMP_NUM_THREADS", ""),
           "geometry": "block: x held, top free with the step, bottom held, z periodic",
           "step_layers": args.layers, "strains": args.strains, "depth_A": args.depth,
           "images": args.images, "neb_fmax": args.fmax, "core_radius_a": args.radius,
           "surface_radius_a": args.surface_radius, "taylor_strain": args.taylor,
           "plane": args.plane,
           "load_step": args.load_step, "blocks": []}
    for k, size in enumerate(args.sizes):
        nx, ny = (int(v) for v in size.lower().split("x"))
        problems, material, slab = block(nx, ny, args, device, potential, args.models)
        row = {"cells": [nx, ny, 3], "size_A": np.round(slab.hi, 3).tolist()}
        for name in args.models:
            problem, build = problems[name]
            t0 = time.perf_counter()
            r = nucleation_study(problem, material, args.strains, args.load_step,
                                 args.load_step, 0.12, args.images, 1.0, args.fmax, 20_000,
                                 depth=args.depth, plane=args.plane, climb_min=0.0,
                                 log=lambda s, n=name: print(f"[{size}] {n}: {s}",
                                                             file=sys.stderr, flush=True))
            row[name] = {**r.to_json(), "build_seconds": build,
                         "wall_seconds": time.perf_counter() - t0 + build,
                         "neb_seconds": [pt.seconds for pt in r.points]}
        if len(args.models) == 2:
            a, c = row["atomistic"], row["coupled"]
            row["dof_ratio"] = a["dofs"] / c["dofs"]
            row["wall_ratio"] = a["wall_seconds"] / c["wall_seconds"]
            row["barrier_difference_eV"] = [q["barrier_eV"] - r_["barrier_eV"]
                                            for q, r_ in zip(c["neb"], a["neb"])]
        if args.lammps and k == 0 and "atomistic" in problems:
            from qc_sim.simulation.nucleation import load_until_nucleation, pin_mask

            atomistic = problems["atomistic"][0]
            loading = load_until_nucleation(atomistic, args.load_step, args.load_step, 0.12)
            strain = args.strains[len(args.strains) // 2]
            initial, final, *_ = end_states(atomistic, loading, strain, args.depth,
                                            plane=args.plane)
            row["lammps_neb"] = {"strain": strain,
                                 **lammps_neb(atomistic, initial, final, args, potential_file,
                                              pin_mask(atomistic, args.depth,
                                                       plane=args.plane))}
        out["blocks"].append(row)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
