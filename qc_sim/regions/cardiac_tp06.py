"""The ten Tusscher–Panfilov 2006 human ventricular cell, epicardial variant.

ten Tusscher K.H.W.J. & Panfilov A.V., "Alternans and spiral breakup in a human ventricular
tissue model", Am J Physiol Heart Circ Physiol 291: H1088–H1100 (2006), with the currents of
ten Tusscher, Noble, Noble & Panfilov, Am J Physiol 286: H1573 (2004) it keeps. Equations and
parameters are the paper's (its appendix and Table 1, epicardial g_to = 0.294 nS/pF and
g_Ks = 0.392 nS/pF); the CellML repository version (tentusscher_panfilov_2006_epi) was read
as a check of each formula. The 2006 changes against 2004: the L-type current with f, f2 and
fCass gates and the subspace Ca_ss, and the four-state RyR reduced to R' with k1, k2 scaled by
the SR load (kcasr).

Units: V mV, t ms, currents pA/pF (= µA/µF), concentrations mM, Cm 185 pF (the cell), volumes
µm^3 (V_c = 16404, V_sr = 1094, V_ss = 54.68), F = 96.485 C/mmol. Calcium buffering is the
paper's rapid-buffering approximation, written as the free-fraction factor on each total flux.

:class:`TP06Epi` implements the cardiac ``CellModel`` protocol
(:mod:`qc_sim.regions.cardiac`): ``step`` is Rush–Larsen (Rush & Larsen, IEEE Trans Biomed
Eng 25: 389, 1978): every gate and the RyR state R', linear in themselves with V and Ca_ss
frozen over the step, advance by their exact exponential update; V and the ion
concentrations by forward Euler. All cells at once, vectorised over the last axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATE_NAMES = ("V", "Xr1", "Xr2", "Xs", "m", "h", "j", "d", "f", "f2", "fCass", "s", "r",
               "R_prime", "Ca_i", "Ca_SR", "Ca_ss", "Na_i", "K_i")
# the resting state of the epicardial cell as the CellML version starts it (mV, mM, gates)
RESTING = (-85.23, 0.00621, 0.4712, 0.0095, 0.00172, 0.7444, 0.7045, 3.373e-05, 0.7888,
           0.9755, 0.9953, 0.999998, 2.42e-08, 0.9073, 0.000126, 3.64, 0.00036, 8.604, 136.89)
GATES = ("Xr1", "Xr2", "Xs", "m", "h", "j", "d", "f", "f2", "fCass", "s", "r", "R_prime")
_IDX = {name: k for k, name in enumerate(STATE_NAMES)}


@dataclass(frozen=True)
class TP06Parameters:
    """Table 1 of ten Tusscher & Panfilov (2006), epicardial cell (conductances nS/pF,
    concentrations mM, rates 1/ms, volumes µm^3)."""

    R: float = 8.314
    T: float = 310.0
    F: float = 96.485
    Cm: float = 185.0  # pF, the cell's capacitance (only in the concentration fluxes)
    V_c: float = 16404.0
    V_sr: float = 1094.0
    V_ss: float = 54.68
    K_o: float = 5.4
    Na_o: float = 140.0
    Ca_o: float = 2.0
    g_Na: float = 14.838
    g_K1: float = 5.405
    g_to: float = 0.294
    g_Kr: float = 0.153
    g_Ks: float = 0.392
    p_KNa: float = 0.03
    g_CaL: float = 0.0398  # the paper's 3.98e-5 cm/(ms µF) with F in C/mmol, R in J/(K mol)
    k_NaCa: float = 1000.0
    gamma: float = 0.35
    K_mCa: float = 1.38
    K_mNai: float = 87.5
    k_sat: float = 0.1
    alpha: float = 2.5
    P_NaK: float = 2.724
    K_mK: float = 1.0
    K_mNa: float = 40.0
    g_pK: float = 0.0146
    g_pCa: float = 0.1238
    K_pCa: float = 0.0005
    g_bNa: float = 0.00029
    g_bCa: float = 0.000592
    V_maxup: float = 0.006375
    K_up: float = 0.00025
    V_rel: float = 0.102
    k1_prime: float = 0.15
    k2_prime: float = 0.045
    k3: float = 0.060
    k4: float = 0.005
    EC: float = 1.5
    max_sr: float = 2.5
    min_sr: float = 1.0
    V_leak: float = 0.00036
    V_xfer: float = 0.0038
    Buf_c: float = 0.2
    K_bufc: float = 0.001
    Buf_sr: float = 10.0
    K_bufsr: float = 0.3
    Buf_ss: float = 0.4
    K_bufss: float = 0.00025


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(x))


def gate_rates(V, Ca_ss, p: TP06Parameters):
    """Steady states and time constants (ms) of the voltage- and Ca_ss-dependent gates at
    ``V`` (mV): name -> (inf, tau), the paper's appendix formulas."""
    low = V < -40.0
    out = {}
    a, b = 450.0 * _sigmoid((-45.0 - V) / 10.0), 6.0 * _sigmoid((V + 30.0) / 11.5)
    out["Xr1"] = (_sigmoid((-26.0 - V) / 7.0), a * b)
    a, b = 3.0 * _sigmoid((-60.0 - V) / 20.0), 1.12 * _sigmoid((V - 60.0) / 20.0)
    out["Xr2"] = (_sigmoid((V + 88.0) / 24.0), a * b)
    a, b = 1400.0 / np.sqrt(1.0 + np.exp((5.0 - V) / 6.0)), _sigmoid((V - 35.0) / 15.0)
    out["Xs"] = (_sigmoid((-5.0 - V) / 14.0), a * b + 80.0)
    a = _sigmoid((-60.0 - V) / 5.0)
    b = 0.1 * _sigmoid((V + 35.0) / 5.0) + 0.1 * _sigmoid((V - 50.0) / 200.0)
    out["m"] = (_sigmoid((-56.86 - V) / 9.03) ** 2, a * b)
    hj_inf = _sigmoid((V + 71.55) / 7.43) ** 2
    with np.errstate(over="ignore"):
        ah = np.where(low, 0.057 * np.exp(-(V + 80.0) / 6.8), 0.0)
        bh = np.where(low, 2.7 * np.exp(0.079 * V) + 3.1e5 * np.exp(0.3485 * V),
                      0.77 / (0.13 * (1.0 + np.exp(-(V + 10.66) / 11.1))))
        aj = np.where(low, (-2.5428e4 * np.exp(0.2444 * V) - 6.948e-6 * np.exp(-0.04391 * V))
                      * (V + 37.78) / (1.0 + np.exp(0.311 * (V + 79.23))), 0.0)
        bj = np.where(low, 0.02424 * np.exp(-0.01052 * V) / (1.0 + np.exp(-0.1378 * (V + 40.14))),
                      0.6 * np.exp(0.057 * V) / (1.0 + np.exp(-0.1 * (V + 32.0))))
    out["h"] = (hj_inf, 1.0 / (ah + bh))
    out["j"] = (hj_inf, 1.0 / (aj + bj))
    a = 1.4 * _sigmoid((-35.0 - V) / 13.0) + 0.25
    b, c = 1.4 * _sigmoid((V + 5.0) / 5.0), _sigmoid((50.0 - V) / 20.0)
    out["d"] = (_sigmoid((-8.0 - V) / 7.5), a * b + c)
    out["f"] = (_sigmoid((V + 20.0) / 7.0),
                1102.5 * np.exp(-((V + 27.0) ** 2) / 225.0) + 200.0 * _sigmoid((13.0 - V) / 10.0)
                + 180.0 * _sigmoid((V + 30.0) / 10.0) + 20.0)
    out["f2"] = (0.67 * _sigmoid((V + 35.0) / 7.0) + 0.33,
                 562.0 * np.exp(-((V + 27.0) ** 2) / 240.0) + 31.0 * _sigmoid((25.0 - V) / 10.0)
                 + 80.0 * _sigmoid((V + 30.0) / 10.0))
    ca = 1.0 / (1.0 + (Ca_ss / 0.05) ** 2)
    out["fCass"] = (0.6 * ca + 0.4, 80.0 * ca + 2.0)
    out["s"] = (_sigmoid((V + 20.0) / 5.0),  # epicardial s gate
                85.0 * np.exp(-((V + 45.0) ** 2) / 320.0) + 5.0 * _sigmoid((V - 20.0) / 5.0) + 3.0)
    out["r"] = (_sigmoid((20.0 - V) / 6.0), 9.5 * np.exp(-((V + 40.0) ** 2) / 1800.0) + 0.8)
    return out


def currents(y, p: TP06Parameters):
    """The membrane currents (pA/pF) of states ``y`` (19, n): name -> (n,)."""
    V, Ca_i, Ca_ss, Na_i, K_i = (y[_IDX[k]] for k in ("V", "Ca_i", "Ca_ss", "Na_i", "K_i"))
    g = {k: y[_IDX[k]] for k in GATES}
    rtf = p.R * p.T / p.F
    E_K, E_Na = rtf * np.log(p.K_o / K_i), rtf * np.log(p.Na_o / Na_i)
    E_Ks = rtf * np.log((p.K_o + p.p_KNa * p.Na_o) / (K_i + p.p_KNa * Na_i))
    E_Ca = 0.5 * rtf * np.log(p.Ca_o / Ca_i)
    a_K1 = 0.1 / (1.0 + np.exp(0.06 * (V - E_K - 200.0)))
    b_K1 = (3.0 * np.exp(0.0002 * (V - E_K + 100.0)) + np.exp(0.1 * (V - E_K - 10.0))) \
        / (1.0 + np.exp(-0.5 * (V - E_K)))
    root_ko = np.sqrt(p.K_o / 5.4)
    z = 2.0 * (V - 15.0) / rtf  # the L-type GHK flux, (V - 15) shifted as in the paper
    with np.errstate(invalid="ignore", divide="ignore"):
        ghk = np.where(np.abs(z) < 1e-9, 1.0, z / np.expm1(z))
    fv, fv1 = np.exp(p.gamma * V / rtf), np.exp((p.gamma - 1.0) * V / rtf)
    return {
        "Na": p.g_Na * g["m"] ** 3 * g["h"] * g["j"] * (V - E_Na),
        "K1": p.g_K1 * root_ko * a_K1 / (a_K1 + b_K1) * (V - E_K),
        "to": p.g_to * g["r"] * g["s"] * (V - E_K),
        "Kr": p.g_Kr * root_ko * g["Xr1"] * g["Xr2"] * (V - E_K),
        "Ks": p.g_Ks * g["Xs"] ** 2 * (V - E_Ks),
        "CaL": p.g_CaL * g["d"] * g["f"] * g["f2"] * g["fCass"] * 2.0 * p.F * ghk
        * (0.25 * Ca_ss * np.exp(z) - p.Ca_o),
        "NaCa": p.k_NaCa * (fv * Na_i ** 3 * p.Ca_o - fv1 * p.Na_o ** 3 * Ca_i * p.alpha)
        / ((p.K_mNai ** 3 + p.Na_o ** 3) * (p.K_mCa + p.Ca_o) * (1.0 + p.k_sat * fv1)),
        "NaK": p.P_NaK * p.K_o / (p.K_o + p.K_mK) * Na_i / (Na_i + p.K_mNa)
        / (1.0 + 0.1245 * np.exp(-0.1 * V / rtf) + 0.0353 * np.exp(-V / rtf)),
        "pCa": p.g_pCa * Ca_i / (Ca_i + p.K_pCa),
        "pK": p.g_pK * (V - E_K) / (1.0 + np.exp((25.0 - V) / 5.98)),
        "bNa": p.g_bNa * (V - E_Na),
        "bCa": p.g_bCa * (V - E_Ca),
    }


def concentration_rates(y, i, i_stim, p: TP06Parameters):
    """d/dt of Ca_i, Ca_SR, Ca_ss, Na_i, K_i (mM/ms) and the RyR rates (k_open, k_close)
    of R' at states ``y`` with currents ``i`` (from :func:`currents`)."""
    R_, Ca_i, Ca_SR, Ca_ss, Na_i = (y[_IDX[k]] for k in ("R_prime", "Ca_i", "Ca_SR",
                                                          "Ca_ss", "Na_i"))
    kcasr = p.max_sr - (p.max_sr - p.min_sr) / (1.0 + (p.EC / Ca_SR) ** 2)
    k1, k2 = p.k1_prime / kcasr, p.k2_prime * kcasr
    O = k1 * Ca_ss ** 2 * R_ / (p.k3 + k1 * Ca_ss ** 2)
    i_rel = p.V_rel * O * (Ca_SR - Ca_ss)
    i_up = p.V_maxup / (1.0 + p.K_up ** 2 / Ca_i ** 2)
    i_leak = p.V_leak * (Ca_SR - Ca_i)
    i_xfer = p.V_xfer * (Ca_ss - Ca_i)
    per_c = p.Cm / (p.V_c * p.F)  # pA/pF -> mM/ms in the cytosol
    free_i = 1.0 / (1.0 + p.Buf_c * p.K_bufc / (Ca_i + p.K_bufc) ** 2)
    free_sr = 1.0 / (1.0 + p.Buf_sr * p.K_bufsr / (Ca_SR + p.K_bufsr) ** 2)
    free_ss = 1.0 / (1.0 + p.Buf_ss * p.K_bufss / (Ca_ss + p.K_bufss) ** 2)
    dCa_i = free_i * ((i_leak - i_up) * p.V_sr / p.V_c + i_xfer
                      - 0.5 * (i["bCa"] + i["pCa"] - 2.0 * i["NaCa"]) * per_c)
    dCa_SR = free_sr * (i_up - i_rel - i_leak)
    dCa_ss = free_ss * (-0.5 * i["CaL"] * p.Cm / (p.V_ss * p.F)
                        + i_rel * p.V_sr / p.V_ss - i_xfer * p.V_c / p.V_ss)
    dNa_i = -(i["Na"] + i["bNa"] + 3.0 * i["NaK"] + 3.0 * i["NaCa"]) * per_c
    dK_i = -(i["K1"] + i["to"] + i["Kr"] + i["Ks"] - 2.0 * i["NaK"] + i["pK"] + i_stim) * per_c
    return (dCa_i, dCa_SR, dCa_ss, dNa_i, dK_i), (p.k4, k2 * Ca_ss)


class TP06Epi:
    """The epicardial TP06 cell as a cardiac ``CellModel``: 19 states, V first."""

    name = "tp06_epi"
    state_names = STATE_NAMES

    def __init__(self, parameters: TP06Parameters | None = None):
        self.p = parameters or TP06Parameters()

    def initial_state(self, n: int) -> np.ndarray:
        """(19, n) the resting epicardial cell."""
        return np.repeat(np.asarray(RESTING, float)[:, None], n, axis=1)

    def total_current(self, y) -> np.ndarray:
        """I_ion (pA/pF) of states ``y`` (19, n)."""
        return sum(currents(y, self.p).values())

    def step(self, y, dt, i_stim=0.0, rng=None) -> None:
        """Advance states ``y`` (19, n) by ``dt`` ms in place, Rush–Larsen; ``i_stim`` pA/pF
        (negative depolarises), scalar or (n,). Deterministic gating (``rng`` is unused)."""
        p = self.p
        i = currents(y, p)
        i_ion = sum(i.values())
        (dCa_i, dCa_SR, dCa_ss, dNa_i, dK_i), (k_open, k_close) = \
            concentration_rates(y, i, i_stim, p)
        rates = gate_rates(y[0], y[_IDX["Ca_ss"]], p)
        for name, (inf, tau) in rates.items():
            row = y[_IDX[name]]
            row[...] = inf + (row - inf) * np.exp(-dt / tau)
        R_ = y[_IDX["R_prime"]]  # dR'/dt = k4 (1 - R') - k2 Ca_ss R', linear in R'
        total = k_open + k_close
        inf = k_open / total
        R_[...] = inf + (R_ - inf) * np.exp(-dt * total)
        for name, rate in (("Ca_i", dCa_i), ("Ca_SR", dCa_SR), ("Ca_ss", dCa_ss),
                           ("Na_i", dNa_i), ("K_i", dK_i)):
            y[_IDX[name]] += dt * rate
        y[0] -= dt * (i_ion + i_stim)

    def max_time_step(self) -> float:
        """0.05 ms: the largest step of the N-version benchmark's sweep; the single-cell test
        (tests/test_cardiac.py) shows APD90 within 1 ms of dt = 0.005 ms there."""
        return 0.05
