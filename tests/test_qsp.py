"""The qsp region physics (qc_sim/regions/qsp*.py): pharmacokinetics against their closed
forms to 1e-8 relative, the combination scores against their definitions on cases whose
answer is known, the pathway's steady states against the mechanism's reference model, the
PD against an independent integration, the dose choice against its closed form, and the
plug-in plumbing (checks, bitwise restart, picture)."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, root

from qc_sim.regions import qsp, qsp_pd, qsp_pk, qsp_synergy

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "qsp_combination.toml"


def _case_spec(**changes):
    table = tomllib.loads(CASE.read_text())["qsp"]
    spec = qsp.Spec(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})
    return dataclasses.replace(spec, **changes)


def _one_drug(**keys):
    """A one-drug spec: keys given as scalars become one-element per-drug tuples."""
    base = dict(drugs=("X",), route=("oral",), compartments=(1,), ka=(1.0,),
                bioavailability=(1.0,), clearance=(5.0,), central_volume=(50.0,),
                intercompartmental_clearance=(0.0,), peripheral_volume=(1.0,),
                infusion_duration=(1.0,), molar_mass=(400.0,), dose=(100.0,),
                dose_interval=(12.0,), dose_count=(1,), first_dose=(0.0,), kon=(0.01,),
                koff=(1.0,), complex_elimination=(0.2,), target_node=(1,), synergy_grid=0)
    base.update({k: v if k in qsp.Spec.__dataclass_fields__ and not isinstance(
        getattr(qsp.Spec(), k), tuple) else (v,) for k, v in keys.items()})
    spec = qsp.Spec(**base)
    assert qsp.check(spec, None) == []
    return spec


def _run(spec, dt, steps):
    """The region's concentrations (mg/L) after each step, ``(steps, n_drugs)``."""
    region = qsp.build(spec, None)
    out = []
    for _ in range(steps):
        region.advance(dt)
        out.append(region.model.concentration(region.amounts))
    return region, np.array(out)


# ---- pharmacokinetics against closed forms ------------------------------------------------

def test_oral_one_compartment_repeated_doses_equal_summed_bateman_functions():
    """Bateman (1910): C(t) = F D ka / (V (ka - k)) (e^{-k t} - e^{-ka t}); five doses every
    8 h summed (linear kinetics), sampled at steps of 2.9 h that do not meet the dose times;
    the region's exact step and the ODE copy that drives the PD (at rtol 1e-10) within
    1e-8 relative of it."""
    F, ka, CL, V, D, tau = 0.8, 1.3, 6.0, 40.0, 250.0, 8.0
    spec = _one_drug(bioavailability=F, ka=ka, clearance=CL, central_volume=V, dose=D,
                     dose_interval=tau, dose_count=5)
    region = qsp.build(spec, None)
    k = CL / V
    t, ours, ode = 0.0, [], []
    for _ in range(14):
        region.amounts, region.state, copy = qsp_pd.advance(
            region.model, region.amounts, region.state, t, t + 2.9, rtol=1e-10, atol=1e-14)
        t += 2.9
        ours.append(region.model.concentration(region.amounts)[0])
        ode.append(region.model.concentration(copy)[0])
    times = 2.9 * np.arange(1, 15)
    reference = sum(F * D * ka / (V * (ka - k)) * (np.exp(-k * (times - s))
                                                  - np.exp(-ka * (times - s)))
                    * (times > s) for s in tau * np.arange(5))
    assert np.max(np.abs(np.array(ours) / reference - 1)) < 1e-8
    assert np.max(np.abs(np.array(ode) / reference - 1)) < 1e-8


def _macro(CL, V1, Q, V2):
    """alpha, beta of the two-compartment model: the roots of s^2 - (k10 + k12 + k21) s +
    k10 k21 (Gibaldi & Perrier, Pharmacokinetics, 2nd ed., ch. 2), solved by numpy."""
    k10, k12, k21 = CL / V1, Q / V1, Q / V2
    alpha, beta = sorted(np.roots([1.0, k10 + k12 + k21, k10 * k21]).real)[::-1]
    return -beta, -alpha, k21  # roots are -alpha, -beta


def test_two_compartment_iv_bolus_is_biexponential():
    """C(t) = D/V1 [(alpha - k21)/(alpha - beta) e^{-alpha t} + (k21 - beta)/(alpha - beta)
    e^{-beta t}] (Gibaldi & Perrier ch. 2), three doses every 24 h superposed."""
    CL, V1, Q, V2, D = 10.0, 30.0, 15.0, 120.0, 500.0
    spec = _one_drug(route="iv_bolus", compartments=2, clearance=CL, central_volume=V1,
                     intercompartmental_clearance=Q, peripheral_volume=V2, dose=D,
                     dose_interval=24.0, dose_count=3)
    _, conc = _run(spec, 5.3, 15)
    alpha, beta, k21 = _macro(CL, V1, Q, V2)
    times = 5.3 * np.arange(1, 16)
    reference = sum(D / V1 * ((alpha - k21) * np.exp(-alpha * (times - s))
                              + (k21 - beta) * np.exp(-beta * (times - s))) / (alpha - beta)
                    * (times > s) for s in (0.0, 24.0, 48.0))
    assert np.max(np.abs(conc[:, 0] / reference - 1)) < 1e-8


def test_two_compartment_oral_is_triexponential():
    """The oral two-compartment solution as residues of F D ka (s + k21) / (V1 (s + ka)
    (s + alpha)(s + beta)) (Gibaldi & Perrier ch. 2): coefficients (k21 - alpha) / ((ka -
    alpha)(beta - alpha)), (k21 - beta) / ((ka - beta)(alpha - beta)), (k21 - ka) / ((alpha
    - ka)(beta - ka)) times F D ka / V1; two doses 12 h apart."""
    F, ka, CL, V1, Q, V2, D = 0.6, 0.9, 20.0, 100.0, 10.0, 200.0, 100.0
    spec = _one_drug(compartments=2, bioavailability=F, ka=ka, clearance=CL,
                     central_volume=V1, intercompartmental_clearance=Q, peripheral_volume=V2,
                     dose=D, dose_count=2)
    _, conc = _run(spec, 1.3, 20)
    alpha, beta, k21 = _macro(CL, V1, Q, V2)

    def single(t):
        tp = np.maximum(t, 0.0)
        return F * D * ka / V1 * (
            (k21 - alpha) / ((ka - alpha) * (beta - alpha)) * np.exp(-alpha * tp)
            + (k21 - beta) / ((ka - beta) * (alpha - beta)) * np.exp(-beta * tp)
            + (k21 - ka) / ((alpha - ka) * (beta - ka)) * np.exp(-ka * tp)) * (t > 0)

    times = 1.3 * np.arange(1, 21)
    reference = single(times) + single(times - 12.0)
    assert np.max(np.abs(conc[:, 0] / reference - 1)) < 1e-8
    schedule = qsp_pk.Schedule.regular(D, 12.0, 2)
    ours = qsp_pk.superposed_concentration(qsp.model_of(spec).drugs[0], schedule, times)
    assert np.max(np.abs(ours / reference - 1)) < 1e-12  # the module's closed form too


def test_one_compartment_infusion_rises_to_rate_over_clearance_then_decays():
    """Constant-rate infusion R0 = D / T (Gibaldi & Perrier ch. 1): C = R0/CL (1 - e^{-k t})
    while it runs, C(T) e^{-k (t - T)} after; an infusion of 3 h sampled every 0.4 h."""
    CL, V, D, T = 4.0, 25.0, 120.0, 3.0
    spec = _one_drug(route="iv_infusion", clearance=CL, central_volume=V, dose=D,
                     infusion_duration=T)
    _, conc = _run(spec, 0.4, 25)
    k, times = CL / V, 0.4 * np.arange(1, 26)
    during = D / T / CL * (1 - np.exp(-k * np.minimum(times, T)))
    reference = during * np.exp(-k * np.maximum(times - T, 0.0))
    assert np.max(np.abs(conc[:, 0] / reference - 1)) < 1e-8


def test_bolus_accumulation_reaches_the_steady_state_trough():
    """Repeated IV boluses: the trough before dose n is (D/V) e^{-k tau} (1 - e^{-n k tau})
    / (1 - e^{-k tau}) (a geometric series; Gibaldi & Perrier ch. 3)."""
    CL, V, D, tau = 5.0, 50.0, 100.0, 6.0
    spec = _one_drug(route="iv_bolus", clearance=CL, central_volume=V, dose=D,
                     dose_interval=tau, dose_count=12)
    _, conc = _run(spec, tau, 12)
    x, n = math.exp(-CL / V * tau), np.arange(1, 13)
    reference = D / V * x * (1 - x**n) / (1 - x)
    assert np.max(np.abs(conc[:, 0] / reference - 1)) < 1e-8


# ---- the combination scores on cases with known answers -----------------------------------

@pytest.mark.parametrize("hill", [0.5, 1.0, 2.5])
def test_sham_combination_is_loewe_additive_and_its_bliss_excess_has_a_closed_form(hill):
    """A drug combined with itself (or with a 3x less potent copy, a dilution of it) is the
    definition of Loewe additivity: the pair (a, b) acts as the dose a + b/3 of the first,
    so A_x = (a + b/3) and B_x = 3 (a + b/3) at its effect and CI = 1 for any Hill slope.
    Its Bliss excess (potency 1, median dose 1, x = d^m for a = b = d) is
    1/(1 + x)^2 - 1/(1 + 2^m x): for m <= 1 negative at every dose (Bliss calls a drug
    antagonistic with itself), for m > 1 positive while x < 2^m - 2 and negative above."""
    inverse_a = lambda e: qsp_synergy.hill_dose_for_effect(e, 1.0, hill)  # noqa: E731
    inverse_b = lambda e: qsp_synergy.hill_dose_for_effect(e, 3.0, hill)  # noqa: E731
    for a, b in [(0.1, 0.2), (1.0, 1.0), (2.0, 0.3), (0.05, 7.0)]:
        effect_ab = qsp_synergy.hill_effect(a + b / 3.0, 1.0, hill)
        ci = qsp_synergy.combination_index(a, b, effect_ab, inverse_a, inverse_b)
        assert ci == pytest.approx(1.0, abs=1e-12)
        additive = qsp_synergy.loewe_additive_effect(a, b, inverse_a, inverse_b, 1e-12,
                                                     1 - 1e-12)
        assert additive == pytest.approx(effect_ab, rel=1e-10)
    d = np.geomspace(0.05, 20.0, 41)
    e = qsp_synergy.hill_effect(d, 1.0, hill)
    excess = qsp_synergy.bliss_excess(qsp_synergy.hill_effect(2 * d, 1.0, hill), e, e)
    x = d**hill
    assert np.allclose(excess, 1 / (1 + x) ** 2 - 1 / (1 + 2**hill * x), rtol=1e-12, atol=0)
    if hill <= 1:
        assert np.all(excess < 0)
    else:
        assert np.all(excess[x < 2**hill - 2] > 0) and np.all(excess[x > 2**hill - 2] < 0)


def test_independent_action_is_bliss_and_looks_loewe_synergistic():
    """Unaffected fractions that multiply (independent action) are Bliss's definition: the
    excess is 0. With Hill slope 1 and median doses Dm_A, Dm_B the same pair is Loewe-
    synergistic with CI = (a' + b') / (a' + b' + a' b'), a' = a/Dm_A, b' = b/Dm_B: the
    single-agent dose of the combination's effect is Dm (1/U - 1) with U = 1/((1 + a')(1 +
    b')), so A_x = Dm_A (a' + b' + a' b')."""
    Dm_a, Dm_b = 2.0, 0.5
    for a, b in [(0.5, 0.1), (2.0, 0.5), (10.0, 3.0)]:
        e_a, e_b = qsp_synergy.hill_effect(a, Dm_a, 1.0), qsp_synergy.hill_effect(b, Dm_b, 1.0)
        e_ab = 1 - (1 - e_a) * (1 - e_b)
        assert qsp_synergy.bliss_excess(e_ab, e_a, e_b) == pytest.approx(0.0, abs=1e-15)
        ci = qsp_synergy.combination_index(
            a, b, e_ab, lambda e: qsp_synergy.hill_dose_for_effect(e, Dm_a, 1.0),
            lambda e: qsp_synergy.hill_dose_for_effect(e, Dm_b, 1.0))
        ap, bp = a / Dm_a, b / Dm_b
        assert ci == pytest.approx((ap + bp) / (ap + bp + ap * bp), rel=1e-12)


def test_median_effect_fit_and_sampled_inverse_recover_a_hill_curve():
    """The median-effect plot of exact Hill data is a straight line with slope m through
    log Dm (Chou & Talalay 1984); the sampled inverse interpolates in those coordinates, so
    it inverts a Hill curve exactly from 9 samples."""
    doses = np.geomspace(0.01, 100.0, 9)
    effects = qsp_synergy.hill_effect(doses, 1.7, 1.4)
    median, slope = qsp_synergy.median_effect_fit(doses, effects)
    assert median == pytest.approx(1.7, rel=1e-10) and slope == pytest.approx(1.4, rel=1e-10)
    inverse = qsp_synergy.sampled_inverse(doses, effects)
    for e in (0.05, 0.3, 0.5, 0.9):
        assert inverse(e) == pytest.approx(qsp_synergy.hill_dose_for_effect(e, 1.7, 1.4),
                                           rel=1e-10)
    assert np.isnan(inverse(0.99999))


# ---- the pathway: mechanism decides the reference model ----------------------------------

def _pathway(targets):
    return qsp_pd.Pathway(kon=np.array([0.01, 0.005]), koff=np.array([2.0, 5.0]),
                          kint=np.array([0.2, 0.1]), target=np.array(targets),
                          molar_mass=np.array([500.0, 450.0]), kdeg=np.array([0.2, 0.1]),
                          kout=np.array([0.5, 0.2]))


def _steady_effect(pathway, conc_nM):
    """The effect at the steady state of the PD at constant concentrations ``(n_drugs,)``,
    by a root of the rates (scipy.optimize.root; the AUEC rate is left out)."""
    m = pathway.n_drugs + 4
    start = qsp_pd.baseline(pathway, 1)[0, :m]

    def rates(y):
        full = np.append(y, 0.0)[None, :]
        return qsp_pd.pd_rate(pathway, np.asarray(conc_nM, float)[None, :], full)[0, :m]

    def jacobian(y):
        full = np.append(y, 0.0)[None, :]
        return qsp_pd.pd_jacobian(pathway, np.asarray(conc_nM, float)[None, :], full)[0][0, :m, :m]

    sol = root(rates, start, jac=jacobian, tol=1e-15)
    assert np.max(np.abs(rates(sol.x))) < 1e-14  # a steady state to rounding
    return 1.0 - sol.x[3 + pathway.n_drugs]


def test_drugs_on_two_nodes_combine_by_bliss_at_steady_state():
    """Node 2 is made from node 1: at steady state P_2 = r_1 r_2, the product of the free
    target fractions each drug leaves; the unaffected fractions multiply (Bliss)."""
    pathway = _pathway([0, 1])
    ec50 = pathway.ec50()
    for ca, cb in [(50.0, 400.0), (300.0, 2000.0), (5.0, 10.0)]:
        e_a = _steady_effect(pathway, [ca, 0.0])
        e_b = _steady_effect(pathway, [0.0, cb])
        e_ab = _steady_effect(pathway, [ca, cb])
        assert qsp_synergy.bliss_excess(e_ab, e_a, e_b) == pytest.approx(0.0, abs=1e-12)
        # and r = 1 / (1 + C / EC50) with EC50 = kdeg (koff + kint) / (kon kint)
        assert e_a == pytest.approx(1 - 1 / (1 + ca / ec50[0]), rel=1e-10)


def test_drugs_on_one_target_combine_by_loewe_at_steady_state():
    """Two drugs competing for the node-1 target: r_1 = 1 / (1 + C_A/EC50_A + C_B/EC50_B),
    each drug's concentration counting as EC50-scaled dose of the other: CI = 1. The
    single-agent doses of the combination's effect are found by brentq on the steady state
    of the drug alone."""
    pathway = _pathway([0, 0])
    for ca, cb in [(20.0, 500.0), (200.0, 100.0)]:
        e_ab = _steady_effect(pathway, [ca, cb])
        a_x = brentq(lambda c: _steady_effect(pathway, [c, 0.0]) - e_ab, 1e-6, 1e6,
                     xtol=1e-12, rtol=1e-13)
        b_x = brentq(lambda c: _steady_effect(pathway, [0.0, c]) - e_ab, 1e-6, 1e7,
                     xtol=1e-12, rtol=1e-13)
        assert ca / a_x + cb / b_x == pytest.approx(1.0, abs=1e-9)


def test_a_drug_combined_with_itself_under_another_name_is_the_summed_dose():
    """Drug B a copy of drug A on A's target, dosed on A's schedule: the combination of
    doses (a, b) is drug A alone at a + b (linear PK), at every time, so CI = 1 at every
    time; the arms of one integration against a separate run of A at the summed dose."""
    same = _case_spec(optimise="none", route=("oral", "oral"), compartments=(2, 2),
                      ka=(1.0, 1.0), bioavailability=(0.5, 0.5), clearance=(20.0, 20.0),
                      central_volume=(100.0, 100.0), intercompartmental_clearance=(10.0, 10.0),
                      peripheral_volume=(200.0, 200.0), molar_mass=(500.0, 500.0),
                      dose=(60.0, 90.0), dose_interval=(12.0, 12.0), dose_count=(2, 2),
                      kon=(0.01, 0.01), koff=(2.0, 2.0), complex_elimination=(0.2, 0.2),
                      target_node=(1, 1), pd_rtol=1e-10)
    summed = dataclasses.replace(same, drugs=("A",), **{
        k: getattr(same, k)[:1] for k in qsp.PER_DRUG}, )
    summed = dataclasses.replace(summed, dose=(150.0,))
    both, alone = qsp.build(same, None), qsp.build(summed, None)
    for _ in range(6):
        both.advance(3.0)
        alone.advance(3.0)
        assert both.thermo()["effect_AB"] == pytest.approx(alone.thermo()["effect_A"],
                                                           rel=1e-7)


def _drug_a_written_out(doses, t_end):
    """Drug A of the shipped case alone, oral doses ``doses`` (mg) at 0, 12, 24 ... h: the
    equations of docs/qsp.md written out for one arm (two-compartment oral PK, binding to
    the node-1 target with turnover, the cascade; node 2's target free) and integrated by
    DOP853 at rtol 1e-12 from dose to dose. (effect, concentration mg/L) at ``t_end``."""
    ka, F, CL, V1, Q, V2, M = 1.0, 0.5, 20.0, 100.0, 10.0, 200.0, 500.0
    kon, koff, kint, kdeg1, kout1, kout2 = 0.01, 2.0, 0.2, 0.2, 0.5, 0.2

    def rates(t, y):
        gut, cen, per, r, c, p1, p2 = y
        conc = cen / V1 / M * 1e6
        bind = kon * conc * r - koff * c
        return [-ka * gut, ka * gut - (CL + Q) / V1 * cen + Q / V2 * per,
                Q / V1 * cen - Q / V2 * per, kdeg1 * (1 - r) - bind, bind - kint * c,
                kout1 * (r - p1), kout2 * (1.0 * p1 - p2)]

    y, t = np.array([0.0, 0, 0, 1, 0, 1, 1]), 0.0
    for k, dose in enumerate(doses):
        y[0] += F * dose
        end = min(12.0 * (k + 1), t_end)
        y = solve_ivp(rates, (t, end), y, method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
        t = end
    return 1 - y[6], y[1] / V1


def test_pd_matches_an_independent_integration_of_the_written_out_equations():
    """Drug A alone (the shipped case's drug A), 100 mg at 0 and 12 h: the region's effect
    and concentration at 24 h against the written-out equations (_drug_a_written_out)."""
    spec = _case_spec(optimise="none", drugs=("A",), **{
        k: getattr(_case_spec(), k)[:1] for k in qsp.PER_DRUG})
    spec = dataclasses.replace(spec, dose_count=(2,))
    region = qsp.build(spec, None)
    for _ in range(6):
        region.advance(4.0)
    effect, conc = _drug_a_written_out([100.0, 100.0], 24.0)
    assert region.thermo()["effect_A"] == pytest.approx(effect, rel=1e-7)
    assert region.thermo()["concentration_A"] == pytest.approx(conc, rel=1e-9)


# ---- dose choice ---------------------------------------------------------------------------

def test_doses_chosen_for_a_trough_concentration_equal_the_loading_and_maintenance_doses():
    """One-compartment IV bolus every tau, each trough to equal C: loading dose C V e^{k tau}
    then maintenance C V (e^{k tau} - 1) (derived in qsp_pk); the troughs meet C."""
    CL, V, tau, C = 5.0, 50.0, 8.0, 1.5
    spec = _one_drug(route="iv_bolus", clearance=CL, central_volume=V, dose_interval=tau,
                     dose_count=5, optimise="trough_concentration", optimised_drug=1,
                     trough_target=C, max_dose=2000.0)
    region, conc = _run(spec, tau, 5)
    closed = qsp_pk.one_compartment_bolus_doses_to_trough(C, V, CL / V, tau, 5)
    assert np.allclose(region.model.schedules[0].amounts, closed, rtol=1e-8, atol=0)
    assert np.allclose(conc[:, 0], C, rtol=1e-8)


def test_the_whole_schedule_minimised_with_bounds_finds_the_same_doses():
    """scipy.optimize.minimize (L-BFGS-B, doses in [0, 2000 mg]) over all three doses at once,
    from 100 mg each: the loading and maintenance doses of the closed form, every trough at
    C; with a 150 mg bound below the loading dose (166.9 mg) the first dose sits on it."""
    from qc_sim.regions import qsp_dosing

    CL, V, tau, C = 5.0, 50.0, 8.0, 1.5
    spec = _one_drug(route="iv_bolus", clearance=CL, central_volume=V, dose_interval=tau,
                     dose_count=3)
    model = qsp.model_of(spec)
    doses, result = qsp_dosing.optimise_schedule(model, 0, C, 2000.0, "concentration", tau)
    closed = qsp_pk.one_compartment_bolus_doses_to_trough(C, V, CL / V, tau, 3)
    assert np.allclose(doses, closed, rtol=1e-5) and result.fun < 1e-10
    capped, _ = qsp_dosing.optimise_schedule(model, 0, C, 150.0, "concentration", tau)
    assert capped[0] == pytest.approx(150.0, rel=1e-9)


def test_oral_doses_chosen_for_a_trough_converge_to_the_steady_state_maintenance_dose():
    """Oral one-compartment: with every trough at C the doses settle to the dose whose
    steady-state trough is C, F D ka/(V (ka - k)) (e^{-k tau}/(1 - e^{-k tau}) - e^{-ka
    tau}/(1 - e^{-ka tau})) = C (Gibaldi & Perrier ch. 3); ka tau = 12: settled in 6 doses."""
    F, ka, CL, V, tau, C = 0.7, 1.0, 5.0, 50.0, 12.0, 1.0
    spec = _one_drug(bioavailability=F, ka=ka, clearance=CL, central_volume=V,
                     dose_interval=tau, dose_count=6, optimise="trough_concentration",
                     trough_target=C, max_dose=5000.0)
    region, conc = _run(spec, tau, 6)
    maintenance = qsp_pk.one_compartment_oral_maintenance_dose(C, F, ka, CL / V, V, tau)
    assert region.model.schedules[0].amounts[-1] == pytest.approx(maintenance, rel=1e-8)
    assert np.allclose(conc[:, 0], C, rtol=1e-8)


def test_doses_chosen_for_the_combination_effect_meet_it_at_every_trough():
    """The shipped case (drug A chosen for a combination trough effect of 0.8): at 12 and
    24 h, the pre-dose times of A, the combination's effect is the target; the first dose
    is a loading dose, larger than the next. Drug A's own arm at 24 h (step 6, the figure
    tests/test_region_cases.py pins) against the written-out equations with those doses."""
    region = qsp.build(_case_spec(synergy_grid=0), None)
    for step in range(6):
        region.advance(4.0)
        if step in (2, 5):
            # the forecast integrates the combination arm alone, the run all three arms:
            # their LSODA steps differ, so the target is met to about the tolerance
            assert region.thermo()["effect_AB"] == pytest.approx(0.8, abs=1e-8)
    doses = region.model.schedules[0].amounts
    assert doses[0] > doses[1] > 0
    effect, _ = _drug_a_written_out(doses[:2], 24.0)
    assert region.thermo()["effect_A"] == pytest.approx(effect, rel=1e-7)
    assert region.thermo()["effect_A"] == pytest.approx(PINNED_EFFECT_A, rel=1e-7)


PINNED_EFFECT_A = 0.55997835259  # the case's effect_A at step 6 (tests/test_region_cases.py)


# ---- plug-in plumbing ----------------------------------------------------------------------

def test_restart_from_state_fields_is_bitwise():
    spec = _case_spec(synergy_grid=0)
    whole = qsp.build(spec, None)
    for _ in range(4):
        whole.advance(4.0)  # A's doses at 0 and 12 h chosen on the way
    part = qsp.build(spec, None)
    for _ in range(2):
        part.advance(4.0)
    again = qsp.build(spec, None)
    again.load_state_fields(part.state_fields())
    for _ in range(2):
        again.advance(4.0)
    a, b = whole.state_fields(), again.state_fields()
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


BAD = [
    ("ka = [1.0]", "qsp.ka", "needs 2 values"),
    ("bioavailability = [0.5, 1.5]", "qsp.bioavailability", "(0, 1]"),
    ('route = ["oral", "iv"]', "qsp.route", "must be one of"),
    ("target_node = [1, 3]", "qsp.target_node", "must be 1 or 2"),
    ("clearance = [20.0, -5.0]", "qsp.clearance", "must be positive"),
    ("trough_target = 1.2", "qsp.trough_target", "(0, 1)"),
    ('optimise = "best"', "qsp.optimise", "is not one of"),
    ("node_turnover = [0.5]", "qsp.node_turnover", "needs 2 values"),
]


@pytest.mark.parametrize("line,key,words", BAD, ids=[b[1] + b[0][:6] for b in BAD])
def test_bad_values_end_with_one_line_naming_the_key(tmp_path, capsys, line, key, words):
    from qc_sim.cli.main import main

    name = line.split(" =")[0]
    text = "\n".join(l for l in CASE.read_text().splitlines() if not l.startswith(name + " "))
    (tmp_path / "bad.toml").write_text(text.replace("[qsp]\n", f"[qsp]\n{line}\n"))
    for command in ("validate", "run"):
        assert main([command, str(tmp_path / "bad.toml")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"[{key}]" in err and words in err


def test_defaults_are_valid_and_the_picture_is_a_png(tmp_path):
    assert qsp.check(qsp.Spec(), None) == []
    region = qsp.build(_case_spec(optimise="none", synergy_grid=3), None)
    region.advance(6.0)
    path = region.picture(tmp_path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
