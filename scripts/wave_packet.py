#!/usr/bin/env python
"""A plane longitudinal wave packet leaving the atomistic core of a coupled model (2D
triangular LJ argon, bgfc; the lattice and potential of cases/ar_wave_packet.toml): the
fraction of its energy that the handshake and the coarse mesh reflect back into the core,
against the wavenumber, without and with the handshake damping band
(:mod:`qc_sim.coupling.wave`). Prints one JSON object (machine, commit, per damping rate and
wavelength the reflected fraction).

    python scripts/wave_packet.py [--wavelengths 3 4 6 8 12 16] [--damping 0 1 5]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MASS = 39.948


def main(argv=None) -> int:
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.cases.schema import load_case
    from qc_sim.coupling.wave import lattice_frequency, reflected_fraction, wave_slab
    from qc_sim.geometry import triangular

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wavelengths", type=int, nargs="+", default=[3, 4, 6, 8, 12, 16],
                   help="in lattice spacings")
    p.add_argument("--damping", type=float, nargs="+", default=[0.0, 1.0, 5.0],
                   help="mid-handshake damping rates, 1/ps")
    p.add_argument("--core", type=float, default=30.0, help="core half-width, lattice spacings")
    p.add_argument("--width", type=float, default=4.0, help="handshake, lattice spacings")
    p.add_argument("--cells", type=int, nargs=2, default=[524, 4],
                   help="cells along x (held ends) and y (periodic)")
    p.add_argument("--backend", default="cpu")
    args = p.parse_args(argv)
    case = load_case(ROOT / "cases" / "ar_wave_packet.toml")
    device = get_device(args.backend)
    potential = build_potential(case)
    lattice = triangular(case.lattice.a)
    a = lattice.a
    model, centre = wave_slab(lattice, args.cells, potential, "Ar", args.core * a,
                              args.width * a, device)
    omega_edge = lattice_frequency(potential, lattice, MASS, 2, device, "Ar")
    out = {"benchmark": "wave_packet_reflection", "commit": commit(), "machine": machine(),
           "lattice": "cases/ar_wave_packet.toml (triangular LJ Ar), slab periodic along y",
           "core_half_width_a": args.core, "handshake_a": args.width, "cells": args.cells,
           "nodes": int(model.geometry.mesh.n_nodes),
           "atoms": int(len(model.geometry.atom_sites)),
           "packet": {"amplitude_A": 0.01 * a, "sigma_A": 3.0 * a},
           "zone_edge_omega_per_ps": omega_edge, "runs": []}
    for damping in args.damping:
        for cells in args.wavelengths:
            r = reflected_fraction(model, centre, potential, MASS, cells, damping, 0.01 * a,
                                   3.0 * a, case.dynamics.timestep, device, omega_edge, "Ar")
            row = dict(asdict(r), reflected_fraction=r.reflected, damping_per_ps=damping)
            out["runs"].append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
