"""A case with a [crack] section: the coupled crack model, the Griffith and Rice predictions of its potential (the same stages as ``qc-sim properties``), then K raised
step by step until the atoms cleave or emit; one line per step and the verdict, and the
relaxed atoms and nodes of each step as a frame of the case's H5MD and GSD trajectories."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from qc_sim.simulation.control import RunResult, rank_log
from qc_sim.simulation.models import crack_model


def predictions(potential, element, kind, device) -> dict:
    """The potential's own lattice constant, cubic elastic constants (GPa), (001) surface
    energy and unstable stacking fault energy (mJ/m^2), and the Griffith and Rice energy
    release rates of ``qc-sim properties`` (J/m^2)."""
    from qc_sim.properties.bulk import bulk_properties
    from qc_sim.properties.defects import (stacking_fault_curve, stacking_fault_energies,
                                           surface_energy)
    from qc_sim.properties.report import Properties

    bulk = bulk_properties(potential, element, kind, device)
    a0 = bulk.lattice_constant
    values = {"surface_energy_100": surface_energy(potential, element, kind, a0,
                                                   bulk.cohesive_energy, "100", device)}
    values["gamma_us"], _ = stacking_fault_energies(
        *stacking_fault_curve(potential, element, a0, device, kind), kind=kind)
    bridging = Properties(element, kind, values).bridging()
    return {"a0": a0, "elastic": (bulk.C11, bulk.C12, bulk.C44), **values, **bridging}


@dataclass
class CrackResult(RunResult):
    """The K ramp: the predictions of the potential (``law``: a0, elastic constants,
    surface and unstable stacking fault energies, Griffith and Rice), their K (MPa m^0.5),
    the relaxed steps (:class:`~qc_sim.coupling.crack.CrackStep`: K, G, advance, faulted
    atoms, event) and the verdict (the last step's event: none, cleavage or emission)."""

    law: dict | None = None
    k_griffith: float = float("nan")
    k_rice: float = float("nan")
    ramp: list | None = None
    crack: object = None

    @property
    def verdict(self) -> str:
        return self.ramp[-1].event if self.ramp else "none"


def run_crack(case, backend=None, comm=None, log=None) -> CrackResult:
    """Build the case's crack, then raise K from k_start by k_step until the atoms cleave or
    emit (or k_end), relaxing at each K; one log line per K and the verdict."""
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.continuum.crack_field import MPA_SQRT_M, J_PER_M2
    from qc_sim.coupling.crack import load_crack

    ranks = 1 if comm is None else comm.Get_size()
    log = rank_log(log, comm)
    lat, c, k = case.lattice, case.coupling, case.crack
    device = get_device(backend or case.run.backend)
    potential = build_potential(case)
    element = lat.species[0]
    start = time.perf_counter()
    law = predictions(potential, element, lat.kind, device)
    crack = crack_model(case, potential, device, comm, law["elastic"])
    g = crack.model.geometry
    field = crack.field
    k_griffith = field.stress_intensity(law["griffith_G_c"] / J_PER_M2) / MPA_SQRT_M
    k_rice = field.stress_intensity(law["rice_G_e"] / J_PER_M2) / MPA_SQRT_M
    orientation = " ".join("[" + "".join(str(v) for v in row) + "]" for row in lat.orientation)
    log(f"qc-sim run {case.path}: mode-I crack in {lat.kind} {element}, x y z = "
          f"{orientation}, coupled {c.method}, {g.mesh.n_nodes} nodes, {len(g.atom_sites)} "
          f"atoms, core radius {c.core_radius * lat.a:.3g} Å, {device.describe()}"
          + (f", on {ranks} MPI ranks (imbalance {crack.imbalance:.3f})" if ranks > 1 else ""))
    worst = max(r["max_ghost_force"] for r in crack.patch_results)
    log(f"patch test (uncut twin): largest ghost force {worst:.3e} eV/Å over 5 "
          "deformations")
    log(f"potential: a0 {law['a0']:.5f} Å, C11 C12 C44 {law['elastic'][0]:.1f} "
          f"{law['elastic'][1]:.1f} {law['elastic'][2]:.1f} GPa, gamma_s(001) "
          f"{law['surface_energy_100']:.1f} mJ/m^2, gamma_us {law['gamma_us']:.1f} mJ/m^2; "
          f"K field G = {field.g_per_k2 * MPA_SQRT_M**2 * J_PER_M2:.4g} K^2 J/m^2")
    log(f"Griffith (cleavage): G_c = 2 gamma_s = {law['griffith_G_c']:.4g} J/m^2, K_G = "
          f"{k_griffith:.4f} MPa m^0.5")
    log(f"Rice (emission on {law['slip_system']}, theta {law['theta_deg']:.1f} deg): G_e = "
          f"{law['rice_G_e']:.4g} J/m^2, K_e = {k_rice:.4f} MPa m^0.5: predicted "
          f"{law['tendency']}; with the leading partial at phi = 60 deg instead (G_e / "
          f"cos^2 phi): K_e = {2 * k_rice:.4f} MPa m^0.5")
    log(f"{'K MPa m^0.5':>12} {'G J/m^2':>10} {'advance Å':>10} {'faulted':>8} "
          f"{'steps':>7}  atoms")
    n = int(np.floor((k.k_end - k.k_start) / k.k_step + 1e-9)) + 1
    ks = k.k_start + k.k_step * np.arange(n)

    from qc_sim.simulation.particles import CoupledTrajectory

    particles = CoupledTrajectory(case, crack.runner, crack.model)

    def report(step):
        log(f"{step.K:>12.4f} {step.G:>10.4f} {step.advance:>10.3f} {step.faulted:>8d} "
              f"{step.steps:>7d}  {step.event}"
              + ("" if step.converged else " (not converged)"))
        particles.append(len(reported), K=step.K, G=step.G)  # the relaxed state at this K
        reported.append(step)

    reported = []
    with particles:
        steps = load_crack(crack, ks, fmax=c.fmax, on_step=report)
    last = steps[-1]
    if last.event == "none":
        log(f"verdict: neither cleavage nor emission up to K = {last.K:.4f} MPa m^0.5 "
              f"(Griffith {k_griffith:.4f}, Rice {k_rice:.4f})")
    else:
        log(f"verdict: {last.event} at K = {last.K:.4f} MPa m^0.5 (G = {last.G:.4g} J/m^2, "
              f"{last.K / k_griffith:.3f} K_G); Griffith predicts cleavage at K_G = "
              f"{k_griffith:.4f}, Rice emission at K_e = {k_rice:.4f} MPa m^0.5")
    wall = time.perf_counter() - start
    log(f"run time {wall:.1f} s")
    return CrackResult(steps=len(steps), wall_s=wall, law=law, k_griffith=float(k_griffith),
                       k_rice=float(k_rice), ramp=steps, crack=crack,
                       figures={"verdict": last.event, "K_last": last.K})
