"""The Maltsev–Lakatta (2009) coupled-clock sinoatrial node pacemaker cell as a cardiac
``CellModel``: deterministic or with stochastic channel gating.

Maltsev V.A. & Lakatta E.G., Am J Physiol Heart Circ Physiol 296: H594–H615 (2009): a
rabbit SAN cell whose membrane clock (I_CaL, I_CaT, I_f, I_st, I_Kr, I_Ks, I_to, I_sus,
I_NaK, I_NaCa, background currents) is coupled to a Ca2+ clock (SERCA uptake into the
network SR, transfer to the junctional SR, RyR release into a submembrane space, diffusion to
the cytosol, six buffers), the two joined through NCX and I_CaL. Equations and parameters:
:mod:`qc_sim.regions.cardiac_maltsev_currents`. 29 states (``STATE_NAMES``, V first).

The step (time step dt, ms), first order, operator split (Lie):

1. currents from the states at the start of the step;
2. V by forward Euler, dV/dt = -(I_ion + i_stim) (pA/pF = mV/ms; i_stim < 0 depolarises);
3. the 14 Hodgkin–Huxley gates by Rush–Larsen (Rush & Larsen, IEEE Trans Biomed Eng 25:
   389, 1978), V and Ca_sub frozen: x <- x_inf + (x - x_inf) exp(-dt/tau);
   with ``rng`` instead by exact two-state binomial updates of N gates per cell (below);
4. the Ca2+ clock (RyR, buffers, four Ca2+ pools) in sub-steps of h <= 0.1 ms (one at dt <= 0.1)
   with V and the I_CaL, I_CaT, I_bCa gates frozen: the RyR fractions by explicit Euler,
   and the pools linearly implicit: release ks O (Ca_jsr - Ca_sub), subspace-cytosol
   diffusion (tau = 0.04 ms, the stiffest process), buffer binding (each buffer's update
   f' = (f + h kf (1 - f) Ca') / (1 + h kb), linear in Ca') and NCX (linearised in Ca_sub)
   taken at the new time, SERCA and nSR->jSR transfer at the old; the 3 x 3 linear system
   for (Ca_sub, Cai, Ca_jsr) solved in closed form per cell. Every exchange appears with
   equal and opposite amounts in its two pools, so the sub-step conserves the cell's Ca2+
   (free and bound, SR included) up to the membrane flux, exactly.

Stochastic gating (``rng`` a numpy Generator): each gate of each cell is a population of
``n_channels`` independent two-state gates; over dt (V frozen) a closed gate opens with
probability p_o = x_inf (1 - exp(-dt/tau)) and an open one closes with p_c = (1 - x_inf)
(1 - exp(-dt/tau)), the exact transition probabilities of the two-state Markov chain, so the
open count is Binomial(open, 1 - p_c) + Binomial(closed, p_o) and its mean is exactly the
Rush–Larsen update (the binomial "gate population" algorithm; Mino, Rubinstein & White, Ann
Biomed Eng 30: 578, 2002, compare it with channel-state Markov and Langevin methods). The
channel count is the modeller's choice (a parameter, not a figure of the paper); as it grows
the fluctuations fall as 1/sqrt(N) and the deterministic model is recovered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qc_sim.errors import InputError
from qc_sim.regions.cardiac_maltsev_currents import (
    BUFFER_ROWS, CA_ROWS, GATE_ROWS, IDX, LIMIT_CYCLE_STATE, RYR_ROWS, STATE_NAMES,
    MaltsevParameters, derived, gate_steady_states, membrane_calcium_current,
    membrane_currents, ryr_derivatives, sodium_calcium_exchange)

CA_SUBSTEP_MS = 0.1    # largest sub-step of the Ca2+ clock (ms)


class MaltsevLakatta2009:
    """The coupled-clock SAN cell; ``parameter_overrides`` are fields of
    :class:`MaltsevParameters` (floats or (n,) arrays), plus ``n_channels`` (gates per
    population per cell, used only with stochastic gating; default 1000)."""

    name = "maltsev_lakatta_2009"
    state_names = STATE_NAMES

    def __init__(self, n_channels: float = 1000, **parameter_overrides):
        if not np.all(np.asarray(n_channels) >= 1):
            raise InputError(f"maltsev_lakatta_2009: n_channels must be >= 1, got {n_channels}")
        self.n_channels = n_channels
        self.p = MaltsevParameters.with_overrides(**parameter_overrides)
        self.d = derived(self.p)

    def initial_state(self, n: int) -> np.ndarray:
        """(29, n): every cell at the CellML model's point on the basal limit cycle."""
        return np.repeat(np.asarray(LIMIT_CYCLE_STATE, float)[:, None], n, axis=1)

    def total_current(self, y) -> np.ndarray:
        """I_ion (pA/pF, (n,)) of states ``y`` (29, n)."""
        return sum(membrane_currents(y, self.p, self.d).values())

    def max_time_step(self) -> float:
        """0.1 ms: the cycle length at 0.1 ms is within 0.5 % of the converged value
        (tests/test_cardiac_maltsev.py, scripts/cardiac_pacemaker_cell.py)."""
        return 0.1

    def step(self, y, dt, i_stim=0.0, rng=None) -> None:
        """Advance states ``y`` (29, n) by ``dt`` ms in place; ``i_stim`` pA/pF (scalar or
        (n,)); ``rng`` a numpy Generator for stochastic gating, None for deterministic."""
        p, d = self.p, self.d
        i = membrane_currents(y, p, d)
        ca_current_fixed = i["CaL"] + i["CaT"] + i["bCa"]   # pA/pF, frozen over dt
        V = y[0].copy()
        y[0] -= dt * (sum(i.values()) + i_stim)
        inf, tau = gate_steady_states(V, y[IDX["Ca_sub"]], p)
        if rng is None:
            gates = y[GATE_ROWS]
            gates[...] = inf + (gates - inf) * np.exp(-dt / tau)
        else:
            y[GATE_ROWS] = binomial_gate_update(y[GATE_ROWS], inf, tau, dt,
                                                self.n_channels, rng)
        n_sub = max(1, math.ceil(dt / CA_SUBSTEP_MS - 1e-9))
        for _ in range(n_sub):
            calcium_clock_substep(y, V, ca_current_fixed, dt / n_sub, p, d)


def binomial_gate_update(x, inf, tau, dt, n_channels, rng):
    """Open fractions (14, n) after ``dt`` of gate populations of ``n_channels`` two-state
    gates each, starting from open fractions ``x`` (rounded to whole gates), steady states
    ``inf`` and time constants ``tau`` (ms), all (14, n)."""
    N = np.broadcast_to(np.asarray(n_channels, float), x.shape)
    n_open = np.rint(np.clip(x, 0.0, 1.0) * N)
    relax = -np.expm1(-dt / tau)
    stay_open = rng.binomial(n_open.astype(np.int64), 1.0 - (1.0 - inf) * relax)
    opened = rng.binomial((N - n_open).astype(np.int64), inf * relax)
    return (stay_open + opened) / N


def calcium_clock_substep(y, V, ca_current_fixed, h, p: MaltsevParameters, d) -> None:
    """One sub-step ``h`` (ms) of the Ca2+ clock of states ``y`` (29, n), in place, at
    frozen potential ``V`` (n,) and frozen non-NCX membrane Ca2+ current ``ca_current_fixed``
    (i_CaL + i_CaT + i_bCa, pA/pF, (n,)); see the module docstring for the scheme."""
    Ca_sub, Cai, Ca_jsr, Ca_nsr = (row.copy() for row in y[CA_ROWS])
    ryr = y[RYR_ROWS]
    ryr += h * ryr_derivatives(ryr, Ca_sub, Ca_jsr, p)
    O = y[IDX["O_ryr"]]
    fTC, fTMC, fTMM, fCMi, fCMs, fCQ = (row.copy() for row in y[BUFFER_ROWS])
    # buffer flux B_tot df/dt over the sub-step = a Ca' - b for each pool (1/ms, mM/ms)
    a_TC, b_TC = _buffer_linear(p.TC_tot, p.kf_TC, p.kb_TC, fTC, 1.0 - fTC, h)
    a_TMC, b_TMC = _buffer_linear(p.TMC_tot, p.kf_TMC, p.kb_TMC, fTMC, 1.0 - fTMC - fTMM, h)
    a_CMi, b_CMi = _buffer_linear(p.CM_tot, p.kf_CM, p.kb_CM, fCMi, 1.0 - fCMi, h)
    a_CMs, b_CMs = _buffer_linear(p.CM_tot, p.kf_CM, p.kb_CM, fCMs, 1.0 - fCMs, h)
    a_CQ, b_CQ = _buffer_linear(p.CQ_tot, p.kf_CQ, p.kb_CQ, fCQ, 1.0 - fCQ, h)
    # membrane loss of the subspace, linearised in Ca_sub through NCX: m0 + m1 (Ca_sub' - Ca_sub)
    to_mM = p.Cm / (2.0 * p.F * d.V_sub)
    i_NaCa = sodium_calcium_exchange(V, Ca_sub, p, d)
    dCa = 1e-6 * Ca_sub + 1e-12
    di_NaCa = (sodium_calcium_exchange(V, Ca_sub + dCa, p, d) - i_NaCa) / dCa
    m0 = (ca_current_fixed - 2.0 * i_NaCa) * to_mM
    m1 = -2.0 * di_NaCa * to_mM
    j_up = p.P_up / (1.0 + p.K_up / Cai)
    j_tr = (Ca_nsr - Ca_jsr) / p.tau_tr
    # implicit in (Ca_sub, Cai, Ca_jsr): eliminate Cai and Ca_jsr, solve for Ca_sub
    c_dif = h / p.tau_dif_Ca                 # subspace side of the diffusion
    c_i = c_dif * d.V_sub / d.V_i            # cytosol side
    c_rel_j = h * p.ks * O                   # jSR side of the release
    c_rel_s = c_rel_j * d.V_jsr / d.V_sub    # subspace side
    D_i = 1.0 + c_i + h * (a_TC + a_TMC + a_CMi)
    R_i = Cai + h * (b_TC + b_TMC + b_CMi - j_up * d.V_nsr / d.V_i)
    D_j = 1.0 + c_rel_j + h * a_CQ
    R_j = Ca_jsr + h * (j_tr + b_CQ)
    R_s = Ca_sub + h * (b_CMs - m0 + m1 * Ca_sub)
    D_s = 1.0 + c_rel_s + c_dif + h * (a_CMs + m1)
    Ca_sub_new = ((R_s + c_rel_s * R_j / D_j + c_dif * R_i / D_i)
                  / (D_s - c_rel_s * c_rel_j / D_j - c_dif * c_i / D_i))
    Cai_new = (R_i + c_i * Ca_sub_new) / D_i
    Ca_jsr_new = (R_j + c_rel_j * Ca_sub_new) / D_j
    y[IDX["Ca_sub"]] = Ca_sub_new
    y[IDX["Cai"]] = Cai_new
    y[IDX["Ca_jsr"]] = Ca_jsr_new
    y[IDX["Ca_nsr"]] = Ca_nsr + h * (j_up - j_tr * d.V_jsr / d.V_nsr)
    y[IDX["fTC"]] = _buffer_new(p.kf_TC, p.kb_TC, fTC, 1.0 - fTC, Cai_new, h)
    y[IDX["fTMC"]] = _buffer_new(p.kf_TMC, p.kb_TMC, fTMC, 1.0 - fTMC - fTMM, Cai_new, h)
    # Mg2+ binding to troponin-Mg sites, implicit in fTMM itself (kf_TMM Mgi = 5.7 / ms)
    y[IDX["fTMM"]] = (fTMM + h * p.kf_TMM * p.Mgi * (1.0 - fTMC)) / (
        1.0 + h * (p.kb_TMM + p.kf_TMM * p.Mgi))
    y[IDX["fCMi"]] = _buffer_new(p.kf_CM, p.kb_CM, fCMi, 1.0 - fCMi, Cai_new, h)
    y[IDX["fCMs"]] = _buffer_new(p.kf_CM, p.kb_CM, fCMs, 1.0 - fCMs, Ca_sub_new, h)
    y[IDX["fCQ"]] = _buffer_new(p.kf_CQ, p.kb_CQ, fCQ, 1.0 - fCQ, Ca_jsr_new, h)


def _buffer_linear(total, kf, kb, f, free, h):
    """(a, b) with total (f' - f)/h = a Ca' - b for f' = (f + h kf free Ca')/(1 + h kb)."""
    scale = total / (1.0 + h * kb)
    return scale * kf * free, scale * kb * f


def _buffer_new(kf, kb, f, free, ligand, h):
    """Occupancy after the linearly implicit sub-step, ligand (Ca2+ or Mg2+, mM) at the new
    time."""
    return (f + h * kf * free * ligand) / (1.0 + h * kb)


@dataclass(frozen=True)
class Trace:
    """Recorded time course of a run: ``t`` (m,) ms, ``V`` (m, n) mV, ``Cai`` (m, n) mM."""

    t: np.ndarray
    V: np.ndarray
    Cai: np.ndarray


def run(model: MaltsevLakatta2009, y, duration, dt, record_every=1, rng=None) -> Trace:
    """Advance ``y`` (29, n) in place through ``duration`` ms in steps ``dt`` without
    stimulus, recording V and Cai every ``record_every`` steps (the start included)."""
    n_steps = int(round(duration / dt))
    n_rec = n_steps // record_every + 1
    t = np.empty(n_rec)
    V = np.empty((n_rec, y.shape[1]))
    Cai = np.empty_like(V)
    t[0], V[0], Cai[0] = 0.0, y[0], y[IDX["Cai"]]
    for k in range(1, n_steps + 1):
        model.step(y, dt, 0.0, rng)
        if k % record_every == 0:
            r = k // record_every
            t[r], V[r], Cai[r] = k * dt, y[0], y[IDX["Cai"]]
    return Trace(t, V, Cai)


def upstroke_times(t, V, threshold=0.0):
    """Times (ms) at which ``V`` (m,) crosses ``threshold`` mV upward, linearly interpolated
    between samples ``t`` (m,)."""
    k = np.flatnonzero((V[:-1] < threshold) & (V[1:] >= threshold))
    return t[k] + (threshold - V[k]) / (V[k + 1] - V[k]) * (t[k + 1] - t[k])


def pacemaker_features(trace: Trace, cell=0, beats=3) -> dict:
    """Cycle length (ms, mean of the last ``beats`` intervals between 0 mV upstrokes), and
    over those beats the maximum diastolic potential and overshoot (mV) and the cytosolic
    Ca2+ transient's minimum and peak (µM) of column ``cell`` of ``trace``. A cell that
    fires fewer than ``beats`` + 1 times gets cycle_length = inf."""
    V, Cai = trace.V[:, cell], trace.Cai[:, cell]
    ups = upstroke_times(trace.t, V)
    if len(ups) < beats + 1:
        return {"cycle_length_ms": math.inf, "beats": len(ups)}
    window = trace.t >= ups[-beats - 1]
    return {
        "cycle_length_ms": float(np.mean(np.diff(ups[-beats - 1:]))),
        "cycle_length_spread_ms": float(np.std(np.diff(ups[-beats - 1:]))),
        "maximum_diastolic_potential_mV": float(V[window].min()),
        "overshoot_mV": float(V[window].max()),
        "Cai_diastolic_uM": float(1e3 * Cai[window].min()),
        "Cai_peak_uM": float(1e3 * Cai[window].max()),
        "beats": len(ups),
    }
