"""Scores of a two-drug combination against the two reference models of no interaction.

Effects are fractional (0: none, 1: full). Bliss independence (Bliss, Ann. Appl. Biol. 26,
585 (1939)): drugs acting independently leave the product of their unaffected fractions,
E_AB = E_A + E_B - E_A E_B; the excess over Bliss is the observed E_AB minus that. Loewe
additivity (Loewe & Muischnek, Arch. Exp. Pathol. Pharmakol. 114, 313 (1926)): a dose pair
(a, b) is additive when a/A_x + b/B_x = 1, A_x and B_x being the doses of each drug alone
that give the combination's effect x; the combination index CI = a/A_x + b/B_x is < 1
synergy, 1 additivity, > 1 antagonism (Chou & Talalay, Adv. Enzyme Regul. 22, 27 (1984)).
Single-agent curves of the Hill (median-effect) form E = d^m/(d^m + Dm^m), whose inverse
is D_x = Dm (E/(1 - E))^{1/m} (Chou & Talalay 1984); a curve known only at sampled doses is
inverted by brentq on its monotone interpolant in log dose.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq


def hill_effect(dose, median_dose, hill):
    """E = d^m / (d^m + Dm^m), fractional; ``dose`` any shape, same units as Dm."""
    ratio = (np.asarray(dose, dtype=float) / median_dose) ** hill
    return ratio / (1.0 + ratio)


def hill_dose_for_effect(effect, median_dose, hill):
    """The dose giving fractional ``effect`` in (0, 1): Dm (E / (1 - E))^{1/m}."""
    effect = np.asarray(effect, dtype=float)
    return median_dose * (effect / (1.0 - effect)) ** (1.0 / hill)


def bliss_expected(effect_a, effect_b):
    """E_A + E_B - E_A E_B: the combination effect if the drugs act independently."""
    return effect_a + effect_b - effect_a * effect_b


def bliss_excess(effect_ab, effect_a, effect_b):
    """Observed minus Bliss-expected effect: > 0 synergy, 0 independence, < 0 antagonism."""
    return effect_ab - bliss_expected(effect_a, effect_b)


def combination_index(dose_a, dose_b, effect_ab, dose_for_effect_a, dose_for_effect_b):
    """Loewe's CI = a / A_x + b / B_x at the combination's effect x (mutually exclusive form,
    Chou & Talalay 1984); ``dose_for_effect_*`` invert the single-agent curves."""
    return dose_a / dose_for_effect_a(effect_ab) + dose_b / dose_for_effect_b(effect_ab)


def loewe_additive_effect(dose_a, dose_b, dose_for_effect_a, dose_for_effect_b, low, high):
    """The effect x of an additive pair: the root of a / A_x + b / B_x = 1 in (low, high),
    by brentq (the left side falls from above 1 to below as x rises, since A_x, B_x grow)."""
    def excess(x):
        return dose_a / dose_for_effect_a(x) + dose_b / dose_for_effect_b(x) - 1.0

    return brentq(excess, low, high, xtol=1e-14, rtol=1e-14)


def median_effect_fit(doses, effects):
    """(Dm, m) from the median-effect plot: log(E / (1 - E)) = m log d - m log Dm, a
    straight line fitted by least squares (Chou & Talalay 1984); ``(n,)`` each."""
    x = np.log(np.asarray(doses, dtype=float))
    y = np.log(np.asarray(effects) / (1.0 - np.asarray(effects)))
    slope, intercept = np.polyfit(x, y, 1)
    return float(np.exp(-intercept / slope)), float(slope)


def sampled_inverse(doses, effects):
    """x -> the dose of one drug alone giving effect x, from a monotone increasing curve
    sampled at ``doses`` ``(n,)`` (> 0): brentq on the PCHIP interpolant of the median-effect
    transform log(E / (1 - E)) against log dose (a straight line for a Hill curve, so such a
    curve is inverted exactly); NaN outside the sampled effects."""
    log_dose = np.log(np.asarray(doses, dtype=float))
    effects = np.clip(np.asarray(effects, dtype=float), 1e-15, 1.0 - 1e-15)
    logit = np.log(effects / (1.0 - effects))
    curve = PchipInterpolator(log_dose, logit)

    def dose_for_effect(x):
        if not effects[0] <= x <= effects[-1]:
            return np.nan
        target = np.log(x / (1.0 - x))
        if target <= logit[0]:
            return float(np.exp(log_dose[0]))
        return float(np.exp(brentq(lambda s: curve(s) - target, log_dose[0], log_dose[-1],
                                   xtol=1e-13)))
    return dose_for_effect
