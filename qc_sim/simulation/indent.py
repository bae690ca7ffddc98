"""A case with an [indent] section: the coupled slab with its free (001)
surface, the spherical indenter lowered depth by depth, the load-depth table beside Hertz's
law of the potential's own elastic constants, and the first load drop (pop-in)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from qc_sim.simulation.control import RunResult, rank_log
from qc_sim.simulation.models import indent_model

INDENT_COLUMNS = ("depth_A", "load_eV_per_A", "load_nN", "hertz_nN", "contact_atoms",
                  "faulted_atoms", "energy_eV", "steps", "converged")


def hertz_moduli(potential, case, device) -> dict:
    """C11, C12, C44 (GPa) of the potential at the case's lattice constant, their Hill
    average E and nu, and E* = E / (1 - nu^2) (GPa and eV/Å^3)."""
    from qc_sim.continuum.hertz import hill_moduli
    from qc_sim.properties.bulk import cubic_elastic_constants
    from qc_sim.units import EV_PER_A3_TO_GPA

    lat = case.lattice
    elastic = cubic_elastic_constants(potential, lat.species[0], lat.kind, lat.a, device)
    young, poisson = hill_moduli(*elastic)
    reduced = young / (1 - poisson**2)
    return {"elastic": elastic, "E": young, "nu": poisson, "E_star": reduced,
            "E_star_ev": reduced / EV_PER_A3_TO_GPA}


def depths(spec) -> np.ndarray:
    """0, depth_step, 2 depth_step, ... up to max_depth (Å)."""
    n = int(np.floor(spec.max_depth / spec.depth_step + 1e-9)) + 1
    return spec.depth_step * np.arange(n)


def hertz_fit(steps, radius: float):
    """(E_fit eV/Å^3, h0 Å): the least-squares line P^(2/3) = c (h - h0) through the loaded
    steps, c = ((4/3) E_fit R^(1/2))^(2/3); None with fewer than two loaded steps."""
    loaded = [s for s in steps if s.load > 0]
    if len(loaded) < 2:
        return None
    h = np.array([s.depth for s in loaded])
    p23 = np.array([s.load for s in loaded]) ** (2 / 3)
    slope, intercept = np.polyfit(h, p23, 1)
    return float(slope**1.5 * 0.75 / np.sqrt(radius)), float(-intercept / slope)


@dataclass
class IndentResult(RunResult):
    """The indentation: ``figures`` holds what scripts/indent.py writes as JSON (the model's
    size, the patch test, the moduli, the P-h table, the Hertz fit and the pop-in);
    ``ramp`` the relaxed steps (:class:`~qc_sim.coupling.indent.IndentStep`)."""

    ramp: list | None = None
    run: object = None


def indentation(case, backend=None, comm=None, log=None) -> IndentResult:
    """Build the case's indentation, lower the indenter and read the load at each depth,
    logging the run's lines as it goes. With ``comm`` of several MPI ranks the model is
    split over them; rank 0 logs and writes the CSV, every rank returns the figures."""
    from qc_sim.io.thermo_csv import ThermoCSV
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.continuum.hertz import hertz_load
    from qc_sim.coupling.centrosymmetry import CSP_FAULT
    from qc_sim.coupling.indent import EV_PER_A_TO_NN, first_load_drop, indent
    from qc_sim.errors import InputError

    lat, c, spec = case.lattice, case.coupling, case.indent
    device = get_device(backend or case.run.backend)
    potential = build_potential(case)
    start = time.perf_counter()
    moduli = hertz_moduli(potential, case, device)
    run = indent_model(case, potential, device, comm)
    ranks = 1 if comm is None else comm.Get_size()
    lead = comm is None or comm.Get_rank() == 0
    log = rank_log(log, comm)
    g, model = run.model.geometry, run.model
    figures = {"nodes": int(g.mesh.n_nodes), "free_nodes": int(model.free.sum()),
               "atoms": len(g.atom_sites), "padding_atoms": int((g.atom_node < 0).sum()),
               "core_atoms": len(run.indenter.nodes), "core_radius_A": c.core_radius * lat.a,
               "patch_test_identity": model.patch_results[0]["max_ghost_force"],
               "patch_test_largest": max(r["max_ghost_force"] for r in model.patch_results),
               **{k: v for k, v in moduli.items() if k != "E_star_ev"}}
    log(f"qc-sim run {case.path}: nanoindentation of {lat.kind} {lat.species[0]} (001), "
          f"coupled {c.method}, {g.mesh.n_nodes} nodes ({figures['free_nodes']} free), "
          f"{figures['atoms']} atoms ({figures['padding_atoms']} padding), core half-sphere "
          f"{figures['core_radius_A']:.3g} Å ({figures['core_atoms']} atoms), indenter R "
          f"{spec.radius:g} Å K {spec.stiffness:g} eV/Å^3 at (x, y) = ({run.axis[0]:.4g}, "
          f"{run.axis[1]:.4g}) Å, {device.describe()}"
          + (f", {ranks} MPI ranks (partition imbalance {run.runner.imbalance():.3f})"
             if ranks > 1 else ""))
    log(f"faulted: of the {len(run.watched)} core atoms a lattice constant or more below the "
          f"surface, those with centrosymmetry > {CSP_FAULT:g} Å^2")
    log(f"patch test (twin without the surface): ghost force "
          f"{figures['patch_test_identity']:.3e} eV/Å at the identity, largest "
          f"{figures['patch_test_largest']:.3e} over 5 deformations")
    log("potential: C11 C12 C44 {:.2f} {:.2f} {:.2f} GPa; Hill average E {:.2f} GPa, nu "
          "{:.4f}; E* = E / (1 - nu^2) = {:.2f} GPa".format(*moduli["elastic"], moduli["E"],
                                                            moduli["nu"], moduli["E_star"]))
    log(f"{'h Å':>7} {'P eV/Å':>11} {'P nN':>10} {'Hertz nN':>10} {'P/Hertz':>8} "
          f"{'contact':>8} {'faulted':>8} {'steps':>6}")
    E_star = moduli["E_star_ev"]
    rows = []
    csv = ThermoCSV(spec.csv if lead else "", INDENT_COLUMNS)

    from qc_sim.simulation.particles import CoupledTrajectory

    particles = CoupledTrajectory(case, run.runner, run.model)

    def report(step):
        particles.append(len(rows), depth=step.depth, load=step.load)  # relaxed at this depth
        hertz = float(hertz_load(E_star, spec.radius, step.depth)) * EV_PER_A_TO_NN
        ratio = f"{step.load_nn / hertz:8.4f}" if hertz > 0 else f"{'-':>8}"
        log(f"{step.depth:>7.3f} {step.load:>11.5f} {step.load_nn:>10.5f} {hertz:>10.5f} "
              f"{ratio} {step.contact:>8d} {step.faulted:>8d} {step.steps:>6d}"
              + ("" if step.converged else " (not converged)"))
        rows.append({"depth_A": step.depth, "load_eV_per_A": step.load,
                     "load_nN": step.load_nn, "hertz_nN": hertz, "contact_atoms": step.contact,
                     "faulted_atoms": step.faulted, "energy_eV": step.energy, "steps": step.steps,
                     "converged": step.converged})
        csv.row(*rows[-1].values())

    try:
        steps = indent(run, depths(spec), fmax=c.fmax, on_step=report)
    except ValueError as exc:
        raise InputError(f"{case.path}: [indent.max_depth] {exc}") from None
    finally:
        particles.close()
        csv.close()
    drop = first_load_drop(steps, c.fmax)
    elastic = steps if drop is None else steps[: steps.index(drop[0]) + 1]
    figures.update(table=rows, hertz_fit=_report_fit(elastic, spec.radius, E_star, log),
                   pop_in=_report_pop_in(drop, steps, spec.radius, E_star, moduli["nu"], log))
    figures["run_time_s"] = time.perf_counter() - start
    log(f"run time {figures['run_time_s']:.1f} s")
    return IndentResult(steps=len(steps), wall_s=figures["run_time_s"], figures=figures,
                        ramp=steps, run=run)


def _report_fit(steps, radius, E_star, log):
    """The Hertz fit over ``steps`` (before any pop-in), logged; its figures or None."""
    from qc_sim.units import EV_PER_A3_TO_GPA

    fit = hertz_fit(steps, radius)
    if fit is None:
        return None
    figures = {"up_to_depth_A": steps[-1].depth, "E_fit_GPa": fit[0] * EV_PER_A3_TO_GPA,
               "E_fit_over_E_star": fit[0] / E_star, "h0_A": fit[1]}
    log(f"Hertz fit P = (4/3) E_fit R^1/2 (h - h0)^3/2 over h <= {steps[-1].depth:g} Å: "
          f"E_fit = {figures['E_fit_GPa']:.2f} GPa ({figures['E_fit_over_E_star']:.3f} E*), "
          f"h0 = {fit[1]:.3f} Å")
    return figures


def _report_pop_in(drop, steps, radius, E_star, poisson, log):
    """The first load drop and Hertz's contact at the load before it, logged; its figures
    or None."""
    from qc_sim.continuum.hertz import max_shear_under_contact
    from qc_sim.units import EV_PER_A3_TO_GPA

    if drop is None:
        log(f"pop-in: none up to h = {steps[-1].depth:g} Å (the load never drops)")
        return None
    before, after = drop
    contact = max_shear_under_contact(before.load, radius, E_star, poisson)
    figures = {"depth_A": before.depth, "load_nN": before.load_nn,
               "depth_after_A": after.depth, "load_after_nN": after.load_nn,
               "hertz_contact_radius_A": contact.a, "hertz_p0_GPa": contact.p0 * EV_PER_A3_TO_GPA,
               "hertz_tau_max_GPa": contact.tau_max * EV_PER_A3_TO_GPA,
               "tau_max_over_p0": contact.tau_max / contact.p0, "tau_max_depth_A": contact.z_max}
    log(f"pop-in: the load drops from {before.load_nn:.4f} nN at h = {before.depth:g} Å to "
          f"{after.load_nn:.4f} nN at h = {after.depth:g} Å; Hertz at {before.load_nn:.4f} nN: "
          f"contact radius {contact.a:.3f} Å, p0 {figures['hertz_p0_GPa']:.3f} GPa, largest "
          f"shear stress under the contact {figures['hertz_tau_max_GPa']:.3f} GPa "
          f"({figures['tau_max_over_p0']:.3f} p0) at depth {contact.z_max:.3f} Å")
    return figures
