"""Pharmacodynamics driven by the pharmacokinetics: target binding with target turnover and
a two-node signalling cascade read out as the effect, for several treatment arms at once,
and the coupled step that advances PK (exactly) and PD (solve_ivp) together.

Target binding (the receptor part of target-mediated models, Mager & Jusko, J. Pharmacokinet.
Pharmacodyn. 28, 507 (2001)), in fractions of the baseline target R0 = ksyn/kdeg, with the
drug's plasma concentration not depleted by binding (target amount << drug amount):

    dr_j/dt = kdeg_j (1 - r_j) - sum_{i -> j} (kon_i C_i r_j - koff_i c_i)
    dc_i/dt = kon_i C_i r_j - (koff_i + kint_i) c_i            (drug i binds target j)

r_j: free target j / R0_j, c_i: drug-i complex / R0_j, C_i in nM, kon in 1/(nM h). Drugs on
one target compete for it. Each node of the cascade is an indirect response with production
inhibited (Dayneka, Garg & Jusko, J. Pharmacokinet. Biopharm. 21, 457 (1993), model I), its
inhibition being the loss of free target; node 2 is produced from node 1:

    dP_1/dt = kout_1 (r_1 - P_1),     dP_2/dt = kout_2 (r_2 P_1 - P_2)

baseline P = 1, effect E = 1 - P_2 (fractional inhibition of the pathway output), and the
area under the effect curve dAUEC/dt = E. At constant concentrations the steady state is
r_j = 1 / (1 + sum_{i -> j} C_i / EC50_i), EC50_i = kdeg_j (koff_i + kint_i) / (kon_i kint_i),
and E = 1 - r_1 r_2: drugs on the two nodes combine by Bliss independence, drugs on one node
by Loewe additivity (tests/test_qsp.py checks both).

An arm is a treatment: the multiplier of each drug's dosing schedule, ``(n_arms, n_drugs)``
(PK is linear, so an arm's concentrations are the multipliers times the schedule's).
PD state of an arm, ``(4 + n_drugs + 1,)``: r_1, r_2, c_1..c_n, P_1, P_2, AUEC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse import bmat, bsr_matrix, csr_matrix

from qc_sim.regions import qsp_pk as pk

RTOL = 1e-8  # PD relative tolerance (the PK is exact)
ATOL = 1e-10  # absolute, on fractions of target and node (PK amounts: times the largest dose)


@dataclass(frozen=True)
class Pathway:
    """Binding per drug (kon 1/(nM h), koff 1/h, kint 1/h of the complex, the node its target
    drives 0 or 1, molar mass g/mol) and turnover per node (kdeg of the target, kout of the
    node, 1/h); arrays ``(n_drugs,)`` and ``(2,)``."""

    kon: np.ndarray
    koff: np.ndarray
    kint: np.ndarray
    target: np.ndarray
    molar_mass: np.ndarray
    kdeg: np.ndarray
    kout: np.ndarray
    onto: np.ndarray = field(init=False, repr=False)  # drug -> node one-hot, (n_drugs, 2)

    def __post_init__(self):
        object.__setattr__(self, "target", np.asarray(self.target, dtype=int))
        object.__setattr__(self, "onto", np.eye(2)[self.target])

    @property
    def n_drugs(self) -> int:
        return len(self.kon)

    def ec50(self) -> np.ndarray:
        """Steady-state concentration (nM) of half loss of free target, ``(n_drugs,)``."""
        return (self.kdeg[self.target] * (self.koff + self.kint)) / (self.kon * self.kint)


def baseline(pathway: Pathway, n_arms: int) -> np.ndarray:
    """The untreated PD state of every arm, ``(n_arms, n_drugs + 5)``."""
    n = pathway.n_drugs
    state = np.zeros((n_arms, n + 5))
    state[:, 0:2] = 1.0
    state[:, 2 + n:4 + n] = 1.0
    return state


def pd_rate(pathway: Pathway, conc_nM, state):
    """d(state)/dt, ``(n_arms, n_drugs + 5)``, for concentrations ``conc_nM`` of each drug in
    each arm, ``(n_arms, n_drugs)`` nM."""
    n = pathway.n_drugs
    r, c, P = state[:, 0:2], state[:, 2:2 + n], state[:, 2 + n:4 + n]
    binding = pathway.kon * conc_nM * (r @ pathway.onto.T) - pathway.koff * c
    node_drive = r.copy()
    node_drive[:, 1] *= P[:, 0]  # node 2 is made from node 1
    rate = np.empty_like(state)
    rate[:, 0:2] = pathway.kdeg * (1.0 - r) - binding @ pathway.onto
    rate[:, 2:2 + n] = binding - pathway.kint * c
    rate[:, 2 + n:4 + n] = pathway.kout * (node_drive - P)
    rate[:, 4 + n] = 1.0 - P[:, 1]
    return rate


def pd_jacobian(pathway: Pathway, conc_nM, state):
    """(d rate / d state of each arm ``(n_arms, m, m)``, d rate / d concentration
    ``(n_arms, m, n_drugs)`` per nM), m = n_drugs + 5, of :func:`pd_rate`."""
    n, onto = pathway.n_drugs, pathway.onto
    n_arms, m = state.shape
    r, P = state[:, 0:2], state[:, 2 + n:4 + n]
    kon_c = pathway.kon * conc_nM  # d binding_i / d r_target(i), (n_arms, n)
    J = np.zeros((n_arms, m, m))
    d_binding_dr = kon_c[:, :, None] * onto  # (n_arms, n, 2)
    J[:, 0:2, 0:2] = -np.diag(pathway.kdeg) - np.einsum("ij,aik->ajk", onto, d_binding_dr)
    J[:, 0:2, 2:2 + n] = (pathway.koff[:, None] * onto).T
    J[:, 2:2 + n, 0:2] = d_binding_dr
    J[:, 2:2 + n, 2:2 + n] = -np.diag(pathway.koff + pathway.kint)
    J[:, 2 + n, 0] = pathway.kout[0]
    J[:, 2 + n, 2 + n] = -pathway.kout[0]
    J[:, 3 + n, 1] = pathway.kout[1] * P[:, 0]
    J[:, 3 + n, 2 + n] = pathway.kout[1] * r[:, 1]
    J[:, 3 + n, 3 + n] = -pathway.kout[1]
    J[:, 4 + n, 3 + n] = -1.0
    d_binding_dc = pathway.kon * (r @ onto.T)  # (n_arms, n): d binding_i / d C_i
    dC = np.zeros((n_arms, m, n))
    dC[:, 0:2, :] = -(d_binding_dc[:, :, None] * onto).transpose(0, 2, 1)
    dC[:, 2:2 + n, :] = d_binding_dc[:, :, None] * np.eye(n)
    return J, dC


def effect(pathway: Pathway, state) -> np.ndarray:
    """E = 1 - P_2 of every arm, ``(n_arms,)``."""
    return 1.0 - state[:, 3 + pathway.n_drugs]


def occupancy(pathway: Pathway, state) -> np.ndarray:
    """Fraction of each drug's target bound by that drug, ``(n_arms, n_drugs)``."""
    n = pathway.n_drugs
    r, c = state[:, 0:2], state[:, 2:2 + n]
    total = r + c @ pathway.onto
    return c / total[:, pathway.target]


@dataclass(frozen=True)
class Model:
    """Drugs (PK), their schedules, the pathway (PD) and the arms, ``(n_arms, n_drugs)``."""

    drugs: tuple
    schedules: tuple
    pathway: Pathway
    arms: np.ndarray
    K: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "K", pk.block_rate_matrix(self.drugs))

    def with_schedules(self, schedules) -> Model:
        return Model(self.drugs, tuple(schedules), self.pathway, self.arms)

    def with_arms(self, arms) -> Model:
        return Model(self.drugs, self.schedules, self.pathway, np.asarray(arms, float))

    def concentration(self, amounts) -> np.ndarray:
        """Central concentrations (mg/L) from PK amounts ``(3 n,)``, ``(n,)``."""
        return amounts[1::3] / np.array([d.central_volume for d in self.drugs])

    def conc_nM(self, amounts) -> np.ndarray:
        """Central concentrations in nM: mg/L / (g/mol) * 1e6, ``(n,)``."""
        return self.concentration(amounts) / self.pathway.molar_mass * 1e6


def initial_state(model: Model):
    """(PK amounts ``(3 n,)``, PD ``(n_arms, n + 5)``) before any dose."""
    return np.zeros(3 * len(model.drugs)), baseline(model.pathway, len(model.arms))


def _coupled_rate(model, rate_in, n_pk, shape):
    def rate(t, y):
        amounts = y[:n_pk]
        state = y[n_pk:].reshape(shape)
        out = np.empty_like(y)
        out[:n_pk] = model.K @ amounts + rate_in
        out[n_pk:] = pd_rate(model.pathway, model.arms * model.conc_nM(amounts), state).ravel()
        return out
    return rate


def _coupled_jacobian(model, n_pk, shape):
    """The sparse Jacobian of :func:`_coupled_rate`: the PK block, each arm's own block,
    and the arms' dependence on the central amounts."""
    n_arms, m = shape
    n = len(model.drugs)
    per_mg = 1e6 / (np.array([d.central_volume for d in model.drugs]) * model.pathway.molar_mass)
    central = 3 * np.arange(n) + 1
    block_index = np.arange(n_arms)

    def jac(t, y):
        amounts, state = y[:n_pk], y[n_pk:].reshape(shape)
        J, dC = pd_jacobian(model.pathway, model.arms * model.conc_nM(amounts), state)
        arms_block = bsr_matrix((J, block_index, np.arange(n_arms + 1)),
                                shape=(n_arms * m, n_arms * m))
        to_pk = np.zeros((n_arms * m, n_pk))
        to_pk[:, central] = (dC * (model.arms * per_mg)[:, None, :]).reshape(n_arms * m, n)
        return bmat([[csr_matrix(model.K), None], [csr_matrix(to_pk), arms_block]],
                    format="csc")
    return jac


def advance(model: Model, amounts, state, t0, t1, rtol=RTOL, atol=ATOL, samples=None,
            method="LSODA"):
    """PK and PD from t0 to t1 (h): (amounts ``(3 n,)`` mg, state ``(n_arms, n + 5)``,
    amounts_ode). Doses due in [t0, t1) are given at their times; a state at time t is the
    one before any dose due at t (a pre-dose sample). Over each piece of constant input the
    PK is stepped exactly (matrix exponential) and the PD integrated by LSODA (solve_ivp;
    ``method`` "BDF" with the sparse Jacobian for many arms) together with a copy of the PK,
    which drives it and whose end value is returned as ``amounts_ode`` (what the PD saw; the
    exact amounts are carried on). Deterministic: the same state and interval give the same
    bits, so restarts continue bitwise.

    ``samples``: a list to which (t, amounts_ode, state) is appended at each time of the
    solver's steps (for curves; the end state does not depend on it)."""
    amounts, state = np.array(amounts, float), np.array(state, float)
    amounts_ode = amounts.copy()
    n_pk, shape = len(amounts), state.shape
    largest = max((float(np.max(s.amounts, initial=0.0)) for s in model.schedules), default=1.0)
    scale = np.concatenate([np.full(n_pk, max(1.0, largest)), np.ones(state.size)])
    jac = _coupled_jacobian(model, n_pk, shape)
    if method == "LSODA":
        sparse_jac, jac = jac, lambda t, y: sparse_jac(t, y).toarray()
    points = pk.breakpoints(model.drugs, model.schedules, t0, t1)
    for a, b in zip(points[:-1], points[1:]):
        amounts = amounts + pk.bolus_increment(model.drugs, pk.doses_at(model.schedules, a))
        rate_in = pk.infusion_rate(model.drugs, model.schedules, a, b)
        y0 = np.concatenate([amounts, state.ravel()])
        sol = solve_ivp(_coupled_rate(model, rate_in, n_pk, shape), (a, b), y0, method=method,
                        rtol=rtol, atol=atol * scale, jac=jac)
        if not sol.success:
            raise RuntimeError(f"PD integration failed at t = {a} h: {sol.message}")
        if samples is not None:
            samples.extend((t, y[:n_pk], y[n_pk:].reshape(shape)) for t, y in zip(sol.t, sol.y.T))
        amounts_ode = sol.y[:n_pk, -1]
        state = sol.y[n_pk:, -1].reshape(shape)
        amounts = pk.exact_step(model.K, amounts, rate_in, b - a)
    return amounts, state, amounts_ode


def history(model: Model, t_end):
    """The course from an untreated start to ``t_end`` (h) at the solver's steps: times
    ``(m,)``, PK amounts ``(m, 3 n)`` (the integrated copy), PD states ``(m, n_arms, n + 5)``."""
    amounts, state = initial_state(model)
    samples = []
    advance(model, amounts, state, 0.0, t_end, samples=samples)
    times = np.array([t for t, _, _ in samples])
    return (times, np.array([a for _, a, _ in samples]), np.array([s for _, _, s in samples]))
