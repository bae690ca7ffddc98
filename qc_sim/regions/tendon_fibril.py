"""The fibril modulus from the collagen crosslink density: a shear-lag micro model.

A collagen fibril is a staggered array of tropocollagen molecules (about 300 nm long); a
molecule carries axial load only as far as its neighbours hand it on through the
intermolecular interface, whose shear stiffness the crosslinks provide. This is Cox's
shear-lag problem (H. L. Cox, Br. J. Appl. Phys. 3 (1952) 72): a molecule of axial
stiffness E_m A on [0, L], tied to the affinely strained surroundings (u = eps x) by an
interface of stiffness k per unit length, with stress-free ends,

    E_m A u'' = k (u - eps x),     u'(0) = u'(L) = 0,

has the mean axial strain eps (1 - tanh(beta L / 2) / (beta L / 2)), beta^2 = k / (E_m A).
With n crosslinks per molecule, each of stiffness k_x, spread along it (k = n k_x / L),
(beta L)^2 = n eta, eta = k_x L / (E_m A) the stiffness of one crosslink over the molecule's
axial stiffness. So the fibril modulus is

    E_f(n) = E_sat g(n),   g(n) = 1 - tanh(x) / x,   x = sqrt(n eta) / 2:

zero with no crosslinks (g ~ n eta / 12, linear in n), rising with n, and saturating at
E_sat (every molecule fully loaded) for n eta >> 1.

What the numbers are: qc-sim states the fibril modulus E_ref at a reference crosslink
density n_ref (``fibril_modulus``, ``reference_crosslinks``), so E_f(n) = E_ref g(n) / g(n_ref):
the law carries the relative change with crosslink density, the measured or assumed fibril
modulus the scale. eta (``crosslink_stiffness_ratio``) sets how far from saturation the
reference fibril is. It is calibrated (:func:`calibrate_stiffness_ratio`) on the published
fibril moduli measured beside the crosslink content of the same tendons
(:data:`PUBLISHED_FIBRILS`: Svensson et al. 2013 and 2018, n the mature pyridinoline
crosslinks HP + LP per molecule, the only crosslink count those papers give): eta = 1.64e4,
the law nearly saturated at physiological densities, as Buehler's simulations (J. Mech.
Behav. Biomed. Mater. 1 (2008) 59: crosslink density changes the small-deformation
response only marginally) and Svensson et al. 2018 (no effect of a 36-fold range of
pyridinoline on fibril modulus) found (docs/tendon.md, section 1).

:func:`shear_lag_efficiency` is the closed form; :func:`shear_lag_efficiency_fe` solves the
boundary-value problem by P1 finite elements (the micro model itself), which the tests hold
to the closed form at second order in the element size.
"""

from __future__ import annotations

import math

import numpy as np

from qc_sim.errors import InputError


def shear_lag_efficiency(crosslinks, stiffness_ratio: float):
    """g = 1 - tanh(x) / x, x = sqrt(n eta) / 2: the molecules' mean strain over the fibril's
    (Cox 1952), for n = ``crosslinks`` per molecule (array or scalar) and eta =
    ``stiffness_ratio``; the series x^2/3 - 2 x^4/15 + 17 x^6/315 below x = 1e-3."""
    n = np.asarray(crosslinks, float)
    x = 0.5 * np.sqrt(np.maximum(n, 0.0) * stiffness_ratio)
    small = x < 1e-3
    safe = np.where(small, 1.0, x)
    series = x**2 / 3.0 - 2.0 * x**4 / 15.0 + 17.0 * x**6 / 315.0
    return np.where(small, series, 1.0 - np.tanh(safe) / safe)


def fibril_modulus(crosslinks, reference_modulus: float, reference_crosslinks: float,
                   stiffness_ratio: float):
    """E_f (MPa) at ``crosslinks`` per molecule: ``reference_modulus`` at
    ``reference_crosslinks``, scaled by the shear-lag efficiency."""
    for name, value in (("reference modulus", reference_modulus),
                        ("reference crosslinks", reference_crosslinks),
                        ("crosslink stiffness ratio", stiffness_ratio)):
        if not (value > 0 and math.isfinite(value)):
            raise InputError(f"{name} must be > 0, got {value!r}")
    ratio = (shear_lag_efficiency(crosslinks, stiffness_ratio)
             / shear_lag_efficiency(reference_crosslinks, stiffness_ratio))
    return reference_modulus * ratio


# Published small-strain fibril moduli beside the crosslink content of the same tendons: per
# study (n = mature pyridinoline crosslinks HP + LP per collagen molecule, mol/mol; modulus,
# GPa; its standard error, GPa). Svensson, Smith, Moyer & Magnusson, Acta Biomater. 70 (2018)
# 270, Table 1 (HP, LP medians, mmol/mol) and Table 3 (untreated fibrils' peak modulus from
# optical strain, geometric mean [geometric SE range]; SE = half the range): rat tail 4 and
# 16 weeks, Achilles 4 and 16 weeks. Svensson, Mulder, Kovanen & Magnusson, Biophys. J. 104
# (2013) 2476, Table 1 (HP, LP means) and Table 2 (Mod1, mean +- SD over N fibrils; SE =
# SD / sqrt N): native rat tail (N = 8), human patellar tendon (N = 7).
PUBLISHED_FIBRILS = {
    "Svensson et al. 2018, Acta Biomater. 70, 270 (Tables 1, 3)": (
        (0.008, 0.023, 0.102, 0.291), (2.2, 1.6, 1.6, 2.0), (0.15, 0.35, 0.4, 0.4)),
    "Svensson et al. 2013, Biophys. J. 104, 2476 (Tables 1, 2)": (
        (0.0132, 0.913), (2.2, 3.5), (0.9 / math.sqrt(8), 0.4 / math.sqrt(7))),
}


def calibrate_stiffness_ratio(studies=None, bounds=(1.0, 1e7)):
    """eta of the crosslink law fitted to published (n, E_f) points: each study its own
    modulus scale E_sat (different instruments and strain measures: weighted linear least
    squares given eta), one eta shared, chosen by minimising the total chi^2 over log eta.
    Returns eta, chi^2, the scales (GPa), the law at the points and the residuals in
    standard errors, per study."""
    from scipy.optimize import minimize_scalar

    studies = PUBLISHED_FIBRILS if studies is None else studies
    data = [tuple(np.asarray(v, float) for v in rows) for rows in studies.values()]

    def fitted(eta):
        out = []
        for n, modulus, error in data:
            shape, weight = shear_lag_efficiency(n, eta), error**-2
            scale = (weight * shape * modulus).sum() / (weight * shape * shape).sum()
            out.append((scale, scale * shape, (scale * shape - modulus) / error))
        return out

    def chi2(log_eta):
        return float(sum((r**2).sum() for _, _, r in fitted(10.0**log_eta)))

    best = minimize_scalar(chi2, bounds=tuple(np.log10(bounds)), method="bounded",
                           options={"xatol": 1e-9})
    eta = 10.0**best.x
    rows = fitted(eta)
    return {"eta": eta, "chi2": chi2(best.x), "chi2_of": lambda e: chi2(math.log10(e)),
            "studies": {name: {"scale": float(scale), "law": law, "residuals": res}
                        for name, (scale, law, res) in zip(studies, rows)}}


def shear_lag_efficiency_fe(crosslinks: float, stiffness_ratio: float, elements: int = 200):
    """The same efficiency from the boundary-value problem, by P1 finite elements on the
    molecule (lengths in units of L, stiffness in E_m A, eps = 1): K = int u' v' +
    beta^2 int u v (consistent), load beta^2 int x v, g = u(1) - u(0)."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    if not (isinstance(elements, int) and elements >= 1):
        raise InputError(f"elements must be a positive integer, got {elements!r}")
    b2 = float(crosslinks) * float(stiffness_ratio)
    if not b2 > 0:
        raise InputError("the shear-lag problem needs crosslinks * stiffness ratio > 0")
    n = elements
    h = 1.0 / n
    x = np.linspace(0.0, 1.0, n + 1)
    main = np.full(n + 1, 2.0 / h + b2 * 2.0 * h / 3.0)
    main[[0, -1]] = 1.0 / h + b2 * h / 3.0
    off = np.full(n, -1.0 / h + b2 * h / 6.0)
    K = sp.diags([off, main, off], [-1, 0, 1], format="csc")
    load = np.zeros(n + 1)  # b2 int x N_i: exact for linear x on each element
    load[:-1] += b2 * h * (2.0 * x[:-1] + x[1:]) / 6.0
    load[1:] += b2 * h * (x[:-1] + 2.0 * x[1:]) / 6.0
    u = spla.spsolve(K, load)
    return float(u[-1] - u[0])
