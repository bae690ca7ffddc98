"""The tendon physics' verification figures (docs/tendon.md, docs/validation.md) as JSON: the
recruitment quadrature against its closed forms, the shear-lag micro model against Cox, the
FE specimen against the 1D law along the shipped case's ramp, Newton's convergence, clamped
grips under mesh refinement, the crosslink sweep and the default tissue against published
tendon figures.

    python scripts/tendon_validation.py [--out FILE]
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from qc_sim.regions import tendon
from qc_sim.regions.tendon_fibril import (PUBLISHED_FIBRILS, calibrate_stiffness_ratio,
                                          fibril_modulus, shear_lag_efficiency,
                                          shear_lag_efficiency_fe)
from qc_sim.regions.tendon_material import UniaxialLaw
from qc_sim.regions.tendon_recruitment import RecruitmentLaw, ShearerCrimp, TriangularCrimp

ROOT = Path(__file__).resolve().parents[1]


def quadrature_errors():
    stretch = np.linspace(0.97, 1.12, 2001)
    out = {}
    for name, density in (("shearer 15.1 deg", ShearerCrimp(15.1)),
                          ("triangular 1, 1.02, 1.05", TriangularCrimp(1.0, 1.02, 1.05))):
        closed = RecruitmentLaw(700.0, density)
        row = {}
        for points in (4, 8, 16, 24):
            quad = RecruitmentLaw(700.0, density, "quadrature", points)
            errors = []
            for f in ("stress", "energy", "tangent", "recruited_fraction"):
                a, b = getattr(closed, f)(stretch), getattr(quad, f)(stretch)
                errors.append(float(np.abs(a - b).max() / np.abs(a).max()))
            row[points] = max(errors)
        out[name] = row
    return out


def shear_lag():
    exact = float(shear_lag_efficiency(1.0, 10.0))
    errors = {n: abs(shear_lag_efficiency_fe(1.0, 10.0, n) - exact) for n in (10, 20, 40, 80, 160)}
    keys = sorted(errors)
    orders = [math.log2(errors[a] / errors[b]) for a, b in zip(keys, keys[1:])]
    eta = tendon.Spec().crosslink_stiffness_ratio
    sweep = {n: float(fibril_modulus(n, 700.0, 1.0, eta)) for n in (0.25, 0.5, 1, 2, 4, 8)}
    return {"efficiency_cox": exact, "fe_errors": errors, "orders": orders,
            "fibril_modulus_by_crosslinks_MPa": sweep, "crosslink_stiffness_ratio": eta,
            "calibration": calibration()}


def calibration():
    """eta fitted to the published fibril moduli beside crosslink content (tendon_fibril's
    PUBLISHED_FIBRILS), and what the former default eta = 10 gives on the same points."""
    fit = calibrate_stiffness_ratio()
    return {"eta": fit["eta"], "chi2": fit["chi2"], "chi2_at_eta_10": fit["chi2_of"](10.0),
            "chi2_at_shipped": fit["chi2_of"](tendon.Spec().crosslink_stiffness_ratio),
            "points": {name: {"crosslinks_per_molecule": list(PUBLISHED_FIBRILS[name][0]),
                              "modulus_GPa": list(PUBLISHED_FIBRILS[name][1]),
                              "standard_error_GPa": list(PUBLISHED_FIBRILS[name][2]),
                              "scale_GPa": row["scale"], "law_GPa": row["law"].tolist(),
                              "residuals_in_se": row["residuals"].tolist()}
                       for name, row in fit["studies"].items()}}


def specimen_ramp():
    spec = tendon.Spec()
    region = tendon.build(spec)
    law = region.law
    rel_stress, rel_tangent, iterations = [], [], []
    start = time.perf_counter()
    for _ in range(24):
        region.advance(0.25)
        strain = region.applied_strain
        rel_stress.append(abs(region.stress / float(law.stress(1 + strain)) - 1))
        rel_tangent.append(abs(region.tangent_modulus / float(law.tangent(1 + strain)) - 1))
        iterations.append(region.iterations)
    wall = time.perf_counter() - start
    jump = tendon.build(tendon.Spec(divisions=(2, 1, 1)))
    jump.solve(0.05)
    return {"elements": len(region.mesh.elements), "nodes": region.mesh.n_nodes,
            "max_rel_stress_vs_1d_law": max(rel_stress),
            "max_rel_tangent_vs_1d_law": max(rel_tangent),
            "newton_iterations_per_step": sorted(set(iterations)),
            "residuals_of_one_jump_to_5_percent": jump.residuals,
            "wall_s_24_steps": wall}


def clamped_refinement():
    out = {}
    for divisions in ((4, 1, 1), (8, 2, 2), (16, 4, 4)):
        region = tendon.build(tendon.Spec(divisions=divisions, grips="clamped",
                                          size=(20.0, 2.0, 2.0)))
        region.solve(0.01)
        out["x".join(map(str, divisions))] = {"elements": len(region.mesh.elements),
                                              "stress_MPa": region.stress}
    s = [v["stress_MPa"] for v in out.values()]
    order = math.log2((s[0] - s[1]) / (s[1] - s[2]))
    limit = s[2] - (s[1] - s[2]) / (2**order - 1)
    law = float(UniaxialLaw(tendon.material(tendon.Spec())).stress(1.01))
    return {"meshes": out, "observed_order": order, "richardson_limit_MPa": limit,
            "1d_law_MPa": law}


def published():
    spec = tendon.Spec()
    law = UniaxialLaw(tendon.material(spec))
    transition = law.material.law.transition_stretch - 1
    band = [1 / math.cos(math.radians(t)) - 1 for t in (15.1 - 2.3, 15.1 + 2.3)]
    modulus = float(law.tangent(1.05))
    sweep = {n: float(UniaxialLaw(tendon.material(tendon.Spec(crosslinks=n))).tangent(1.05))
             for n in (0.5, 1.0, 2.0, 4.0)}
    return {"linear_modulus_MPa": modulus,
            "haraldsson_2005_posterior_MPa": [583.0, 122.0],
            "haraldsson_2005_anterior_MPa": [1231.0, 188.0],
            "transition_strain": transition,
            "shearer_2017_cdet_theta_o_deg": [15.1, 2.3],
            "transition_strain_over_theta_o_sd": band,
            # where the linear region's line meets the strain axis (how a toe is often read
            # off a measured curve)
            "toe_intercept_strain": transition - float(law.stress(1 + transition)) / modulus,
            "linear_modulus_by_crosslinks_MPa": sweep}


def main() -> int:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    report = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "python": platform.python_version()},
              "commit": commit, "quadrature_vs_closed_form": quadrature_errors(),
              "shear_lag": shear_lag(), "specimen": specimen_ramp(),
              "clamped": clamped_refinement(), "published": published()}
    text = json.dumps(report, indent=2)
    if "--out" in sys.argv[1:]:
        Path(sys.argv[sys.argv.index("--out") + 1]).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
