"""The static solve of a coupled model: the relaxation that reports the energy and a
defect's energy (a vacancy's formation energy, a dipole's energy), and writes the relaxed
state to the case's mesh and particle files."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from qc_sim.simulation.control import RunResult, quiet
from qc_sim.simulation.models import frame_fields


@dataclass
class StaticsResult(RunResult):
    """A coupled relaxation: the solver's result, the energy (eV) and, for a vacancy or a
    dipole, the defect's energy (eV); the relaxed model (``model.y``, node positions)."""

    model: object = None
    solve: object = None
    energy: float = float("nan")
    defect_energy: float | None = None
    defect: str = "none"


def relax_coupled(case, model, serial=None, defect=None, comm=None, log=None) -> StaticsResult:
    """Relax ``model`` (serially by :func:`qc_sim.coupling.statics.relax`: preconditioned
    L-BFGS, or the preconditioned Anderson fixed point for bqcf; on ranks, or with
    ``precondition = false``, L-BFGS or FIRE) and report its energy and a vacancy's
    formation energy (against the defect-free twin of the same zones) or a dipole's energy
    (against the uncut twin). ``serial`` is ``model`` itself, or the whole model of which
    ``model`` is this rank's share; ``defect`` what :func:`~qc_sim.simulation.models.coupled_model` returned with it.
    Writes the relaxed frame to the case's mesh and particle files."""
    from qc_sim.coupling.dipoles import Dipole, dipole_energy
    from qc_sim.solvers import fire, lbfgs

    log = log or quiet
    serial = model if serial is None else serial
    start = time.perf_counter()
    solve = fire if serial.method == "bqcf" else lbfgs

    def on_step(k, e, f):
        if k % 50 == 0:
            log(f"{k:>8d} {e:>20.8f} {f:>12.3e}")

    if comm is None and case.coupling.precondition:
        from qc_sim.coupling.statics import relax

        result = relax(model, fmax=case.coupling.fmax, on_step=on_step).result
        if serial.taylor_strain is not None:
            t = serial.taylor_error()
            log(f"Taylor far field: {t['taylor_elements']} elements (largest strain "
                f"{t['max_strain']:.2e}), energy {t['energy_error']:+.2e} eV against the "
                "full Cauchy-Born sum")
    else:
        result = solve(model, fmax=case.coupling.fmax, max_steps=20_000, on_step=on_step)
    log(result.message)
    if not result.converged and solve is lbfgs:
        # SciPy's line search stops at the round-off of a large total energy (ABNORMAL)
        # before the forces are small: FIRE, which needs forces only, goes on from there
        result = fire(model, fmax=case.coupling.fmax, max_steps=100_000, on_step=on_step)
        log(result.message)
    out = StaticsResult(model=model, solve=result, energy=float(result.energy),
                        steps=int(getattr(result, "steps", 0) or 0),
                        defect=case.coupling.defect)
    if isinstance(defect, Dipole):  # the dipole: its energy against the uncut twin
        energy = result.energy if comm is None else model.evaluate(model.y)[0]
        e = out.defect_energy = float(dipole_energy(defect, energy))
        if case.coupling.defect == "lomer_dipole":
            log(f"Lomer dipole energy {e:.6f} eV ({e / defect.line_length:.6f} eV/Å of line, "
                f"{defect.removed} sites removed, line {defect.line_length:.4g} Å)")
        else:
            log(f"edge dipole energy {e:.6f} eV ({defect.removed} sites removed; cores at "
                f"{np.round(defect.dipole.cores, 3).tolist()} Å)")
    elif defect is not None:
        out.defect_energy = vacancy_formation_energy(case, model, serial, result, comm)
        log(f"vacancy formation energy {out.defect_energy:.6f} eV")
    out.wall_s = time.perf_counter() - start
    log(f"solve time {out.wall_s:.2f} s")
    if case.output.mesh:
        from qc_sim.io.xdmf import write_xdmf

        fields = frame_fields(model, serial, comm)
        if fields is not None:
            write_xdmf(case.output.mesh, serial.geometry.mesh, [(0.0,) + fields])
    from qc_sim.simulation.particles import CoupledTrajectory

    with CoupledTrajectory(case, model, serial) as trajectory:  # the relaxed state, step 0
        trajectory.append(0)
    result.check()
    return out


def vacancy_formation_energy(case, model, serial, result, comm=None) -> float:
    """The vacancy's formation energy (eV) of a relaxed case's model, against the
    defect-free twin relaxed as the model was
    (:func:`qc_sim.simulation.vacancy.vacancy_formation_energy`); on ranks the twin is split
    over them too (its energy the blended one for bqcf)."""
    from qc_sim.simulation.vacancy import formation_energy, vacancy_formation_energy

    if comm is None:
        return vacancy_formation_energy(serial, result.energy, case.coupling.fmax,
                                        case.coupling.precondition)
    from qc_sim.coupling.domain import DomainCoupledModel
    from qc_sim.solvers import fire, lbfgs

    twin = DomainCoupledModel(comm, serial.twin, model.costs, case.potential.skin)
    e_vacancy = model.evaluate(model.y)[0]
    if serial.method != "bgfc":
        (fire if serial.method == "bqcf" else lbfgs)(twin, fmax=case.coupling.fmax,
                                                     max_steps=20_000)
    return formation_energy(serial, e_vacancy, twin.evaluate(twin.y)[0])
