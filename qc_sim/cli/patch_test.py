"""``qc-sim patch-test CASE``: the ghost forces of a coupled case's model under homogeneous
deformations, per zone, as a table or one JSON object; exit 1 when the coupling breaks its
promise."""

from __future__ import annotations

import json
import sys


def run_patch_test(args) -> int:
    from qc_sim.cases.schema import load_case
    from qc_sim.simulation.models import coupled_model, patch_test

    case = load_case(args.case)
    model, _ = coupled_model(case, args.backend, check=False)
    results, verdict, passed = patch_test(model)
    if args.json:
        print(json.dumps({"case": str(case.path), "method": model.method, "results": results,
                          "verdict": verdict, "passed": passed}, indent=2))
    else:
        print(f"patch test of {case.path} ({model.method}, {model.geometry.mesh.n_nodes} nodes, "
              f"{len(model.geometry.atom_sites)} atoms)")
        print(f"{'F':>10} {'max ghost':>12} {'core':>12} {'handshake':>12} {'continuum':>12}"
              "  (eV/Å)")
        for r in results:
            print(f"{r['label']:>10} {r['max_ghost_force']:>12.3e} {r['core']:>12.3e} "
                  f"{r['handshake']:>12.3e} {r['continuum']:>12.3e}")
        print(verdict)
    if not passed:
        print(f"qc-sim: {verdict}", file=sys.stderr)
    return 0 if passed else 1
