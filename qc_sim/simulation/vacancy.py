"""A vacancy in a coupled model, from built objects (the case-free path the README's Python
example takes): the model of a clamped cube with one site removed at its centre, and the
formation energy of the relaxed model against its defect-free twin."""

from __future__ import annotations

import numpy as np


def vacancy_model(potential, element: str, cells: int, core_radius: float = 2.0,
                  width: float = 1.5, method: str = "bgfc", lattice: str = "fcc",
                  a: float | None = None, rate: float = 0.5, fine_zone: str = "box",
                  fine_margin: float | None = None, taylor_strain: float | None = None,
                  device=None, check: bool = True):
    """A :class:`~qc_sim.coupling.model.CoupledModel` of ``cells``^3 conventional cells of
    ``element`` (fcc or bcc) held at the perfect lattice on its outer faces, an atomistic
    core of ``core_radius`` and a handshake of ``width`` (both in lattice constants, as the
    case keys), the vacancy at the lattice site nearest the centre; ``a`` the lattice
    constant (Å), by default the potential's own. ``check``: run the patch test (raising
    :class:`~qc_sim.coupling.model.GhostForceError` when the coupling breaks its promise).
    The same model as a case with ``[coupling] defect = "vacancy"``."""
    from qc_sim.backend import get_device
    from qc_sim.coupling import CoupledModel, build_geometry
    from qc_sim.geometry import lattice as lattices
    from qc_sim.properties.bulk import equilibrium_lattice

    device = get_device() if device is None else device  # None: QC_SIM_BACKEND, else auto
    if a is None:
        a, _ = equilibrium_lattice(potential, element, lattice, device)
    kind = {"fcc": lattices.fcc, "bcc": lattices.bcc}[lattice](a)
    cell = np.diag(kind.cell)[:3]
    hi = cells * cell
    centre = lattices.nearest_site(kind, hi / 2)
    reach = 2 * potential.cutoff
    geometry = build_geometry(kind, np.zeros(3), hi, centre, core_radius * a, width * a,
                              reach=reach, rate=rate, vacancies=[centre], fine_zone=fine_zone,
                              fine_margin=None if fine_margin is None else fine_margin * a)
    return CoupledModel(geometry, potential, element, method, device=device, check=check,
                        taylor_strain=taylor_strain)


def vacancy_formation_energy(model, energy: float | None = None, fmax: float = 1e-4,
                             precondition: bool = True) -> float:
    """E_f = E(model) - E(defect-free twin of the same zones) + the site energy of the
    perfect crystal (eV), ``model`` relaxed (``energy`` its relaxed energy, by default
    evaluated at ``model.y``). The twin is relaxed as the model was (bgfc's needs none: its
    perfect lattice is an equilibrium); for bqcf, which has no energy, both are the blended
    (bqce) energies of the relaxed states."""
    from qc_sim.solvers import fire, lbfgs

    twin = model.twin
    if twin is None:
        raise ValueError("the model has no vacancy (it was built without one)")
    if model.method == "bqcf":
        e_vacancy, energy_of = model.bqce(model.y)[0], twin.bqce
    else:
        e_vacancy = model.evaluate(model.y)[0] if energy is None else energy
        energy_of = twin.evaluate
    if model.method != "bgfc":
        if precondition:
            from qc_sim.coupling.statics import relax

            relax(twin, fmax=fmax)
        else:
            (fire if model.method == "bqcf" else lbfgs)(twin, fmax=fmax, max_steps=20_000)
    return formation_energy(model, e_vacancy, energy_of(twin.y)[0])


def formation_energy(model, e_vacancy: float, e_perfect: float) -> float:
    """E_f = E(vacancy) - E(twin) + the site energy of the perfect crystal (eV: the energy
    density of the model's material at F = I times its volume per site)."""
    site = model.material.energy(np.eye(model.dim)) * model.material.volume
    return float(e_vacancy - e_perfect + site)
