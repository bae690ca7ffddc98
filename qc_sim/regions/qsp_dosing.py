"""Dose individualisation: each dose of one drug chosen, at its dose time, from the model's
forecast so that the trough before the next dose (the effect of the treated arm, or the
drug's concentration) meets a target; model-informed dosing one dose ahead.

The trough rises with the dose (more drug, less free target, less pathway output; linear
PK), so the dose in [0, D_max] that minimises the squared deviation (trough(D) - target)^2
is the root of trough(D) = target when the target lies between trough(0) and trough(D_max),
found by brentq, and otherwise the nearer bound. When every trough can be met this makes
every deviation zero, the least-squares optimum of the whole schedule; when a bound binds
(a loading dose larger than D_max) it is the optimum dose by dose. For a one-compartment
IV bolus the doses have a closed form (qsp_pk.one_compartment_bolus_doses_to_trough), which
tests/test_qsp.py checks this against.

:func:`optimise_schedule` instead chooses all the doses at once, before the first, by
minimising the summed squared deviations of every trough with bounds (scipy.optimize.minimize,
L-BFGS-B): the planning counterpart, which can trade one trough against another when a bound
binds; it finds the same closed-form doses where every trough can be met.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize

from qc_sim.regions import qsp_pd as pd
from qc_sim.regions import qsp_pk as pk


def dose_to_meet(trough_of_dose, target, max_dose):
    """The dose (mg) in [0, max_dose] minimising (trough_of_dose(D) - target)^2 for a
    trough that increases with the dose."""
    if target <= trough_of_dose(0.0):
        return 0.0
    if target >= trough_of_dose(max_dose):
        return float(max_dose)
    return brentq(lambda dose: trough_of_dose(dose) - target, 0.0, max_dose,
                  xtol=1e-9 * max_dose, rtol=1e-10)


def _with_dose(model, drug, index, dose):
    schedules = list(model.schedules)
    amounts = schedules[drug].amounts.copy()
    amounts[index] = dose
    schedules[drug] = pk.Schedule(schedules[drug].times, amounts)
    return model.with_schedules(schedules)


def effect_forecast(model, amounts, state, drug, index, t_next, rtol):
    """D -> the effect of the model's last arm at ``t_next`` (h) if the ``index``-th dose of
    ``drug`` (at its time, which the state ``amounts, state`` has reached, pre-dose) is D."""
    t_dose = model.schedules[drug].times[index]

    def trough(dose):
        trial = _with_dose(model, drug, index, dose)
        _, end, _ = pd.advance(trial, amounts, state, t_dose, t_next, rtol=rtol)
        return float(pd.effect(trial.pathway, end)[-1])
    return trough


def concentration_forecast(model, amounts, drug, index, t_next):
    """D -> the central concentration (mg/L) of ``drug`` at ``t_next`` (h) if its
    ``index``-th dose is D: the PK alone, stepped exactly (it does not see the PD)."""
    t_dose = model.schedules[drug].times[index]

    def trough(dose):
        trial = _with_dose(model, drug, index, dose)
        end = pk.advance_exact(trial.drugs, trial.schedules, trial.K, amounts, t_dose, t_next)
        return float(trial.concentration(end)[drug])
    return trough


def next_dose_time(schedule, index, interval) -> float:
    """When the dose after the ``index``-th comes; for the last, one dosing ``interval``
    (h) later."""
    times = schedule.times
    if index + 1 < len(times):
        return float(times[index + 1])
    return float(times[-1] + interval)


def doses_in(schedule, t0, t1) -> np.ndarray:
    """Indices of the doses due in [t0, t1)."""
    return np.flatnonzero((schedule.times >= t0) & (schedule.times < t1))


def schedule_troughs(model, drug, doses, metric, interval, rtol=pd.RTOL) -> np.ndarray:
    """The troughs before each next dose of ``drug`` (h apart by its schedule, the last one
    ``interval`` after it), its doses set to ``doses`` ``(n_doses,)`` mg, from an untreated
    start: ``metric`` "concentration" (mg/L, exact PK) or "effect" (the model's last arm)."""
    schedules = list(model.schedules)
    schedules[drug] = pk.Schedule(schedules[drug].times, np.asarray(doses, float))
    trial = model.with_schedules(schedules).with_arms(model.arms[-1:])
    ends = [next_dose_time(schedules[drug], k, interval) for k in range(len(doses))]
    amounts, state = pd.initial_state(trial)
    troughs, t = [], 0.0
    for end in ends:
        if metric == "concentration":
            amounts = pk.advance_exact(trial.drugs, trial.schedules, trial.K, amounts, t, end)
            troughs.append(trial.concentration(amounts)[drug])
        else:
            amounts, state, _ = pd.advance(trial, amounts, state, t, end, rtol=rtol)
            troughs.append(pd.effect(trial.pathway, state)[-1])
        t = end
    return np.array(troughs)


def optimise_schedule(model, drug, target, max_dose, metric, interval, rtol=pd.RTOL):
    """All doses of ``drug`` (mg, ``(n_doses,)``) minimising sum_k (trough_k / target - 1)^2
    within [0, max_dose], by L-BFGS-B from the schedule's doses; (doses, the
    scipy.optimize.OptimizeResult)."""
    start = model.schedules[drug].amounts / max_dose

    def misfit(scaled):
        troughs = schedule_troughs(model, drug, scaled * max_dose, metric, interval, rtol)
        return float(np.sum((troughs / target - 1.0) ** 2))

    result = minimize(misfit, start, method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(start),
                      options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 500})
    return result.x * max_dose, result
