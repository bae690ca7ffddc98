"""``qc-sim run`` of a case with a [crack] section: the coupled crack model, the Griffith and
Rice predictions of its potential (the same stages as ``qc-sim properties``), then K raised
step by step until the atoms cleave or emit; one line per step and the verdict, and the
relaxed atoms and nodes of each step as a frame of the case's H5MD and GSD trajectories."""

from __future__ import annotations

import sys
import time

import numpy as np


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


def crack_model(case, potential, device, comm, elastic=None):
    """The case's :class:`~qc_sim.coupling.crack.Crack`; ``elastic`` (C11, C12, C44) GPa
    for its K field, by default those of the potential at the case's lattice constant."""
    from qc_sim.cases.checks import check_crack_room
    from qc_sim.coupling.crack import build_crack
    from qc_sim.errors import InputError
    from qc_sim.geometry import lattice as lattices
    from qc_sim.properties.bulk import cubic_elastic_constants

    lat, c = case.lattice, case.coupling
    check_crack_room(case, potential.cutoff)
    if elastic is None:
        elastic = cubic_elastic_constants(potential, lat.species[0], lat.kind, lat.a, device)
    cubic = {"fcc": lattices.fcc, "bcc": lattices.bcc, "sc": lattices.simple_cubic}[lat.kind]
    try:
        return build_crack(cubic(lat.a), lat.orientation, lat.repeats, potential,
                           lat.species[0], elastic, c.core_radius * lat.a, c.width * lat.a,
                           method=c.method, rate=c.rate, device=device, comm=comm)
    except ValueError as exc:
        raise InputError(f"{case.path}: [coupling] {exc}") from None


def run_crack(case, backend=None, out=sys.stdout, comm=None) -> int:
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.cli.run import rank_out
    from qc_sim.continuum.crack_field import MPA_SQRT_M, J_PER_M2
    from qc_sim.coupling.crack import load_crack

    ranks = 1 if comm is None else comm.Get_size()
    out = rank_out(out, comm)
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
    print(f"qc-sim run {case.path}: mode-I crack in {lat.kind} {element}, x y z = "
          f"{orientation}, coupled {c.method}, {g.mesh.n_nodes} nodes, {len(g.atom_sites)} "
          f"atoms, core radius {c.core_radius * lat.a:.3g} Å, {device.describe()}"
          + (f", on {ranks} MPI ranks (imbalance {crack.imbalance:.3f})" if ranks > 1 else ""),
          file=out)
    worst = max(r["max_ghost_force"] for r in crack.patch_results)
    print(f"patch test (uncut twin): largest ghost force {worst:.3e} eV/Å over 5 "
          "deformations", file=out)
    print(f"potential: a0 {law['a0']:.5f} Å, C11 C12 C44 {law['elastic'][0]:.1f} "
          f"{law['elastic'][1]:.1f} {law['elastic'][2]:.1f} GPa, gamma_s(001) "
          f"{law['surface_energy_100']:.1f} mJ/m^2, gamma_us {law['gamma_us']:.1f} mJ/m^2; "
          f"K field G = {field.g_per_k2 * MPA_SQRT_M**2 * J_PER_M2:.4g} K^2 J/m^2", file=out)
    print(f"Griffith (cleavage): G_c = 2 gamma_s = {law['griffith_G_c']:.4g} J/m^2, K_G = "
          f"{k_griffith:.4f} MPa m^0.5", file=out)
    print(f"Rice (emission on {law['slip_system']}, theta {law['theta_deg']:.1f} deg): G_e = "
          f"{law['rice_G_e']:.4g} J/m^2, K_e = {k_rice:.4f} MPa m^0.5: predicted "
          f"{law['tendency']}; with the leading partial at phi = 60 deg instead (G_e / "
          f"cos^2 phi): K_e = {2 * k_rice:.4f} MPa m^0.5", file=out)
    print(f"{'K MPa m^0.5':>12} {'G J/m^2':>10} {'advance Å':>10} {'faulted':>8} "
          f"{'steps':>7}  atoms", file=out, flush=True)
    n = int(np.floor((k.k_end - k.k_start) / k.k_step + 1e-9)) + 1
    ks = k.k_start + k.k_step * np.arange(n)

    from qc_sim.cli.particles import CoupledTrajectory

    particles = CoupledTrajectory(case, crack.runner, crack.model)

    def report(step):
        print(f"{step.K:>12.4f} {step.G:>10.4f} {step.advance:>10.3f} {step.faulted:>8d} "
              f"{step.steps:>7d}  {step.event}"
              + ("" if step.converged else " (not converged)"), file=out, flush=True)
        particles.append(len(reported), K=step.K, G=step.G)  # the relaxed state at this K
        reported.append(step)

    reported = []
    with particles:
        steps = load_crack(crack, ks, fmax=c.fmax, on_step=report)
    last = steps[-1]
    if last.event == "none":
        print(f"verdict: neither cleavage nor emission up to K = {last.K:.4f} MPa m^0.5 "
              f"(Griffith {k_griffith:.4f}, Rice {k_rice:.4f})", file=out)
    else:
        print(f"verdict: {last.event} at K = {last.K:.4f} MPa m^0.5 (G = {last.G:.4g} J/m^2, "
              f"{last.K / k_griffith:.3f} K_G); Griffith predicts cleavage at K_G = "
              f"{k_griffith:.4f}, Rice emission at K_e = {k_rice:.4f} MPa m^0.5", file=out)
    print(f"run time {time.perf_counter() - start:.1f} s", file=out)
    return 0
