"""Equations of the Maltsev–Lakatta (2009) rabbit sinoatrial node cell: parameters, gate
kinetics, sarcolemmal currents and the Ca2+ clock's fluxes, vectorised over cells.

Maltsev V.A. & Lakatta E.G., "Synergism of coupled subsarcolemmal Ca2+ clocks and
sarcolemmal voltage clocks confers robust and flexible pacemaker function in a novel
pacemaker cell model", Am J Physiol Heart Circ Physiol 296: H594–H615 (2009), appendix.
Every formula and constant below was checked against the CellML repository's
``maltsev_2009`` model (the steady-state variant, whose initial values :data:`LIMIT_CYCLE_STATE`
are) and an independent CUDA transcription of it; written here in our own vectorised NumPy.

Units: V mV, t ms, currents pA/pF (the model's pA divided by Cm = 32 pF; 1 pA/pF = 1 mV/ms),
conductances nS/pF, concentrations mM, rate constants 1/ms (1/(mM ms), 1/(mM^2 ms)),
volumes pL (µm^3 x 1e-3), F C/mol. Every array holds one value per cell along its last axis:
a state row is (n,), a parameter may be a float or an (n,) array (per-cell heterogeneity or
one block experiment per column).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from qc_sim.errors import InputError

STATE_NAMES = (
    "V",                                                  # membrane potential, mV
    "q", "r",                                             # i_to inactivation, activation (r also i_sus)
    "dL", "fL", "fCa",                                    # i_CaL activation, V- and Ca-inactivation
    "dT", "fT",                                           # i_CaT activation, inactivation
    "paF", "paS", "pi_",                                  # i_Kr fast/slow activation, inactivation
    "n",                                                  # i_Ks activation
    "y",                                                  # i_f activation
    "qa", "qi",                                           # i_st activation, inactivation
    "R_ryr", "O_ryr", "I_ryr", "RI_ryr",                  # RyR release channel: 4-state fractions
    "fTC", "fTMC", "fTMM", "fCMi", "fCMs", "fCQ",         # fractional occupancy of the buffers
    "Ca_sub", "Cai", "Ca_jsr", "Ca_nsr",                  # free Ca2+, mM: subspace, cytosol, jSR, nSR
)
IDX = {name: k for k, name in enumerate(STATE_NAMES)}
GATES = STATE_NAMES[1:15]          # the Hodgkin–Huxley gates (rows 1..14), Rush–Larsen
GATE_ROWS = slice(1, 15)
RYR_ROWS = slice(15, 19)
BUFFER_ROWS = slice(19, 25)
CA_ROWS = slice(25, 29)

# The CellML repository's maltsev_2009 steady-state initial values: a point on the basal
# limit cycle in late diastole (V = -57.96 mV), in STATE_NAMES order.
LIMIT_CYCLE_STATE = (
    -57.9639346865,
    0.694241313965, 0.00558131733359,
    0.000584545564405, 0.862381249774, 0.711395919653,
    0.00504393374639, 0.420757825415,
    0.144755091176, 0.453100576739, 0.849409822329,
    0.0264600410928,
    0.113643187247,
    0.42380243163, 0.447294008304,
    0.688047760973, 1.7340201253e-7, 7.86181717518e-8, 0.311951987007,
    0.0291316176172, 0.432694959597, 0.501049376634, 0.0594880901438, 0.054381370046,
    0.273207128393,
    0.000138112560112, 0.000150018670943, 0.316762674605, 1.49348117734,
)


@dataclass(frozen=True)
class MaltsevParameters:
    """The basal-state parameters of the 2009 appendix (names as in the CellML model).

    Any field may be overridden by a float or by an (n,) array (one value per cell). The
    Ca2+-clock block experiments of the paper scale ``ks`` (RyR release rate, ryanodine),
    ``P_up`` (SERCA pumping, cyclopiazonic acid/thapsigargin); ``g_if`` scales I_f.
    """

    # membrane and ions
    Cm: float = 32.0            # pF, cell capacitance
    F: float = 96485.0          # C/mol
    R: float = 8314.4           # J/(kmol K)
    T: float = 310.15           # K
    Nai: float = 10.0           # mM (clamped, as in the paper)
    Ki: float = 140.0
    Nao: float = 140.0
    Ko: float = 5.4
    Cao: float = 2.0
    Mgi: float = 2.5
    # conductances (nS/pF) and pump/exchanger maxima (pA/pF)
    g_CaL: float = 0.464
    g_CaT: float = 0.1832
    g_Kr: float = 0.08113973
    g_Ks: float = 0.0259
    g_to: float = 0.252
    g_sus: float = 0.02
    g_if: float = 0.15
    g_st: float = 0.003
    g_b_Na: float = 0.00486
    g_b_Ca: float = 0.0006
    i_NaK_max: float = 2.88
    kNaCa: float = 187.5
    E_CaL: float = 45.0         # mV, apparent reversal of I_CaL, I_bCa
    E_CaT: float = 45.0
    E_st: float = 37.4
    VIf_half: float = -64.0     # mV, I_f half activation
    # NCX (Dokos et al. 1996 formulation, as in Kurata et al. 2002)
    K1ni: float = 395.3
    K1no: float = 1628.0
    K2ni: float = 2.289
    K2no: float = 561.4
    K3ni: float = 26.44
    K3no: float = 4.663
    Kci: float = 0.0207
    Kcni: float = 26.44
    Kco: float = 3.663
    Qci: float = 0.1369
    Qn: float = 0.4315
    Km_Kp: float = 1.4
    Km_Nap: float = 14.0
    # I_CaL Ca-dependent inactivation
    Km_fCa: float = 0.00035     # mM
    alpha_fCa: float = 0.021    # 1/ms
    # Ca2+ clock: SERCA, diffusion, transfer, RyR (Shannon et al. 2004 scheme)
    P_up: float = 0.012         # mM/ms
    K_up: float = 0.0006        # mM
    tau_dif_Ca: float = 0.04    # ms, subspace -> cytosol
    tau_tr: float = 40.0        # ms, nSR -> jSR
    ks: float = 250000.0        # 1/ms, RyR release rate
    koCa: float = 10.0          # 1/(mM^2 ms)
    kiCa: float = 0.5           # 1/(mM ms)
    kom: float = 0.06           # 1/ms
    kim: float = 0.005          # 1/ms
    EC50_SR: float = 0.45       # mM
    HSR: float = 2.5
    MaxSR: float = 15.0
    MinSR: float = 1.0
    # buffers: totals mM, on 1/(mM ms), off 1/ms
    TC_tot: float = 0.031
    TMC_tot: float = 0.062
    CM_tot: float = 0.045
    CQ_tot: float = 10.0
    kf_TC: float = 88.8
    kb_TC: float = 0.446
    kf_TMC: float = 227.7
    kb_TMC: float = 0.00751
    kf_TMM: float = 2.277
    kb_TMM: float = 0.751
    kf_CM: float = 227.7
    kb_CM: float = 0.542
    kf_CQ: float = 0.534
    kb_CQ: float = 0.445
    # geometry (µm) and volume fractions
    L_cell: float = 70.0
    R_cell: float = 4.0
    L_sub: float = 0.02
    V_i_part: float = 0.46
    V_jsr_part: float = 0.0012
    V_nsr_part: float = 0.0116

    @classmethod
    def with_overrides(cls, **overrides) -> "MaltsevParameters":
        """The basal parameters with ``overrides`` (floats or (n,) arrays); an unknown name
        is an :class:`InputError` naming the allowed ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise InputError(f"maltsev_lakatta_2009: unknown parameter(s) {unknown}; "
                             f"allowed: {sorted(known)}")
        return cls(**{k: (np.asarray(v, float) if np.ndim(v) else float(v))
                      for k, v in overrides.items()})


@dataclass(frozen=True)
class Derived:
    """Quantities fixed by the parameters: RT/F (mV), reversal potentials (mV), compartment
    volumes (pL) and the NCX constants that hold no V or Ca."""

    RTF: object
    E_K: object
    E_Na: object
    E_Ks: object
    V_sub: object
    V_i: object
    V_jsr: object
    V_nsr: object
    k34: object
    k43: object
    NaK_scale: object   # pA/pF, I_NaK without its V factor
    ncx_di_Na: object   # the Na-only part of the NCX denominator d_i
    ncx_do: object      # d_o (no V dependence with Qco = 0)
    ncx_k14_Na: object  # k14 d_i / exp(Qn V / 2RTF)
    ncx_k23: object     # k23 exp(Qn V / 2RTF)
    ncx_k21: object


def derived(p: MaltsevParameters) -> Derived:
    """The V- and Ca-independent quantities of parameters ``p``."""
    RTF = p.R * p.T / p.F
    V_cell = 1e-3 * math.pi * p.R_cell ** 2 * p.L_cell
    V_sub = 1e-3 * 2.0 * math.pi * p.L_sub * (p.R_cell - p.L_sub / 2.0) * p.L_cell
    Nai, Nao = p.Nai, p.Nao
    # the exchanger's outer-side charge fraction Qco is 0 in the model: exp(Qco V/RTF) = 1
    ncx_do = 1.0 + 2.0 * p.Cao / p.Kco + Nao / p.K1no * (1.0 + Nao / p.K2no * (1.0 + Nao / p.K3no))
    return Derived(
        RTF=RTF,
        E_K=RTF * np.log(p.Ko / p.Ki),
        E_Na=RTF * np.log(Nao / Nai),
        E_Ks=RTF * np.log((p.Ko + 0.12 * Nao) / (p.Ki + 0.12 * Nai)),
        V_sub=V_sub,
        V_i=p.V_i_part * V_cell - V_sub,
        V_jsr=p.V_jsr_part * V_cell,
        V_nsr=p.V_nsr_part * V_cell,
        k34=Nao / (p.K3no + Nao),
        k43=Nai / (p.K3ni + Nai),
        NaK_scale=p.i_NaK_max / ((1.0 + (p.Km_Kp / p.Ko) ** 1.2)
                                 * (1.0 + (p.Km_Nap / Nai) ** 1.3)),
        ncx_di_Na=1.0 + Nai / p.K1ni * (1.0 + Nai / p.K2ni * (1.0 + Nai / p.K3ni)),
        ncx_do=ncx_do,
        ncx_k14_Na=Nai / p.K1ni * Nai / p.K2ni * (1.0 + Nai / p.K3ni),
        ncx_k23=Nao / p.K1no * Nao / p.K2no * (1.0 + Nao / p.K3no) / ncx_do,
        ncx_k21=p.Cao / p.Kco / ncx_do,
    )


def _boltzmann(x):
    return 1.0 / (1.0 + np.exp(x))


def gate_steady_states(V, Ca_sub, p: MaltsevParameters):
    """Steady states and time constants (ms) of the 14 gates, each (14, n), in GATES order,
    at potential ``V`` (n,) mV and subspace Ca2+ ``Ca_sub`` (n,) mM (only fCa uses it)."""
    V = np.asarray(V, float)
    inf = np.empty((14,) + V.shape)
    tau = np.empty((14,) + V.shape)
    # i_to: q (inactivation), r (activation; also gates i_sus)
    inf[0] = _boltzmann((V + 49.0) / 13.0)
    tau[0] = 6.06 + 39.102 / (0.57 * np.exp(-0.08 * (V + 44.0))
                              + 0.065 * np.exp(0.1 * (V + 45.93)))
    inf[1] = _boltzmann(-(V - 19.3) / 15.0)
    tau[1] = 2.75352 + 14.40516 / (1.037 * np.exp(0.09 * (V + 30.61))
                                   + 0.369 * np.exp(-0.12 * (V + 23.84)))
    # i_CaL: dL (rates with removable singularities at V = -35, 0, 5 mV stepped off them)
    inf[2] = _boltzmann(-(V + 13.5) / 6.0)
    aV = np.where(V == -35.0, -35.00001, np.where(V == 0.0, 0.00001, V))
    bV = np.where(V == 5.0, 5.00001, V)
    alpha_dL = (-0.02839 * (aV + 35.0) / np.expm1(-(aV + 35.0) / 2.5)
                - 0.0849 * aV / np.expm1(-aV / 4.8))
    beta_dL = 0.01143 * (bV - 5.0) / np.expm1((bV - 5.0) / 2.5)
    tau[2] = 1.0 / (alpha_dL + beta_dL)
    inf[3] = _boltzmann((V + 35.0) / 7.3)
    tau[3] = 44.3 + 257.1 * np.exp(-((V + 32.5) / 13.9) ** 2)
    fCa_inf = p.Km_fCa / (p.Km_fCa + Ca_sub)
    inf[4] = fCa_inf
    tau[4] = fCa_inf / p.alpha_fCa
    # i_CaT
    inf[5] = _boltzmann(-(V + 26.3) / 6.0)
    tau[5] = 1.0 / (1.068 * np.exp((V + 26.3) / 30.0) + 1.068 * np.exp(-(V + 26.3) / 30.0))
    inf[6] = _boltzmann((V + 61.7) / 5.6)
    tau[6] = 1.0 / (0.0153 * np.exp(-(V + 61.7) / 83.3) + 0.015 * np.exp((V + 61.7) / 15.38))
    # i_Kr: paF, paS share the steady state
    pa_inf = _boltzmann(-(V + 23.2) / 10.6)
    inf[7] = pa_inf
    tau[7] = 0.84655354 / (0.0372 * np.exp(V / 15.9) + 0.00096 * np.exp(-V / 22.5))
    inf[8] = pa_inf
    tau[8] = 0.84655354 / (0.0042 * np.exp(V / 17.0) + 0.00015 * np.exp(-V / 21.6))
    inf[9] = _boltzmann((V + 28.6) / 17.1)
    tau[9] = 1.0 / (0.1 * np.exp(-V / 54.645) + 0.656 * np.exp(V / 106.157))
    # i_Ks
    alpha_n = 0.014 / (1.0 + np.exp(-(V - 40.0) / 9.0))
    beta_n = 0.001 * np.exp(-V / 45.0)
    inf[10] = alpha_n / (alpha_n + beta_n)
    tau[10] = 1.0 / (alpha_n + beta_n)
    # i_f
    inf[11] = _boltzmann((V - p.VIf_half) / 13.5)
    tau[11] = 0.7166529 / (np.exp(-(V + 386.9) / 45.302) + np.exp((V - 73.08) / 19.231))
    # i_st
    inf[12] = _boltzmann(-(V + 57.0) / 5.0)
    alpha_qa = 1.0 / (0.15 * np.exp(-V / 11.0) + 0.2 * np.exp(-V / 700.0))
    beta_qa = 1.0 / (16.0 * np.exp(V / 8.0) + 15.0 * np.exp(V / 50.0))
    tau[12] = 1.0 / (alpha_qa + beta_qa)
    alpha_qi = 1.0 / (3100.0 * np.exp(V / 13.0) + 700.0 * np.exp(V / 70.0))
    beta_qi = (1.0 / (95.0 * np.exp(-V / 10.0) + 50.0 * np.exp(-V / 700.0))
               + 0.000229 / (1.0 + np.exp(-V / 5.0)))
    inf[13] = alpha_qi / (alpha_qi + beta_qi)
    tau[13] = 6.65 / (alpha_qi + beta_qi)
    return inf, tau


def sodium_calcium_exchange(V, Ca_sub, p: MaltsevParameters, d: Derived):
    """I_NaCa (pA/pF), (n,): the Dokos et al. (1996) exchanger, fed by subspace Ca2+."""
    half = np.exp(p.Qn * V / (2.0 * d.RTF))
    k32, k41 = half, 1.0 / half
    ca_term = Ca_sub / p.Kci
    di = d.ncx_di_Na + ca_term * (1.0 + np.exp(-p.Qci * V / d.RTF) + p.Nai / p.Kcni)
    k14 = d.ncx_k14_Na * half / di
    k12 = ca_term * np.exp(-p.Qci * V / d.RTF) / di
    k21, k23 = d.ncx_k21, d.ncx_k23 * k41
    k34, k43 = d.k34, d.k43
    x1 = k41 * k34 * (k23 + k21) + k21 * k32 * (k43 + k41)
    x2 = k32 * k43 * (k14 + k12) + k41 * k12 * (k34 + k32)
    x3 = k14 * k43 * (k23 + k21) + k12 * k23 * (k43 + k41)
    x4 = k23 * k34 * (k14 + k12) + k14 * k21 * (k34 + k32)
    return p.kNaCa * (x2 * k21 - x1 * k12) / (x1 + x2 + x3 + x4)


def membrane_currents(y, p: MaltsevParameters, d: Derived) -> dict:
    """The twelve sarcolemmal currents (pA/pF, each (n,)) of states ``y`` (29, n)."""
    V = y[0]
    g = {name: y[IDX[name]] for name in GATES}
    Ca_sub = y[IDX["Ca_sub"]]
    y2 = g["y"] * g["y"]
    return {
        "CaL": p.g_CaL * (V - p.E_CaL) * g["dL"] * g["fL"] * g["fCa"],
        "CaT": p.g_CaT * (V - p.E_CaT) * g["dT"] * g["fT"],
        "f": p.g_if * y2 * (0.3833 * (V - d.E_Na) + 0.6167 * (V - d.E_K)),
        "st": p.g_st * (V - p.E_st) * g["qa"] * g["qi"],
        "Kr": p.g_Kr * (V - d.E_K) * (0.6 * g["paF"] + 0.4 * g["paS"]) * g["pi_"],
        "Ks": p.g_Ks * (V - d.E_Ks) * g["n"] ** 2,
        "to": p.g_to * (V - d.E_K) * g["q"] * g["r"],
        "sus": p.g_sus * (V - d.E_K) * g["r"],
        "NaK": d.NaK_scale / (1.0 + np.exp(-(V - d.E_Na + 120.0) / 30.0)),
        "NaCa": sodium_calcium_exchange(V, Ca_sub, p, d),
        "bCa": p.g_b_Ca * (V - p.E_CaL),
        "bNa": p.g_b_Na * (V - d.E_Na),
    }


def membrane_calcium_current(i: dict):
    """The Ca2+ carried into the subspace as current, i_CaL + i_CaT + i_bCa - 2 i_NaCa
    (pA/pF, (n,)); divided by 2 F V_sub / Cm it is the subspace's loss in mM/ms."""
    return i["CaL"] + i["CaT"] + i["bCa"] - 2.0 * i["NaCa"]


def ryr_release_rates(Ca_sub, Ca_jsr, p: MaltsevParameters):
    """RyR transition rates (1/ms): opening koSRCa Ca_sub^2 and inactivation kiSRCa Ca_sub,
    both sensitised by the jSR load through kCaSR (Shannon et al. 2004)."""
    kCaSR = p.MaxSR - (p.MaxSR - p.MinSR) / (1.0 + (p.EC50_SR / Ca_jsr) ** p.HSR)
    return p.koCa / kCaSR * Ca_sub * Ca_sub, p.kiCa * kCaSR * Ca_sub


def ryr_derivatives(ryr, Ca_sub, Ca_jsr, p: MaltsevParameters):
    """d/dt of the RyR fractions ``ryr`` (4, n) = (R, O, I, RI): R <-> O <-> I <-> RI <-> R."""
    R, O, I, RI = ryr
    k_open, k_inact = ryr_release_rates(Ca_sub, Ca_jsr, p)
    R_to_O = k_open * R - p.kom * O
    O_to_I = k_inact * O - p.kim * I
    I_to_RI = p.kom * I - k_open * RI
    RI_to_R = p.kim * RI - k_inact * R
    return np.stack((RI_to_R - R_to_O, R_to_O - O_to_I, O_to_I - I_to_RI, I_to_RI - RI_to_R))


def derivatives(y, p: MaltsevParameters, i_stim=0.0):
    """dy/dt (29, n) of states ``y`` (29, n) under stimulus ``i_stim`` (pA/pF), the plain
    right-hand side of the appendix; the reference that :mod:`scipy.integrate` solves in the
    tests, against which the operator-split step converges."""
    d = derived(p)
    V = y[0]
    i = membrane_currents(y, p, d)
    dy = np.empty_like(y)
    dy[0] = -(sum(i.values()) + i_stim)
    inf, tau = gate_steady_states(V, y[IDX["Ca_sub"]], p)
    dy[GATE_ROWS] = (inf - y[GATE_ROWS]) / tau
    Ca_sub, Cai, Ca_jsr, Ca_nsr = y[CA_ROWS]
    dy[RYR_ROWS] = ryr_derivatives(y[RYR_ROWS], Ca_sub, Ca_jsr, p)
    fTC, fTMC, fTMM, fCMi, fCMs, fCQ = y[BUFFER_ROWS]
    d_fTC = p.kf_TC * Cai * (1.0 - fTC) - p.kb_TC * fTC
    d_fTMC = p.kf_TMC * Cai * (1.0 - fTMC - fTMM) - p.kb_TMC * fTMC
    d_fTMM = p.kf_TMM * p.Mgi * (1.0 - fTMC - fTMM) - p.kb_TMM * fTMM
    d_fCMi = p.kf_CM * Cai * (1.0 - fCMi) - p.kb_CM * fCMi
    d_fCMs = p.kf_CM * Ca_sub * (1.0 - fCMs) - p.kb_CM * fCMs
    d_fCQ = p.kf_CQ * Ca_jsr * (1.0 - fCQ) - p.kb_CQ * fCQ
    dy[BUFFER_ROWS] = np.stack((d_fTC, d_fTMC, d_fTMM, d_fCMi, d_fCMs, d_fCQ))
    j_dif = (Ca_sub - Cai) / p.tau_dif_Ca
    j_up = p.P_up / (1.0 + p.K_up / Cai)
    j_rel = p.ks * y[IDX["O_ryr"]] * (Ca_jsr - Ca_sub)
    j_tr = (Ca_nsr - Ca_jsr) / p.tau_tr
    to_mM = p.Cm / (2.0 * p.F * d.V_sub)
    dy[IDX["Ca_sub"]] = (j_rel * d.V_jsr / d.V_sub - membrane_calcium_current(i) * to_mM
                         - j_dif - p.CM_tot * d_fCMs)
    dy[IDX["Cai"]] = ((j_dif * d.V_sub - j_up * d.V_nsr) / d.V_i
                      - (p.CM_tot * d_fCMi + p.TC_tot * d_fTC + p.TMC_tot * d_fTMC))
    dy[IDX["Ca_jsr"]] = j_tr - j_rel - p.CQ_tot * d_fCQ
    dy[IDX["Ca_nsr"]] = j_up - j_tr * d.V_jsr / d.V_nsr
    return dy
