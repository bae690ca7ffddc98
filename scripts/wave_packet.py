#!/usr/bin/env python
"""A plane longitudinal wave packet leaving the atomistic core of a coupled model (2D
triangular LJ argon, bgfc; the lattice and potential of cases/ar_coupled_nve.toml): the
fraction of its energy that the handshake and the coarse mesh reflect back into the core,
against the wavenumber, without and with the handshake damping band. Prints one JSON object
(machine, commit, per damping rate and wavelength the reflected fraction).

The model is a slab periodic along y (a few cells), so the packet is a plane wave with no
diffraction: the core is the band |x - x_c| < R, the handshake a band of width w on each
side, the coarse mesh beyond and the held boundary far away (``--length``). The packet
u_x = A exp(-(x - x0)^2 / 2 s^2) cos(k (x - x0)), x0 = x_c - R/2, starts with the velocity
of a wave running +x at the lattice's own frequency, v_x = A omega(k) G sin(k (x - x0)), with
omega(k) measured from the forces of a static plane wave in a periodic strip. The core's
energy (kinetic plus site energy above the lattice's, atoms of weight 1) is read at the start
and once the packet has crossed the right handshake, before its reflection can reach the left
one or an echo from the far boundary can return (the group velocity of a nearest-neighbour
chain with the measured zone-edge frequency sets the time); the reflected fraction is their
ratio. Short waves, which the coarse mesh cannot carry, come back unless damped.

    python scripts/wave_packet.py [--wavelengths 3 4 5 6 8 12 16] [--damping 0 1 4]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MASS = 39.948


def lattice_frequency(potential, a: float, cells: int, device) -> float:
    """omega (1/ps) of the longitudinal wave of wavelength ``cells`` lattice spacings along x
    of the triangular lattice: -f_x / (m u_x) of a static plane wave of small amplitude in a
    periodic strip of whole wavelengths."""
    from qc_sim.atomistic.system import AtomisticSystem
    from qc_sim.geometry import build_crystal, triangular
    from qc_sim.units import FTM2V

    repeats = cells * max(1, int(np.ceil(4 * potential.cutoff / (cells * a))))
    atoms = build_crystal(triangular(a), repeats=(repeats, 6, 1), species=("Ar",),
                          masses=(MASS,))
    k, eps = 2 * np.pi / (cells * a), 1e-5
    system = AtomisticSystem(atoms, potential, device)
    x = atoms.positions.copy()
    x[:, 0] += eps * np.cos(k * x[:, 0])
    system.set_positions(x)
    f = np.asarray(device.to_host(system.compute(energy=False, virial=False).forces))
    at = int(np.argmax(np.cos(k * atoms.positions[:, 0])))
    return float(np.sqrt(-f[at, 0] / (MASS * eps * np.cos(k * atoms.positions[at, 0]))
                         * FTM2V))


def build(potential, a, core, width, length, thickness, device, damping_band=False):
    from qc_sim.coupling import CoupledModel, build_geometry
    from qc_sim.geometry import triangular

    lat = triangular(a)
    cell = np.diag(lat.cell)[:2]
    nx = int(np.ceil(length / cell[0]))
    hi = np.array([nx * cell[0], thickness * cell[1]])
    centre = np.array([np.round(hi[0] / 2 / cell[0]) * cell[0], 0.0])
    geometry = build_geometry(lat, np.zeros(2), hi, centre, core, width,
                              reach=potential.cutoff, periodic=(False, True))
    return CoupledModel(geometry, potential, "Ar", "bgfc", device=device, check=True), centre


def run(model, centre, potential, a, cells, damping, amplitude, sigma, omega_edge,
        timestep, device) -> dict:
    from qc_sim.coupling.dynamics import CoupledDynamics, handshake_damping, node_masses
    from qc_sim.units import MVV2E

    g = model.geometry
    X = g.mesh.nodes
    omega = lattice_frequency(potential, a, cells, device)
    k = 2 * np.pi / (cells * a)
    x0 = centre[0] - 0.5 * g.core_radius
    d = X[:, 0] - x0
    envelope = amplitude * np.exp(-d**2 / (2 * sigma**2))
    y = X.copy()
    y[:, 0] += envelope * np.cos(k * d)
    v = np.zeros_like(X)
    v[:, 0] = envelope * omega * np.sin(k * d)
    y[~model.free], v[~model.free] = X[~model.free], 0.0
    model.y = y
    masses = node_masses(model, MASS)
    md = CoupledDynamics(model, masses, timestep,
                         handshake_damping(model, damping) if damping > 0 else None)
    core = np.flatnonzero((g.atom_beta == 1.0) & (g.atom_node >= 0))
    nodes = g.atom_node[core]
    reference = model._atoms(X, weighted=False)[0][core]

    def core_energy(velocities) -> float:
        site = model._atoms(model.y, weighted=False)[0][core]
        kinetic = 0.5 * MVV2E * masses[nodes] * (velocities[nodes] ** 2).sum(axis=1)
        return float((site - reference).sum() + kinetic.sum())

    # group velocity of a chain with the measured zone-edge frequency
    v_group = 0.5 * a * omega_edge * np.cos(0.5 * k * a)
    crossing = (1.5 * g.core_radius + g.width + 4 * sigma) / v_group
    steps = int(np.ceil(crossing / timestep))
    state = md.init_state(v)
    start = core_energy(state.velocities)
    state = md.run(state, steps)
    end = core_energy(state.velocities)
    return {"wavelength_a": cells, "ka": k * a, "omega_per_ps": omega,
            "group_velocity_A_per_ps": v_group, "time_ps": steps * timestep,
            "core_energy_start_eV": start, "core_energy_end_eV": end,
            "reflected_fraction": end / start}


def main(argv=None) -> int:
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.cases.schema import load_case

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wavelengths", type=int, nargs="+", default=[3, 4, 5, 6, 8, 12, 16],
                   help="in lattice spacings")
    p.add_argument("--damping", type=float, nargs="+", default=[0.0, 1.0, 4.0],
                   help="mid-handshake damping rates, 1/ps")
    p.add_argument("--core", type=float, default=30.0, help="core half-width, lattice spacings")
    p.add_argument("--width", type=float, default=4.0, help="handshake, lattice spacings")
    p.add_argument("--length", type=float, default=4000.0, help="domain length along x, Å")
    p.add_argument("--thickness", type=int, default=4, help="periodic cells along y")
    p.add_argument("--backend", default="cpu")
    args = p.parse_args(argv)
    case = load_case(ROOT / "cases" / "ar_coupled_nve.toml")
    device = get_device(args.backend)
    potential = build_potential(case)
    a = case.lattice.a
    model, centre = build(potential, a, args.core * a, args.width * a, args.length,
                          args.thickness, device)
    omega_edge = lattice_frequency(potential, a, 2, device)
    sigma = 3.0 * a
    out = {"benchmark": "wave_packet_reflection", "commit": commit(), "machine": machine(),
           "lattice": "cases/ar_coupled_nve.toml (triangular LJ Ar), slab periodic along y",
           "core_half_width_a": args.core, "handshake_a": args.width,
           "length_A": args.length, "nodes": int(model.geometry.mesh.n_nodes),
           "atoms": int(len(model.geometry.atom_sites)),
           "packet": {"amplitude_A": 0.01 * a, "sigma_A": sigma},
           "zone_edge_omega_per_ps": omega_edge, "runs": []}
    for damping in args.damping:
        for cells in args.wavelengths:
            model.y = model.geometry.mesh.nodes.copy()
            r = run(model, centre, potential, a, cells, damping, 0.01 * a, sigma, omega_edge,
                    case.dynamics.timestep, device)
            r["damping_per_ps"] = damping
            out["runs"].append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
