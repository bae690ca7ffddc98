"""A plane wave packet leaving the atomistic core of a coupled slab: the fraction of its
energy the handshake reflects back (:mod:`qc_sim.coupling.wave`)."""

from __future__ import annotations

from dataclasses import dataclass

from qc_sim.simulation.control import RunResult, rank_log
from qc_sim.simulation.models import atom_mass, wave_model


@dataclass
class WaveResult(RunResult):
    """The packet's figures (:class:`qc_sim.coupling.wave.Reflection`: wavelength, ka, omega,
    group velocity, time run, core energy at the start and the end, reflected fraction)."""

    reflection: object = None
    model: object = None


def run_wave(case, backend=None, comm=None, log=None) -> WaveResult:
    """Send the case's packet out of the core and measure what comes back; split over the
    ranks of ``comm`` when there are several (rank 0 logs)."""
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.coupling.wave import reflected_fraction

    lat, c, w = case.lattice, case.coupling, case.wave
    log = rank_log(log, comm)
    device = get_device(backend or case.run.backend)
    potential = build_potential(case)
    model, centre = wave_model(case, potential, device)
    g = model.geometry
    ranks = 1 if comm is None else comm.Get_size()
    runner = None
    if ranks > 1:
        from qc_sim.coupling.domain import DomainCoupledModel

        runner = DomainCoupledModel(comm, model, skin=case.potential.skin)
        runner.check_patch_test()
    worst = max(r["max_ghost_force"] for r in (runner or model).patch_results)
    log(f"qc-sim run {case.path}: wave packet, coupled bgfc slab periodic along y, "
        f"{g.mesh.n_nodes} nodes, {len(g.atom_sites)} atoms, core band 2 x "
        f"{c.core_radius:g} a, handshake {c.width:g} a, damping {c.damping:g}/ps; patch test: "
        f"largest ghost force {worst:.3e} eV/Å"
        + (f"; {ranks} MPI ranks (imbalance {runner.imbalance():.3f})" if runner else ""))
    r = reflected_fraction(model, centre, potential, atom_mass(case, potential),
                           w.wavelength, c.damping, w.amplitude * lat.a, w.sigma * lat.a,
                           case.dynamics.timestep, device, species=lat.species[0],
                           runner=runner)
    log(f"wavelength {r.wavelength} a (ka {r.ka:.4f}), omega {r.omega:.4f} /ps, group "
        f"velocity {r.group_velocity:.4f} Å/ps; ran {r.time:.3f} ps")
    log(f"reflected fraction {r.reflected:.6f} (core energy {r.start:.6e} eV at the start, "
        f"{r.end:.6e} eV after the crossing)")
    return WaveResult(reflection=r, model=model,
                      figures={"reflected_fraction": r.reflected, "ka": r.ka})
