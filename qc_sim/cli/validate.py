"""``qc-sim validate CASE``: every check ``qc-sim run`` makes before its first step, without
stepping. A case it calls valid starts.

- region cases: the case's checks and the region built (its mesh, microstructure or model
  reduction) as ``run`` builds it;
- atomistic cases: the potential read, the crystal and its neighbour lists built;
- coupled cases: the model ``run`` builds, by the same functions (the vacancy's, the crack's,
  the indentation's, the dipole's or the wave packet's geometry, the defects inside the core,
  the room for the handshake and the padding, and the build-time patch test that refuses a
  coupling which breaks its promise).

What is printed: one line of what was built (with its set-up time), then ``CASE: valid``.
Bad input ends as ``run``'s does: one line naming the key, exit status 2; a patch test that
fails, one line and status 1.
"""

from __future__ import annotations

import sys
import time


def validate_case(path, backend=None, out=None) -> int:
    from qc_sim.cases.schema import load_case

    out = sys.stdout if out is None else out  # at the call: capture may have replaced it

    start = time.perf_counter()
    case = load_case(path)
    if case.region is not None:
        from qc_sim.cases.regions import build_region

        region = build_region(case, backend)
        mesh = getattr(region, "mesh", None)
        what = (f"{case.region.physics} region"
                + (f", {len(mesh.elements)} elements, {mesh.n_nodes} nodes" if mesh is not None
                   else ""))
    elif case.coupling is None:
        from qc_sim.simulation.atomistic import build_system

        device, potential, atoms, _ = build_system(case, backend)
        what = (f"{len(atoms)} atoms, {potential.__class__.__name__} (cutoff "
                f"{potential.cutoff:.3f} Å), {device.describe()}")
    else:
        from qc_sim.simulation.models import coupled_model

        model, _ = coupled_model(case, backend, check=True)
        g = model.geometry
        worst = max(r["max_ghost_force"] for r in model.patch_results)
        kind = (f"stepped {'block' if case.nucleation.bottom == 'held' else 'film'}"
                if getattr(case, "nucleation", None) is not None
                else "crack" if case.crack is not None
                else "indentation" if case.indent is not None
                else "wave packet slab" if case.wave is not None
                else case.coupling.defect.replace("_", " ")
                if case.coupling.defect != "none" else "perfect lattice")
        what = (f"coupled {model.method} ({kind}), {g.mesh.n_nodes} nodes, "
                f"{len(g.atom_sites)} atoms ({int((g.atom_node < 0).sum())} padding); patch "
                f"test: largest ghost force {worst:.3e} eV/Å over 5 deformations")
    print(f"{case.path}: {what}; set-up {time.perf_counter() - start:.1f} s", file=out)
    print(f"{case.path}: valid", file=out)
    return 0
