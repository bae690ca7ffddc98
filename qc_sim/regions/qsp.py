"""Quantitative systems pharmacology as a region physics (plug-in ``qsp``): linear
compartmental pharmacokinetics of one drug or two (qsp_pk) driving target binding and a
two-node pathway whose output is the effect (qsp_pd), the treatment arms of each drug alone
and of the combination advanced together, the combination scored by Bliss independence at
every step and by Bliss and Loewe over a grid of doses in the picture (qsp_synergy), and
optionally one drug's doses chosen at their dose times to meet a trough target
(qsp_dosing). Region time in hours; see docs/qsp.md.

Per-drug keys are lists with one value per drug (drug A first); per-node keys have two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qc_sim.regions import qsp_dosing as dosing
from qc_sim.regions import qsp_pd as pd
from qc_sim.regions import qsp_pk as pk
from qc_sim.regions import qsp_synergy as synergy

UNIT = "h"
LETTERS = "AB"


@dataclass(frozen=True)
class Spec:
    drugs: tuple = ("A", "B")
    route: tuple = ("oral", "oral")
    compartments: tuple = (2, 1)
    ka: tuple = (1.0, 0.5)
    bioavailability: tuple = (0.5, 0.7)
    clearance: tuple = (20.0, 5.0)
    central_volume: tuple = (100.0, 80.0)
    intercompartmental_clearance: tuple = (10.0, 0.0)
    peripheral_volume: tuple = (200.0, 1.0)
    infusion_duration: tuple = (1.0, 1.0)
    molar_mass: tuple = (500.0, 450.0)
    dose: tuple = (100.0, 200.0)
    dose_interval: tuple = (12.0, 24.0)
    dose_count: tuple = (14, 7)
    first_dose: tuple = (0.0, 0.0)
    kon: tuple = (0.01, 0.005)
    koff: tuple = (2.0, 5.0)
    complex_elimination: tuple = (0.2, 0.1)
    target_node: tuple = (1, 2)
    target_degradation: tuple = (0.2, 0.1)
    node_turnover: tuple = (0.5, 0.2)
    optimise: str = "none"
    optimised_drug: int = 1
    trough_target: float = 0.8
    max_dose: float = 1000.0
    pd_rtol: float = 1e-8
    synergy_grid: int = 7


KEY_DOCS = {
    "drugs": "names of the drugs (1 or 2), for the picture; thermo columns use A and B",
    "route": "per drug: oral (first-order absorption), iv_bolus or iv_infusion",
    "compartments": "per drug: 1 or 2 disposition compartments",
    "ka": "per drug: first-order absorption rate constant, 1/h (oral)",
    "bioavailability": "per drug: fraction F of an oral dose absorbed, (0, 1]",
    "clearance": "per drug: elimination clearance CL from the central compartment, L/h",
    "central_volume": "per drug: central volume of distribution V1, L",
    "intercompartmental_clearance": "per drug: Q between central and peripheral, L/h "
                                    "(2 compartments)",
    "peripheral_volume": "per drug: peripheral volume V2, L (2 compartments)",
    "infusion_duration": "per drug: duration of each infusion, h (iv_infusion)",
    "molar_mass": "per drug: molar mass, g/mol (mg/L to nM for binding)",
    "dose": "per drug: amount of each dose, mg (the optimised drug's: until chosen)",
    "dose_interval": "per drug: time between doses, h",
    "dose_count": "per drug: number of doses",
    "first_dose": "per drug: time of the first dose, h",
    "kon": "per drug: association rate constant to its target, 1/(nM h)",
    "koff": "per drug: dissociation rate constant, 1/h",
    "complex_elimination": "per drug: elimination rate constant kint of the drug-target "
                           "complex, 1/h",
    "target_node": "per drug: the pathway node (1 upstream, 2 downstream) whose target it binds",
    "target_degradation": "per node: degradation rate constant kdeg of its target, 1/h",
    "node_turnover": "per node: turnover rate constant kout of the node's output, 1/h",
    "optimise": "none, or choose each dose of optimised_drug at its time so the next trough "
                "meets trough_target: trough_effect (the last arm's effect) or "
                "trough_concentration (the drug's, mg/L)",
    "optimised_drug": "which drug's doses are chosen (1 or 2)",
    "trough_target": "target trough: fractional effect in (0, 1), or concentration in mg/L",
    "max_dose": "largest dose the optimisation may choose, mg",
    "pd_rtol": "relative tolerance of the PD integration (LSODA); the PK is exact",
    "synergy_grid": "dose multipliers per axis of the picture's Bliss and Loewe maps (0: none)",
}

CHOICES = {"optimise": ("none", "trough_effect", "trough_concentration")}

PER_DRUG = ("route", "compartments", "ka", "bioavailability", "clearance", "central_volume",
            "intercompartmental_clearance", "peripheral_volume", "infusion_duration",
            "molar_mass", "dose", "dose_interval", "dose_count", "first_dose", "kon", "koff",
            "complex_elimination", "target_node")
POSITIVE = ("ka", "clearance", "central_volume", "peripheral_volume", "infusion_duration",
            "molar_mass", "dose_interval", "kon", "complex_elimination")


def check(spec: Spec, case_dir) -> list:
    """The problems of a [qsp] section as (key, message), empty when it is good."""
    n = len(spec.drugs)
    if n not in (1, 2):
        return [("drugs", f"one or two drugs, got {n}")]
    values = "1 value" if n == 1 else f"{n} values"
    problems = [(key, f"needs {values} (one per drug), got {len(getattr(spec, key))}")
                for key in PER_DRUG if len(getattr(spec, key)) != n]
    problems += [(key, f"needs 2 values (one per node), got {len(getattr(spec, key))}")
                 for key in ("target_degradation", "node_turnover")
                 if len(getattr(spec, key)) != 2]
    if problems:
        return problems
    for key in POSITIVE + ("target_degradation", "node_turnover"):
        bad = [v for v in getattr(spec, key) if not v > 0]
        if bad:
            problems.append((key, f"must be positive, got {bad[0]}"))
    for key in ("dose", "koff", "intercompartmental_clearance", "first_dose"):
        bad = [v for v in getattr(spec, key) if v < 0]
        if bad:
            problems.append((key, f"must be >= 0, got {bad[0]}"))
    tests = [
        ("route", lambda v: v in pk.ROUTES, f"must be one of {', '.join(pk.ROUTES)}"),
        ("compartments", lambda v: v in (1, 2), "must be 1 or 2"),
        ("bioavailability", lambda v: 0 < v <= 1, "must lie in (0, 1]"),
        ("dose_count", lambda v: v >= 1, "must be at least 1"),
        ("target_node", lambda v: v in (1, 2), "must be 1 or 2"),
    ]
    for key, good, message in tests:
        bad = [v for v in getattr(spec, key) if not good(v)]
        if bad:
            problems.append((key, f"{message}, got {bad[0]!r}"))
    for i in range(n):
        if spec.compartments[i] == 2 and not spec.intercompartmental_clearance[i] > 0:
            problems.append(("intercompartmental_clearance",
                             f"drug {i + 1} has 2 compartments: Q must be positive"))
    if spec.optimise != "none":
        if spec.optimised_drug not in range(1, n + 1):
            problems.append(("optimised_drug", f"must be 1..{n}, got {spec.optimised_drug}"))
        if spec.optimise == "trough_effect" and not 0 < spec.trough_target < 1:
            problems.append(("trough_target", "an effect target lies in (0, 1), got "
                             f"{spec.trough_target}"))
        if not spec.trough_target > 0:
            problems.append(("trough_target", f"must be positive, got {spec.trough_target}"))
        if not spec.max_dose > 0:
            problems.append(("max_dose", f"must be positive, got {spec.max_dose}"))
    if not 1e-13 <= spec.pd_rtol <= 1e-3:
        problems.append(("pd_rtol", f"must lie in [1e-13, 1e-3], got {spec.pd_rtol}"))
    if spec.synergy_grid != 0 and not 3 <= spec.synergy_grid <= 15:
        problems.append(("synergy_grid", f"0 or 3..15, got {spec.synergy_grid}"))
    return problems


def model_of(spec: Spec) -> pd.Model:
    """The PK-PD model of a checked spec, arms: each drug alone, then the combination."""
    n = len(spec.drugs)
    drugs = tuple(pk.Compartments(
        ka=spec.ka[i], bioavailability=spec.bioavailability[i] if spec.route[i] == "oral"
        else 1.0, clearance=spec.clearance[i], central_volume=spec.central_volume[i],
        intercompartmental_clearance=(spec.intercompartmental_clearance[i]
                                      if spec.compartments[i] == 2 else 0.0),
        peripheral_volume=spec.peripheral_volume[i], route=spec.route[i],
        infusion_duration=spec.infusion_duration[i]) for i in range(n))
    schedules = tuple(pk.Schedule.regular(spec.dose[i], spec.dose_interval[i],
                                          spec.dose_count[i], spec.first_dose[i])
                      for i in range(n))
    array = np.asarray
    pathway = pd.Pathway(kon=array(spec.kon, float), koff=array(spec.koff, float),
                         kint=array(spec.complex_elimination, float),
                         target=array(spec.target_node) - 1,
                         molar_mass=array(spec.molar_mass, float),
                         kdeg=array(spec.target_degradation, float),
                         kout=array(spec.node_turnover, float))
    arms = np.eye(1) if n == 1 else np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    return pd.Model(drugs, schedules, pathway, arms)


class QspRegion:
    """The PK-PD state of every arm at one time (h); see the module."""

    physics = "qsp"

    def __init__(self, spec: Spec):
        self.spec = spec
        self.model = model_of(spec)
        self.amounts, self.state = pd.initial_state(self.model)
        self.time = 0.0

    # ---- stepping ----------------------------------------------------------------------
    def advance(self, dt: float) -> None:
        t0, t1 = self.time, self.time + dt
        if self.spec.optimise != "none":
            drug = self.spec.optimised_drug - 1
            for index in dosing.doses_in(self.model.schedules[drug], t0, t1):
                t_dose = float(self.model.schedules[drug].times[index])
                self._advance_to(t0, t_dose)
                self._choose_dose(drug, index)
                t0 = t_dose
        self._advance_to(t0, t1)
        self.time = t1

    def _advance_to(self, t0, t1):
        if t1 > t0:
            self.amounts, self.state, _ = pd.advance(self.model, self.amounts, self.state,
                                                     t0, t1, rtol=self.spec.pd_rtol)

    def _choose_dose(self, drug, index):
        """Set the ``index``-th dose of ``drug`` (whose time the state has reached) to the
        one whose forecast trough meets the target (qsp_dosing)."""
        schedule = self.model.schedules[drug]
        t_next = dosing.next_dose_time(schedule, index, self.spec.dose_interval[drug])
        if self.spec.optimise == "trough_effect":
            last = self.model.with_arms(self.model.arms[-1:])  # the treated arm only
            trough = dosing.effect_forecast(last, self.amounts, self.state[-1:], drug, index,
                                            t_next, self.spec.pd_rtol)
        else:
            trough = dosing.concentration_forecast(self.model, self.amounts, drug, index,
                                                   t_next)
        amounts = schedule.amounts.copy()
        amounts[index] = dosing.dose_to_meet(trough, self.spec.trough_target,
                                             self.spec.max_dose)
        self._set_doses(drug, amounts)

    def _set_doses(self, drug, amounts):
        schedules = list(self.model.schedules)
        schedules[drug] = pk.Schedule(schedules[drug].times, np.asarray(amounts, float))
        self.model = self.model.with_schedules(schedules)

    def stable_time_step(self) -> float:
        return math.inf

    # ---- interface ---------------------------------------------------------------------
    def exports(self) -> dict:
        return {"concentration": self.model.concentration(self.amounts),
                "effect": pd.effect(self.model.pathway, self.state)}

    def imports(self, fields: dict) -> None:
        pass

    def state_fields(self) -> dict:
        fields = {"time": np.array([self.time]), "pk_amounts": self.amounts.copy(),
                  "pd_state": self.state.copy()}
        for i, s in enumerate(self.model.schedules):
            fields[f"doses_{LETTERS[i]}"] = s.amounts.copy()
        return fields

    def load_state_fields(self, fields: dict) -> None:
        self.time = float(fields["time"][0])
        self.amounts = np.array(fields["pk_amounts"], float)
        self.state = np.array(fields["pd_state"], float)
        for i in range(len(self.model.schedules)):
            self._set_doses(i, fields[f"doses_{LETTERS[i]}"])

    def entity_costs(self):
        return np.ones(1)

    def entity_positions(self):
        return np.zeros((1, 3))

    def thermo(self) -> dict:
        pathway = self.model.pathway
        conc = self.model.concentration(self.amounts)
        effect = pd.effect(pathway, self.state)
        bound = pd.occupancy(pathway, self.state)[-1]  # in the last arm (the combination)
        values = {"time": self.time}
        for i in range(len(conc)):
            values[f"concentration_{LETTERS[i]}"] = float(conc[i])
            values[f"occupancy_{LETTERS[i]}"] = float(bound[i])
        if len(conc) == 1:
            values["effect_A"] = float(effect[0])
            return values
        values.update(effect_A=float(effect[0]), effect_B=float(effect[1]),
                      effect_AB=float(effect[2]),
                      bliss_excess=float(synergy.bliss_excess(effect[2], effect[0], effect[1])))
        return values

    def picture(self, folder) -> Path:
        from qc_sim.regions.qsp_picture import draw

        return draw(self, Path(folder))


def build(spec: Spec, case_dir=None, backend=None) -> QspRegion:
    return QspRegion(spec)
