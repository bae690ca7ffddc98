"""The qsp verifications as measured numbers (the figures of docs/qsp.md): each check of
tests/test_qsp.py, which asserts a bound, here prints the deviation itself. JSON on stdout
with the machine and the commit.

    python scripts/qsp_verify.py
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_qsp as t  # noqa: E402  (the tests' set-ups and written-out references)

from qc_sim.regions import qsp, qsp_pd, qsp_pk, qsp_synergy  # noqa: E402


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1.0)))


def pk_checks():
    out = {}
    F, ka, CL, V, D, tau = 0.8, 1.3, 6.0, 40.0, 250.0, 8.0
    spec = t._one_drug(bioavailability=F, ka=ka, clearance=CL, central_volume=V, dose=D,
                       dose_interval=tau, dose_count=5)
    region = qsp.build(spec, None)
    k, times, exact, ode, now = CL / V, 2.9 * np.arange(1, 15), [], [], 0.0
    for _ in times:
        region.amounts, region.state, copy = qsp_pd.advance(
            region.model, region.amounts, region.state, now, now + 2.9, rtol=1e-10,
            atol=1e-14)
        now += 2.9
        exact.append(region.model.concentration(region.amounts)[0])
        ode.append(region.model.concentration(copy)[0])
    bateman = sum(qsp_pk.bateman(times - s, D, F, ka, k, V) * (times > s)
                  for s in tau * np.arange(5))
    out["bateman_5_doses"] = {"exact_step": rel(exact, bateman), "ode_copy_rtol_1e-10":
                              rel(ode, bateman)}
    CL, V1, Q, V2 = 10.0, 30.0, 15.0, 120.0
    spec = t._one_drug(route="iv_bolus", compartments=2, clearance=CL, central_volume=V1,
                       intercompartmental_clearance=Q, peripheral_volume=V2, dose=500.0,
                       dose_interval=24.0, dose_count=3)
    _, conc = t._run(spec, 5.3, 15)
    alpha, beta, k21 = t._macro(CL, V1, Q, V2)
    times = 5.3 * np.arange(1, 16)
    ref = sum(500.0 / V1 * ((alpha - k21) * np.exp(-alpha * (times - s)) + (k21 - beta)
                            * np.exp(-beta * (times - s))) / (alpha - beta) * (times > s)
              for s in (0.0, 24.0, 48.0))
    out["two_compartment_bolus_3_doses"] = rel(conc[:, 0], ref)
    spec = t._one_drug(compartments=2, bioavailability=0.6, ka=0.9, clearance=20.0,
                       central_volume=100.0, intercompartmental_clearance=10.0,
                       peripheral_volume=200.0, dose=100.0, dose_count=2)
    _, conc = t._run(spec, 1.3, 20)
    times = 1.3 * np.arange(1, 21)
    ref = qsp_pk.superposed_concentration(qsp.model_of(spec).drugs[0],
                                          qsp_pk.Schedule.regular(100.0, 12.0, 2), times)
    out["two_compartment_oral_2_doses"] = rel(conc[:, 0], ref)
    spec = t._one_drug(route="iv_infusion", clearance=4.0, central_volume=25.0, dose=120.0,
                       infusion_duration=3.0)
    _, conc = t._run(spec, 0.4, 25)
    k, times = 4.0 / 25.0, 0.4 * np.arange(1, 26)
    ref = 40.0 / 4.0 * (1 - np.exp(-k * np.minimum(times, 3.0))) * np.exp(
        -k * np.maximum(times - 3.0, 0.0))
    out["one_compartment_infusion"] = rel(conc[:, 0], ref)
    spec = t._one_drug(route="iv_bolus", clearance=5.0, central_volume=50.0, dose=100.0,
                       dose_interval=6.0, dose_count=12)
    _, conc = t._run(spec, 6.0, 12)
    x, n = math.exp(-0.1 * 6.0), np.arange(1, 13)
    out["bolus_accumulation_12_troughs"] = rel(conc[:, 0], 100.0 / 50.0 * x * (1 - x**n)
                                               / (1 - x))
    return out


def synergy_checks():
    ci, additive = [], []
    for hill in (0.5, 1.0, 2.5):
        inv_a = lambda e, h=hill: qsp_synergy.hill_dose_for_effect(e, 1.0, h)  # noqa: E731
        inv_b = lambda e, h=hill: qsp_synergy.hill_dose_for_effect(e, 3.0, h)  # noqa: E731
        for a, b in [(0.1, 0.2), (1.0, 1.0), (2.0, 0.3), (0.05, 7.0)]:
            e = qsp_synergy.hill_effect(a + b / 3.0, 1.0, hill)
            ci.append(abs(qsp_synergy.combination_index(a, b, e, inv_a, inv_b) - 1))
            additive.append(abs(qsp_synergy.loewe_additive_effect(a, b, inv_a, inv_b, 1e-12,
                                                                  1 - 1e-12) / e - 1))
    pathway = t._pathway([0, 1])
    bliss = [abs(qsp_synergy.bliss_excess(t._steady_effect(pathway, [ca, cb]),
                                          t._steady_effect(pathway, [ca, 0.0]),
                                          t._steady_effect(pathway, [0.0, cb])))
             for ca, cb in [(50.0, 400.0), (300.0, 2000.0), (5.0, 10.0)]]
    pathway = t._pathway([0, 0])
    loewe = []
    for ca, cb in [(20.0, 500.0), (200.0, 100.0)]:
        e = t._steady_effect(pathway, [ca, cb])
        a_x = brentq(lambda c: t._steady_effect(pathway, [c, 0.0]) - e, 1e-6, 1e6,
                       xtol=1e-12, rtol=1e-13)
        b_x = brentq(lambda c: t._steady_effect(pathway, [0.0, c]) - e, 1e-6, 1e7,
                       xtol=1e-12, rtol=1e-13)
        loewe.append(abs(ca / a_x + cb / b_x - 1))
    return {"sham_loewe_ci_minus_1": max(ci), "sham_loewe_additive_effect": max(additive),
            "two_nodes_steady_bliss_excess": max(bliss),
            "one_target_steady_loewe_ci_minus_1": max(loewe)}


def model_checks():
    spec = t._case_spec(optimise="none", drugs=("A",), **{
        k: getattr(t._case_spec(), k)[:1] for k in qsp.PER_DRUG})
    region = qsp.build(dataclasses.replace(spec, dose_count=(2,)), None)
    for _ in range(6):
        region.advance(4.0)
    effect, _ = t._drug_a_written_out([100.0, 100.0], 24.0)
    out = {"effect_A_vs_dop853_rtol_1e-12": abs(region.thermo()["effect_A"] / effect - 1)}
    same = t._case_spec(optimise="none", compartments=(2, 2), ka=(1.0, 1.0),
                        bioavailability=(0.5, 0.5), clearance=(20.0, 20.0),
                        central_volume=(100.0, 100.0), intercompartmental_clearance=(10.0, 10.0),
                        peripheral_volume=(200.0, 200.0), molar_mass=(500.0, 500.0),
                        dose=(60.0, 90.0), dose_interval=(12.0, 12.0), dose_count=(2, 2),
                        kon=(0.01, 0.01), koff=(2.0, 2.0), complex_elimination=(0.2, 0.2),
                        target_node=(1, 1), pd_rtol=1e-10)
    summed = dataclasses.replace(same, drugs=("A",), **{
        k: getattr(same, k)[:1] for k in qsp.PER_DRUG})
    both, alone = qsp.build(same, None), qsp.build(dataclasses.replace(summed, dose=(150.0,)),
                                                   None)
    gaps = []
    for _ in range(6):
        both.advance(3.0)
        alone.advance(3.0)
        gaps.append(abs(both.thermo()["effect_AB"] / alone.thermo()["effect_A"] - 1))
    out["sham_region_effect_AB_vs_summed_dose"] = max(gaps)
    CL, V, tau, C = 5.0, 50.0, 8.0, 1.5
    spec = t._one_drug(route="iv_bolus", clearance=CL, central_volume=V, dose_interval=tau,
                       dose_count=5, optimise="trough_concentration", trough_target=C,
                       max_dose=2000.0)
    region, conc = t._run(spec, tau, 5)
    closed = qsp_pk.one_compartment_bolus_doses_to_trough(C, V, CL / V, tau, 5)
    out["bolus_doses_vs_loading_maintenance"] = rel(region.model.schedules[0].amounts, closed)
    from qc_sim.regions import qsp_dosing

    three = qsp.model_of(dataclasses.replace(spec, optimise="none", dose_count=(3,)))
    joint, result = qsp_dosing.optimise_schedule(three, 0, C, 2000.0, "concentration", tau)
    out["lbfgsb_schedule_vs_loading_maintenance"] = rel(joint, closed[:3])
    out["lbfgsb_schedule_misfit"] = float(result.fun)
    out["bolus_loading_dose_mg"] = float(closed[0])
    out["bolus_maintenance_dose_mg"] = float(closed[1])
    spec = t._one_drug(bioavailability=0.7, ka=1.0, clearance=5.0, central_volume=50.0,
                       dose_interval=12.0, dose_count=6, optimise="trough_concentration",
                       trough_target=1.0, max_dose=5000.0)
    region, _ = t._run(spec, 12.0, 6)
    maintenance = qsp_pk.one_compartment_oral_maintenance_dose(1.0, 0.7, 1.0, 0.1, 50.0, 12.0)
    out["oral_last_dose_vs_steady_state_maintenance"] = rel(
        region.model.schedules[0].amounts[-1], maintenance)
    region = qsp.build(t._case_spec(synergy_grid=0), None)
    troughs = []
    for step in range(6):
        region.advance(4.0)
        if step in (2, 5):
            troughs.append(abs(region.thermo()["effect_AB"] - 0.8))
    out["case_trough_effect_AB_minus_target"] = max(troughs)
    out["case_doses_A_mg"] = region.model.schedules[0].amounts[:3].tolist()
    return out


def main():
    start = time.perf_counter()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    result = {"machine": platform.platform(), "cpu": platform.processor(), "commit": commit,
              "pk_relative": pk_checks(), "synergy": synergy_checks(), "model": model_checks()}
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
