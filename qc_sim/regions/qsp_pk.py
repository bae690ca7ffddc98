"""Linear compartmental pharmacokinetics: the rate matrix of one- and two-compartment models
with first-order absorption, dose events (oral, IV bolus, IV infusion), the exact step of
the linear system by the matrix exponential, and the closed forms it is verified against.

State of one drug: amounts (mg) in the depot (gut), the central and the peripheral
compartment, ``(3,)``; several drugs stack block-diagonally, ``(3 n_drugs,)``. Rate
constants from clearances and volumes: k10 = CL/V1, k12 = Q/V1, k21 = Q/V2 (1/h).

Closed forms (Gibaldi & Perrier, Pharmacokinetics, 2nd ed., Marcel Dekker 1982, ch. 1-2;
Bateman, Proc. Camb. Phil. Soc. 15, 423 (1910)): the Bateman function of oral one-compartment
kinetics, the biexponential IV bolus and the triexponential oral solution of the two-
compartment model with macro-constants alpha > beta, and infusions as integrals of the bolus
response; repeated doses by superposition (the system is linear).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.linalg import expm

ROUTES = ("oral", "iv_bolus", "iv_infusion")


@dataclass(frozen=True)
class Compartments:
    """One drug's disposition. Units: ka 1/h, clearances L/h, volumes L, infusion h."""

    ka: float
    bioavailability: float
    clearance: float
    central_volume: float
    intercompartmental_clearance: float = 0.0
    peripheral_volume: float = 1.0
    route: str = "oral"
    infusion_duration: float = 0.0

    def rate_matrix(self) -> np.ndarray:
        """dx/dt = K x for x = (depot, central, peripheral) amounts, ``(3, 3)`` 1/h."""
        k10 = self.clearance / self.central_volume
        k12 = self.intercompartmental_clearance / self.central_volume
        k21 = self.intercompartmental_clearance / self.peripheral_volume
        return np.array([[-self.ka, 0.0, 0.0],
                         [self.ka, -(k10 + k12), k21],
                         [0.0, k12, -k21]])


@dataclass(frozen=True)
class Schedule:
    """Dose times (h) and amounts (mg) of one drug, ``(n_doses,)`` each."""

    times: np.ndarray
    amounts: np.ndarray

    @classmethod
    def regular(cls, amount, interval, count, first=0.0):
        times = first + interval * np.arange(count, dtype=float)
        return cls(times, np.full(count, float(amount)))


def block_rate_matrix(drugs) -> np.ndarray:
    """The rate matrix of independent drugs, block-diagonal ``(3 n, 3 n)`` 1/h."""
    n = len(drugs)
    K = np.zeros((3 * n, 3 * n))
    for i, drug in enumerate(drugs):
        K[3 * i:3 * i + 3, 3 * i:3 * i + 3] = drug.rate_matrix()
    return K


def bolus_increment(drugs, doses_now) -> np.ndarray:
    """Amounts added at a dose time, ``(3 n,)`` mg: F D to the depot (oral), D to the
    central compartment (IV bolus), nothing for an infusion (it enters as a rate)."""
    jump = np.zeros(3 * len(drugs))
    for i, (drug, dose) in enumerate(zip(drugs, doses_now)):
        if drug.route == "oral":
            jump[3 * i] = drug.bioavailability * dose
        elif drug.route == "iv_bolus":
            jump[3 * i + 1] = dose
    return jump


def infusion_rate(drugs, schedules, t0, t1) -> np.ndarray:
    """The constant input rate into the central compartments over [t0, t1), ``(3 n,)``
    mg/h, for an interval that no infusion starts or stops inside."""
    rate = np.zeros(3 * len(drugs))
    middle = 0.5 * (t0 + t1)
    for i, (drug, s) in enumerate(zip(drugs, schedules)):
        if drug.route == "iv_infusion":
            on = (s.times <= middle) & (middle < s.times + drug.infusion_duration)
            rate[3 * i + 1] = np.sum(s.amounts[on]) / drug.infusion_duration
    return rate


def breakpoints(drugs, schedules, t0, t1) -> np.ndarray:
    """The times in [t0, t1] where an input changes (doses, infusion ends), sorted, with
    t0 and t1 themselves: the sub-intervals over which the input is constant."""
    events = [t0, t1]
    for drug, s in zip(drugs, schedules):
        events.extend(s.times)
        if drug.route == "iv_infusion":
            events.extend(s.times + drug.infusion_duration)
    events = np.unique(np.asarray(events, dtype=float))
    return events[(events >= t0) & (events <= t1)]


def doses_at(schedules, t) -> list:
    """The amount (mg) of each drug dosed at exactly time ``t``."""
    return [float(np.sum(s.amounts[s.times == t])) for s in schedules]


def exact_step(K, x, rate, h) -> np.ndarray:
    """x(h) of dx/dt = K x + rate from x(0) = x, exact to rounding: x(h) = Phi x + Gamma
    rate with Phi = e^{K h}, Gamma = int_0^h e^{K s} ds, both blocks of the matrix exponential
    of the augmented [[K, I], [0, 0]] h (Van Loan, IEEE Trans. Autom. Control 23, 395
    (1978))."""
    phi, gamma = _propagators(K.tobytes(), len(K), float(h))
    return phi @ x + gamma @ rate


@lru_cache(maxsize=512)
def _propagators(K_bytes, n, h):
    """(Phi, Gamma) of :func:`exact_step`, kept for the step lengths a run repeats (a
    dosing interval, a macro step): one scipy.linalg.expm each (its LAPACK solve costs
    ~50 us for these sizes, but milliseconds when OpenBLAS threads meet a busy machine)."""
    K = np.frombuffer(K_bytes).reshape(n, n)
    M = np.zeros((2 * n, 2 * n))
    M[:n, :n] = K * h
    M[:n, n:] = np.eye(n) * h
    E = expm(M)
    return E[:n, :n].copy(), E[:n, n:].copy()


def advance_exact(drugs, schedules, K, amounts, t0, t1) -> np.ndarray:
    """PK amounts ``(3 n,)`` from t0 to t1 (h), doses due in [t0, t1) given at their times,
    exact to rounding (one matrix exponential per piece of constant input)."""
    points = breakpoints(drugs, schedules, t0, t1)
    for a, b in zip(points[:-1], points[1:]):
        amounts = amounts + bolus_increment(drugs, doses_at(schedules, a))
        amounts = exact_step(K, amounts, infusion_rate(drugs, schedules, a, b), b - a)
    return amounts


# ---- closed forms ------------------------------------------------------------------------

def bateman(t, dose, bioavailability, ka, k, volume):
    """C(t) = F D ka / (V (ka - k)) (e^{-k t} - e^{-ka t}) for t >= 0, 0 before, mg/L
    (Bateman 1910; Gibaldi & Perrier ch. 1); ka != k."""
    t = np.asarray(t, dtype=float)
    tp = np.maximum(t, 0.0)
    c = bioavailability * dose * ka / (volume * (ka - k)) * (np.exp(-k * tp) - np.exp(-ka * tp))
    return np.where(t >= 0, c, 0.0)


def macro_constants(clearance, central_volume, intercompartmental_clearance,
                    peripheral_volume):
    """(alpha, beta, k21) of the two-compartment model, 1/h: the roots of
    s^2 - (k10 + k12 + k21) s + k10 k21 = 0, alpha > beta (Gibaldi & Perrier ch. 2)."""
    k10 = clearance / central_volume
    k12 = intercompartmental_clearance / central_volume
    k21 = intercompartmental_clearance / peripheral_volume
    total = k10 + k12 + k21
    root = np.sqrt(total * total - 4.0 * k10 * k21)
    alpha = 0.5 * (total + root)
    beta = k10 * k21 / alpha  # the product of the roots: no cancellation for the small one
    return alpha, beta, k21


def unit_bolus_coefficients(drug: Compartments):
    """(coefficients, exponents): C(t) = D sum_i a_i e^{-lambda_i t} after an IV bolus of D
    into the central compartment, a_i in 1/L; one exponent for a one-compartment drug,
    (alpha, beta) with A/D = (alpha - k21)/(V1 (alpha - beta)), B/D = (k21 - beta)/(V1
    (alpha - beta)) for two (Gibaldi & Perrier ch. 2)."""
    V1 = drug.central_volume
    if drug.intercompartmental_clearance == 0.0:
        return np.array([1.0 / V1]), np.array([drug.clearance / V1])
    alpha, beta, k21 = macro_constants(drug.clearance, V1, drug.intercompartmental_clearance,
                                       drug.peripheral_volume)
    return (np.array([(alpha - k21), (k21 - beta)]) / (V1 * (alpha - beta)),
            np.array([alpha, beta]))


def single_dose_concentration(drug: Compartments, t, dose):
    """Central concentration (mg/L) at times ``t`` (h, any shape) after one dose at t = 0,
    in closed form: a sum of exponentials (bolus), the oral triexponential (the bolus
    response convolved with ka e^{-ka t}: coefficient a_i ka / (ka - lambda_i) on
    e^{-lambda_i t}, and -sum of them on e^{-ka t}; Gibaldi & Perrier ch. 2), or the
    bolus response integrated over the infusion."""
    t = np.asarray(t, dtype=float)[..., None]
    a, lam = unit_bolus_coefficients(drug)
    tp = np.maximum(t, 0.0)
    if drug.route == "iv_bolus":
        c = dose * np.sum(a * np.exp(-lam * tp), axis=-1)
    elif drug.route == "oral":
        w = a * drug.ka / (drug.ka - lam)
        c = drug.bioavailability * dose * (np.sum(w * np.exp(-lam * tp), axis=-1)
                                           - np.sum(w) * np.exp(-drug.ka * tp[..., 0]))
    else:  # infusion at D / T over [0, T): int_0^min(t,T) a e^{-lam (t - s)} ds D / T
        T = drug.infusion_duration
        on = np.minimum(tp, T)
        c = dose / T * np.sum(a / lam * (np.exp(-lam * (tp - on)) - np.exp(-lam * tp)),
                              axis=-1)
    return np.where(t[..., 0] >= 0, c, 0.0)


def superposed_concentration(drug: Compartments, schedule: Schedule, t):
    """C(t) of a dosing schedule, mg/L: the sum of the single-dose responses (linear
    kinetics); the concentration at a dose time is the pre-dose one (the response of a
    dose is zero at its own time for oral and infusion, and is counted from t > t_dose for
    a bolus)."""
    t = np.asarray(t, dtype=float)
    total = np.zeros_like(t)
    for when, amount in zip(schedule.times, schedule.amounts):
        after = t - when
        part = single_dose_concentration(drug, after, amount)
        total = total + np.where(after > 0, part, 0.0)
    return total


def one_compartment_bolus_doses_to_trough(target, volume, k, interval, count):
    """The IV bolus doses (mg) whose troughs, just before each next dose, all equal
    ``target`` (mg/L) in a one-compartment model: the first (loading) dose D1 = C V e^{k tau}
    and every later (maintenance) dose D = C V (e^{k tau} - 1), ``(count,)``.

    Derivation: a trough C_n carried over one interval is C_n e^{-k tau}; a bolus D adds
    D/V, so the next trough is (C_n + D/V) e^{-k tau} = C iff D = V (C e^{k tau} - C_n),
    with C_0 = 0 before the first dose and C_n = C after it."""
    growth = np.exp(k * interval)
    doses = np.full(count, target * volume * (growth - 1.0))
    doses[0] = target * volume * growth
    return doses


def one_compartment_oral_maintenance_dose(target, bioavailability, ka, k, volume, interval):
    """The oral dose (mg) every ``interval`` whose steady-state trough equals ``target``:
    C_ss(tau) = F D ka / (V (ka - k)) (e^{-k tau}/(1 - e^{-k tau}) - e^{-ka tau}/(1 -
    e^{-ka tau})) (Gibaldi & Perrier ch. 3: the Bateman function summed over the
    geometric series of doses), solved for D (C_ss is linear in D)."""
    per_dose = bioavailability * ka / (volume * (ka - k)) * (
        np.exp(-k * interval) / (1.0 - np.exp(-k * interval))
        - np.exp(-ka * interval) / (1.0 - np.exp(-ka * interval)))
    return target / per_dose
