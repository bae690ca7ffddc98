"""A plane longitudinal wave packet leaving the atomistic core of a coupled model: how much of
its energy the handshake and the coarse mesh reflect back (docs/design.md section 6.4; the showcase
of issue 5).

The model is a 2D triangular slab periodic along y, so the packet is a plane wave with no
diffraction: the core is the band |x - x_c| < R, a handshake of width w on each side, the
coarse mesh beyond and a held boundary far away. The packet
``u_x = A exp(-(x - x0)^2 / 2 s^2) cos(k (x - x0))``, x0 = x_c - R/2, starts with the velocity
of a wave running +x at the lattice's own frequency, ``v_x = A omega(k) G sin(k (x - x0))``,
omega(k) measured from the forces of a static plane wave in a periodic strip. The core's
energy (kinetic plus site energy above the lattice's, atoms of weight 1) is read at the start
and once the packet has crossed the right handshake (at the group velocity of a
nearest-neighbour chain with the measured zone-edge frequency), before its reflection can
reach the left one or an echo from the far boundary can return; the reflected fraction is
their ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def lattice_frequency(potential, lattice, mass: float, cells: int, device,
                      species: str = "X") -> float:
    """omega (1/ps) of the longitudinal wave of wavelength ``cells`` spacings along x of the
    triangular ``lattice``: -f_x / (m u_x) of a static plane wave of small amplitude in a
    periodic strip of whole wavelengths."""
    from qc_sim.atomistic.system import AtomisticSystem
    from qc_sim.geometry import build_crystal
    from qc_sim.units import FTM2V

    a = lattice.a
    repeats = cells * max(1, int(np.ceil(4 * potential.cutoff / (cells * a))))
    atoms = build_crystal(lattice, repeats=(repeats, 6, 1), species=(species,), masses=(mass,))
    k, eps = 2 * np.pi / (cells * a), 1e-5
    system = AtomisticSystem(atoms, potential, device)
    x = atoms.positions.copy()
    x[:, 0] += eps * np.cos(k * x[:, 0])
    system.set_positions(x)
    f = np.asarray(device.to_host(system.compute(energy=False, virial=False).forces))
    at = int(np.argmax(np.cos(k * atoms.positions[:, 0])))
    return float(np.sqrt(-f[at, 0] / (mass * eps * np.cos(k * atoms.positions[at, 0]))
                         * FTM2V))


def wave_slab(lattice, repeats, potential, species: str, core: float, width: float,
              device=None):
    """The bgfc model of a slab of ``repeats`` (x, y) cells periodic along y, its core the band
    of half-width ``core`` Å about the middle, handshake ``width`` Å; and the core's x."""
    from qc_sim.coupling import CoupledModel, build_geometry

    cell = np.diag(lattice.cell)[:2]
    hi = np.asarray(repeats[:2], float) * cell
    centre = np.array([np.round(hi[0] / 2 / cell[0]) * cell[0], 0.0])
    geometry = build_geometry(lattice, np.zeros(2), hi, centre, core, width,
                              reach=potential.cutoff, periodic=(False, True))
    return CoupledModel(geometry, potential, species, "bgfc", device=device, check=True), \
        float(centre[0])


@dataclass(frozen=True)
class Reflection:
    """One packet: wavelength (spacings), ka, omega (1/ps), group velocity (Å/ps), the time
    run (ps), the core's energy at the start and at the end (eV) and their ratio."""

    wavelength: int
    ka: float
    omega: float
    group_velocity: float
    time: float
    start: float
    end: float

    @property
    def reflected(self) -> float:
        return self.end / self.start


def reflected_fraction(model, centre_x: float, potential, mass: float, cells: int,
                       damping: float, amplitude: float, sigma: float, timestep: float,
                       device, omega_edge: float | None = None,
                       species: str = "X", runner=None) -> Reflection:
    """Launch the packet of wavelength ``cells`` spacings (amplitude and envelope ``sigma``
    in Å) from the relaxed lattice of ``model`` (``wave_slab``), with the handshake damping
    band ``damping`` (1/ps, 0 none), and measure what the core keeps. With ``runner`` (this
    rank's :class:`~qc_sim.coupling.domain.DomainCoupledModel` of ``model``) each rank
    advances its own nodes, and the core's energy is read from the state gathered at the
    start and at the end."""
    from qc_sim.coupling.dynamics import CoupledDynamics, handshake_damping, node_masses
    from qc_sim.units import MVV2E

    g = model.geometry
    a = g.lattice.a
    X = g.mesh.nodes
    if omega_edge is None:
        omega_edge = lattice_frequency(potential, g.lattice, mass, 2, device, species)
    omega = lattice_frequency(potential, g.lattice, mass, cells, device, species)
    k = 2 * np.pi / (cells * a)
    d = X[:, 0] - (centre_x - 0.5 * g.core_radius)
    envelope = amplitude * np.exp(-d**2 / (2 * sigma**2))
    y = X.copy()
    y[:, 0] += envelope * np.cos(k * d)
    v = np.zeros_like(X)
    v[:, 0] = envelope * omega * np.sin(k * d)
    y[~model.free], v[~model.free] = X[~model.free], 0.0
    model.y = y
    masses = node_masses(model, mass)
    rates = handshake_damping(model, damping) if damping > 0 else None
    mine = slice(None)
    if runner is None:
        runner = model
    else:  # this rank's nodes
        mine = runner.nodes
        runner.y = y[mine].copy()
    md = CoupledDynamics(runner, masses[mine], timestep, None if rates is None else rates[mine])
    core = np.flatnonzero((g.atom_beta == 1.0) & (g.atom_node >= 0))
    nodes = g.atom_node[core]
    reference = model._atoms(X, weighted=False)[0][core]

    def core_energy(velocities) -> float:
        if runner is not model:  # the whole state on every rank, twice a run
            model.y = runner.gather_nodes(runner.y, root=None)
            velocities = runner.gather_nodes(velocities, root=None)
        site = model._atoms(model.y, weighted=False)[0][core]
        kinetic = 0.5 * MVV2E * masses[nodes] * (velocities[nodes] ** 2).sum(axis=1)
        return float((site - reference).sum() + kinetic.sum())

    v_group = 0.5 * a * omega_edge * np.cos(0.5 * k * a)
    crossing = (1.5 * g.core_radius + g.width + 4 * sigma) / v_group
    steps = int(np.ceil(crossing / timestep))
    state = md.init_state(v[mine])
    start = core_energy(state.velocities)
    state = md.run(state, steps)
    end = core_energy(state.velocities)
    model.y = X.copy()
    return Reflection(cells, k * a, omega, v_group, steps * timestep, start, end)
