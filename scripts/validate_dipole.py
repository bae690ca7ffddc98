#!/usr/bin/env python
"""An edge dislocation dipole in the 2D triangular Lennard-Jones lattice: coupled models
(bgfc, bqce, bqcf) against the fully atomistic solution of the same clamped domain, for
growing core radii. Prints one JSON object: the dipole (cores, removed sites, where the
relaxed cores sit and what happens to nearby starts), the clamp, and per coupling and core
radius the degrees of freedom, the dipole energy and its error, the displacement error (max
over the coupled model's atoms and a discrete energy norm over their nearest-neighbour
bonds) and the relaxed core positions.

The problem: a box of cells x cells/sqrt(3) conventional cells (a x a sqrt(3)), the
45-degree vacancy-type dipole of :func:`qc_sim.coupling.reference.edge_dipole` (glide planes
``rows`` close-packed rows apart) near its centre, every atom and node moved by the dipole's
field and the boundary clamped there (the reference: a shell two cutoffs thick; the coupled
models: the nodes on the box faces); the core is the union of one disc about each
dislocation. The field is the isotropic linear elastic one plus its force-dipole far-field
correction, whose three coefficients are fitted to the atomistic solution of this very box
(relax, fit, repeat; ``--fits 0`` clamps at the linear field alone). The dipole energy is
the energy of the box region (site energies, atoms on a face counted half, at a corner a
quarter) less that of the perfect crystal of as many atoms. The mesh is graded with the
core (coarsening rate rate_scale / R, see :func:`coupled_run`). The boundary floor is the
energy error of the coupled functional itself at the reference solution, on a mesh with a
node on every site (bgfc at the largest core): what no core radius can remove.

    python scripts/validate_dipole.py [--cells 160] [--rows 8] [--radii 6 9 12 18]
                                      [--width 2] [--rate-scale 1] [--fits 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit, machine  # noqa: E402

FMAX = 1e-5  # eV/Å: every relaxation, atomistic and coupled
WINDOW = 6.25  # lattice spacings either side of a core read by core_position (off-site edges)


class Problem:
    """The potential, lattice and box of the study, and the energies measured in it."""

    def __init__(self, cells: int, rows: int, width: float, rate_scale: float):
        from qc_sim.backend import get_device
        from qc_sim.coupling.reference import edge_dipole
        from qc_sim.potentials import lennard_jones

        self.device = get_device("cpu")
        self.potential = lennard_jones(1.0, 1.0, 2.5, shift=True)
        self.lattice, self.poisson, self.e0 = lattice_and_material(self.potential)
        a = self.a = self.lattice.a
        self.lo = np.zeros(2)
        self.hi = np.array([cells * a, round(cells / np.sqrt(3)) * a * np.sqrt(3)])
        centre = self.hi / 2 - 0.5 * rows * a * np.sqrt(3) / 2
        self.dipole = edge_dipole(self.lattice, centre, rows, self.poisson)
        self.width, self.rate_scale = width, rate_scale

    def removed(self, dipole) -> np.ndarray:
        """(n, 2) Å: the lattice sites of the box in the dipole's cut band."""
        from qc_sim.geometry.lattice import sites_in_box

        sites = sites_in_box(self.lattice, self.lo, self.hi)[0]
        return sites[dipole.cut_sites(sites)]

    def box_energy(self, site_energy, sites) -> float:
        """sum_i w_i (E_i - e0) over the atoms of the closed box, w halved on each face."""
        on = (np.abs(sites - self.lo) < 1e-6) | (np.abs(sites - self.hi) < 1e-6)
        inside = np.all((sites > self.lo - 1e-6) & (sites < self.hi + 1e-6), axis=1)
        w = np.where(on, 0.5, 1.0).prod(axis=1) * inside
        return float((w * (site_energy - self.e0)).sum())

    def cores(self, dipole, reference, current):
        """[[x, slip step], ...] (Å) of the +b and -b cores read from the atoms."""
        from qc_sim.coupling.reference import core_position

        return [list(core_position(reference, current, c[1], c[0], self.lattice,
                                   WINDOW * self.a)) for c in dipole.cores]


def lattice_and_material(potential):
    """(lattice at zero stress, Poisson ratio, site energy e0) of the triangular lattice."""
    from scipy.optimize import brentq

    from qc_sim.continuum.cauchy_born import CauchyBorn
    from qc_sim.coupling.reference import plane_strain_poisson
    from qc_sim.geometry import triangular

    a0 = brentq(lambda a: CauchyBorn(potential, triangular(a)).stress(np.eye(2))[0, 0],
                1.0, 1.3, xtol=1e-14)
    material = CauchyBorn(potential, triangular(a0))
    e0 = float(material.energy(np.eye(2))) * material.volume
    return triangular(a0), plane_strain_poisson(material), e0


class Reference:
    """A relaxed clamped atomistic dipole: sites X, positions x (n, 2) Å, its dipole energy,
    relaxed cores and the minimiser's result."""

    def __init__(self, problem: Problem, dipole, noise=0.0, start=None):
        from qc_sim.coupling.reference import atomistic_reference
        from qc_sim.solvers import fire, lbfgs

        p = problem
        rng = np.random.default_rng(0)

        def field(X):
            u = dipole.displacement(X)
            if start is not None:  # warm start: the previous solution, moved by the change
                u = start.x - start.X + u - start.dipole.displacement(X)  # of the field
            inside = np.all((X > p.lo + 1e-6) & (X < p.hi - 1e-6), axis=1)
            return u + noise * p.a * rng.normal(size=X.shape) * inside[:, None]

        system, result = atomistic_reference(p.lattice, p.lo, p.hi, p.potential, "X",
                                             p.device, vacancies=p.removed(dipole),
                                             displacement=field, minimiser=lbfgs, fmax=FMAX)
        if not result.converged:  # L-BFGS-B stops at round-off in a large total energy
            result = fire(system, fmax=FMAX, max_steps=100_000)
        self.dipole, self.result, self.fixed = dipole, result, np.asarray(system.fixed)
        self.X = np.asarray(system.atoms.positions)[:, :2]
        self.x = np.asarray(system.positions)[:, :2]
        self.energy = p.box_energy(np.asarray(system.compute().site_energy), self.X)
        self.cores = p.cores(dipole, self.X, self.x)


def fitted_reference(problem: Problem, fits: int):
    """The reference clamped at the far field fitted to itself (``fits`` rounds of relax and
    fit), and the reference clamped at the linear field (the first round)."""
    from qc_sim.coupling.reference import fit_far_field

    dipole, separation = problem.dipole, np.linalg.norm(problem.dipole.upper
                                                        - problem.dipole.lower)
    linear = ref = Reference(problem, dipole)
    rounds = []
    for k in range(fits):
        dipole = fit_far_field(dipole, ref.X, ref.x, 2 * separation,
                               0.7 * min(problem.hi - problem.lo) / 2)
        # the rounds start from the last solution; the reference itself starts, as the
        # coupled models do, from the field (a warm start can end in a neighbouring core
        # structure)
        ref = Reference(problem, dipole, start=None if k == fits - 1 else ref)
        rounds.append({"far_field": list(dipole.far_field), "dipole_energy": ref.energy})
    return ref, linear, rounds


def stability(problem: Problem, ref: Reference) -> dict:
    """Where the cores sit: imposed, read from the initial field and relaxed; relaxed from
    the field plus a random kick of 0.05 a on every free atom; and from starts with the +b
    core one Peierls valley either side."""
    from dataclasses import replace

    d, a = ref.dipole, problem.a
    initial = ref.X + d.displacement(ref.X)
    kicked = Reference(problem, d, noise=0.05)
    probes = []
    for shift in (-1.0, 1.0):
        moved = replace(d, upper=d.upper + [shift * a, 0.0])
        probe = Reference(problem, moved)
        probes.append({"upper_start_x": float(moved.upper[0]),
                       "converged": probe.result.converged, "cores": probe.cores})
    from scipy.spatial import cKDTree

    closest = float(cKDTree(initial).query(initial, k=2)[0][:, 1].min())
    return {"upper_plus_b": d.upper.tolist(), "lower_minus_b": d.lower.tolist(),
            "angle_deg": float(np.degrees(np.arctan2(*(d.upper - d.lower)[::-1]))),
            "removed_sites": len(problem.removed(d)), "closest_initial_pair_a": closest / a,
            "cores_of_initial_field": problem.cores(d, ref.X, initial),
            "cores_relaxed": ref.cores, "cores_relaxed_after_kick": kicked.cores,
            "kick_energy_change": kicked.energy - ref.energy, "neighbouring_starts": probes}


def relax(model, method: str):
    """L-BFGS (FIRE for bqcf, which has no energy), finished by FIRE where L-BFGS-B stops
    at the round-off of a large total energy."""
    from dataclasses import replace

    from qc_sim.solvers import fire, lbfgs

    result = (fire if method == "bqcf" else lbfgs)(model, fmax=FMAX, max_steps=100_000)
    if result.converged:
        return result
    polish = fire(model, fmax=FMAX, max_steps=100_000)
    return replace(polish, steps=result.steps + polish.steps,
                   message=f"{result.message}; then {polish.message}")


def coupled_run(problem: Problem, method: str, radius: float, dipole):
    """One coupled model of the dipole, relaxed: (model, geometry, result, dipole energy).
    The mesh coarsens at the rate rate_scale / radius (lattice_points: elements of 2^k a
    from (2^k - 1) radius / rate_scale lattice spacings out of the fine box on), so that it
    grows with the core as one self-similar picture; at a fixed rate the error of the
    first coarse elements, where the dipole's strain still varies fast, would not fall with
    the core."""
    from qc_sim.coupling import CoupledModel, build_geometry

    p = problem
    removed = p.removed(dipole)
    g = build_geometry(p.lattice, p.lo, p.hi, dipole.cores, radius * p.a, p.width * p.a,
                       reach=2 * p.potential.cutoff, vacancies=removed,
                       rate=p.rate_scale / radius)
    model = CoupledModel(g, p.potential, "X", method, device=p.device)
    model.y = g.mesh.nodes + dipole.displacement(g.mesh.nodes)  # held nodes too
    result = relax(model, method)
    twin = model.twin  # the perfect lattice, relaxed the same way (bqce and bqcf are not
    if method != "bgfc":  # at equilibrium in the homogeneous state)
        relax(twin, method)
    if method == "bqcf":  # no energy of its own: the blended energy at its solution
        e_dip, e_perf = model.bqce(model.y)[0], twin.bqce(twin.y)[0]
    else:
        e_dip, e_perf = model.evaluate(model.y)[0], twin.evaluate(twin.y)[0]
    return model, g, result, e_dip - e_perf + len(removed) * p.e0


def errors(g, y, ref: Reference, lattice):
    """(max |du|, energy-norm error, atom positions) Å of the coupled atoms (node positions
    y) against the reference atoms on the same sites; the norm over nearest-neighbour bonds
    of the coupled atoms, sqrt(sum_ij |du_i - du_j|^2)."""
    from scipy.spatial import cKDTree

    x = g.interpolation @ y
    gap, idx = cKDTree(ref.X).query(g.atom_sites, k=1)
    if gap.max() > 1e-6:
        raise AssertionError("a coupled atom has no reference atom on its site")
    du = (x - g.atom_sites) - (ref.x[idx] - ref.X[idx])
    pairs = cKDTree(g.atom_sites).query_pairs(1.01 * lattice.a, output_type="ndarray")
    norm = float(np.sqrt(((du[pairs[:, 0]] - du[pairs[:, 1]]) ** 2).sum()))
    return float(np.linalg.norm(du, axis=1).max()), norm, x


def boundary_floor(problem: Problem, radius: float, refs) -> list:
    """The bgfc functional's energy error at each reference's own solution, on a mesh with
    a node on every site: the part of the error set by the clamp, not by the core."""
    from scipy.spatial import cKDTree

    from qc_sim.coupling import CoupledModel, build_geometry

    p = problem
    out = []
    for ref in refs:
        removed = p.removed(ref.dipole)
        g = build_geometry(p.lattice, p.lo, p.hi, ref.dipole.cores, radius * p.a,
                           p.width * p.a, reach=2 * p.potential.cutoff, vacancies=removed,
                           rate=1e-3)
        model = CoupledModel(g, p.potential, "X", "bgfc", device=p.device)
        _, idx = cKDTree(ref.X).query(g.mesh.nodes, k=1)
        e = (model.evaluate(ref.x[idx])[0] - model.twin.evaluate(model.twin.y_far)[0]
             + len(removed) * p.e0)
        out.append(e - ref.energy)
    return out


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=160)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--radii", type=float, nargs="+", default=[6.0, 9.0, 12.0, 18.0])
    parser.add_argument("--width", type=float, default=2.0)
    parser.add_argument("--rate-scale", type=float, default=1.0)
    parser.add_argument("--fits", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=["bgfc", "bqce", "bqcf"])
    parser.add_argument("--no-floor", action="store_true")
    args = parser.parse_args(argv)
    # SciPy's L-BFGS-B calls BLAS on short vectors: threads only contend with the kernels
    threadpool_limits(limits=1, user_api="blas")
    p = Problem(args.cells, args.rows, args.width, args.rate_scale)
    start = time.perf_counter()
    ref, linear, rounds = fitted_reference(p, args.fits)
    free = int((~ref.fixed).sum())
    out = {"benchmark": "dipole_coupled_vs_atomistic", "commit": commit(), "machine": machine(),
           "potential": {"style": "lj", "epsilon": 1.0, "sigma": 1.0, "cutoff": 2.5,
                         "shift": True},
           "lattice_constant": p.a, "poisson": p.poisson, "site_energy": p.e0,
           "cells": [args.cells, int(round(args.cells / np.sqrt(3)))], "box": p.hi.tolist(),
           "rows": args.rows, "width_a": args.width, "rate_scale": args.rate_scale,
           "fmax": FMAX,
           "clamp": {"linear_field_dipole_energy": linear.energy, "fit_rounds": rounds},
           "atomistic": {"free_atoms": free, "dofs": 2 * free,
                         "converged": ref.result.converged, "dipole_energy": ref.energy,
                         "seconds": time.perf_counter() - start},
           "coupled": []}
    out["dipole"] = stability(p, ref)
    print(json.dumps(out["dipole"]), file=sys.stderr)
    if not args.no_floor:
        floors = boundary_floor(p, max(args.radii), [linear, ref] if args.fits else [linear])
        out["clamp"]["boundary_floor"] = {"linear": floors[0], "fitted": floors[-1]}
        print(json.dumps(out["clamp"]), file=sys.stderr)
    for method in args.methods:
        for radius in args.radii:
            t0 = time.perf_counter()
            model, g, result, e_dip = coupled_run(p, method, radius, ref.dipole)
            du_max, norm, x = errors(g, model.y, ref, p.lattice)
            dofs = 2 * int(model.free.sum())
            out["coupled"].append({
                "method": method, "core_radius_a": radius, "dofs": dofs,
                "dof_ratio": out["atomistic"]["dofs"] / dofs, "converged": result.converged,
                "steps": result.steps, "dipole_energy": e_dip, "energy_error": e_dip - ref.energy,
                "max_displacement_error": du_max, "energy_norm_error": norm,
                "cores": p.cores(ref.dipole, g.atom_sites, x),
                "seconds": time.perf_counter() - t0})
            print(json.dumps(out["coupled"][-1]), file=sys.stderr)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
