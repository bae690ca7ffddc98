"""The coupled-model subcommands: ``qc-sim patch-test CASE`` and ``qc-sim run`` of a case with
a [coupling] section (a static solve, reporting the defect energy)."""

from __future__ import annotations

import json
import sys

import numpy as np


def _model(path, backend, check):
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_coupled, build_potential
    from qc_sim.cases.schema import load_case
    from qc_sim.errors import InputError

    case = load_case(path)
    if case.coupling is None:
        raise InputError(f"{case.path}: no [coupling] section: nothing to patch-test")
    device = get_device(backend or case.run.backend)
    potential = build_potential(case)
    model, vacancy = build_coupled(case, potential, device, check=check)
    return case, model, vacancy


def run_patch_test(args) -> int:
    """Per F (I, the far field, three random strains of size 1e-3): the largest ghost force
    overall and per zone. Exit 1 when the coupling breaks its promise."""
    from qc_sim.coupling.model import GhostForceError

    case, model, _ = _model(args.case, args.backend, check=False)
    rng = np.random.default_rng(0)
    d = model.dim
    F_list = [np.eye(d), model.far_field] + [np.eye(d) + 1e-3 * rng.uniform(-1, 1, (d, d))
                                            for _ in range(3)]
    labels = ["identity", "far field", "random 1", "random 2", "random 3"]
    results = model.patch_test(F_list)
    for label, r in zip(labels, results):
        r["label"] = label
    try:
        model.check_patch_test()
        verdict, status = f"{model.method} keeps its promise", 0
    except GhostForceError as exc:
        verdict, status = str(exc), 1
    if args.json:
        print(json.dumps({"case": str(case.path), "method": model.method, "results": results,
                          "verdict": verdict, "passed": status == 0}, indent=2))
    else:
        print(f"patch test of {case.path} ({model.method}, {model.geometry.mesh.n_nodes} nodes, "
              f"{len(model.geometry.atom_sites)} atoms)")
        print(f"{'F':>10} {'max ghost':>12} {'core':>12} {'handshake':>12} {'continuum':>12}"
              "  (eV/Å)")
        for r in results:
            print(f"{r['label']:>10} {r['max_ghost_force']:>12.3e} {r['core']:>12.3e} "
                  f"{r['handshake']:>12.3e} {r['continuum']:>12.3e}")
        print(verdict)
    if status:
        print(f"qc-sim: {verdict}", file=sys.stderr)
    return status


def run_coupled(path, backend=None, out=sys.stdout) -> int:
    """Build (with the patch test), solve statically, report energy and defect energy."""
    import time

    from qc_sim.solvers import fire, lbfgs

    case, model, vacancy = _model(path, backend, check=True)
    g = model.geometry
    print(f"qc-sim run {case.path}: coupled {model.method}, {g.mesh.n_nodes} nodes "
          f"({int(model.free.sum())} free), {len(g.atom_sites)} atoms "
          f"({int((g.atom_node < 0).sum())} padding), {model.device.describe()}", file=out)
    worst = max(r["max_ghost_force"] for r in model.patch_results)
    print(f"patch test: largest ghost force {worst:.3e} eV/Å over 5 deformations", file=out)
    start = time.perf_counter()
    solve = fire if model.method == "bqcf" else lbfgs
    result = solve(model, fmax=case.coupling.fmax, max_steps=20_000,
                   on_step=lambda k, e, f: print(f"{k:>8d} {e:>20.8f} {f:>12.3e}", file=out,
                                                 flush=True) if k % 50 == 0 else None)
    print(result.message, file=out)
    if vacancy is not None:
        twin = model.twin
        if model.method != "bgfc":
            solve(twin, fmax=case.coupling.fmax, max_steps=20_000)
        e_perfect = twin.evaluate(twin.y)[0] if model.method != "bqcf" else twin.bqce(twin.y)[0]
        e_vacancy = result.energy if model.method != "bqcf" else model.bqce(model.y)[0]
        site = model.material.energy(np.eye(model.dim)) * model.material.volume
        print(f"vacancy formation energy {e_vacancy - e_perfect + site:.6f} eV", file=out)
    print(f"solve time {time.perf_counter() - start:.2f} s", file=out)
    result.check()
    return 0
