"""Case files (TOML) as typed dataclasses, checked completely before anything is allocated.

Every error is an :class:`~qc_sim.errors.InputError` whose one-line message names the file,
the key path and the allowed values. A case describes an atomistic run, a coupled model
and its study (statics, dynamics, a crack, an indentation, a wave packet) or a region
physics; plug-in region physics bring their own sections (:mod:`qc_sim.cases.plugins`).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from qc_sim.errors import InputError
from qc_sim.cases.plugins import PLUGINS, available, plugin

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class LatticeSpec:
    kind: str = "fcc"
    a: float = 3.615
    species: tuple[str, ...] = ("Cu",)
    fractions: tuple[float, ...] = ()
    masses: tuple[float, ...] = ()
    orientation: tuple[tuple[int, int, int], ...] = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    repeats: tuple[int, ...] = (5, 5, 5)
    periodic: tuple[bool, ...] = (True, True, True)
    seed: int = 1


@dataclass(frozen=True)
class PotentialSpec:
    style: str = "eam"
    file: str = ""
    epsilon: float = 0.0
    sigma: float = 0.0
    d0: float = 0.0
    alpha: float = 0.0
    r0: float = 0.0
    cutoff: float = 0.0
    shift: bool = False
    skin: float = 1.0


@dataclass(frozen=True)
class DynamicsSpec:
    ensemble: str = "nve"
    timestep: float = 0.001
    steps: int = 1000
    temperature: float = 300.0
    seed: int = 12345
    thermostat_temperature: float = -1.0
    damping: float = 0.1
    thermo: int = 100


@dataclass(frozen=True)
class CouplingSpec:
    """A coupled atomistic-continuum model of the lattice's domain (docs/design.md section 6):
    a spherical core (circular in 2D) around ``center`` (Å; default the domain centre)."""

    method: str = "bgfc"
    core_radius: float = 2.0  # lattice constants
    width: float = 1.5  # handshake width, lattice constants
    center: tuple[float, ...] = ()
    far_field: tuple[tuple[float, ...], ...] = ()  # deformation gradient; default identity
    rate: float = 0.5  # mesh coarsening rate
    fine_zone: str = "box"  # box or sphere: the all-sites zone around core and handshake
    fine_margin: float = 1.0  # lattice constants: how far the all-sites zone reaches out
    taylor_strain: float = 0.0  # > 0: Taylor far field below this principal strain
    precondition: bool = True  # static solve: L-BFGS preconditioned by the mesh's stiffness
    defect: str = "none"  # none, vacancy (site nearest the centre), edge_dipole, lomer_dipole
    dipole_planes: int = 6  # dipoles: planes (rows) between the two glide planes
    fmax: float = 1e-4  # eV/Å, for the static solve
    solve: str = "static"  # static (minimise) or dynamics (velocity Verlet, [dynamics])
    damping: float = 0.0  # 1/ps, the handshake damping band of coupled dynamics


@dataclass(frozen=True)
class CrackSpec:
    """A mode-I crack in the coupled model (with [coupling]): x propagation, y the crack-plane
    normal, z the front (the lattice's orientation; periodic along z only); its tip between
    the middle planes and columns, in the core; K raised from ``k_start`` by ``k_step`` to
    ``k_end`` (MPa m^0.5) until the atoms cleave or emit."""

    k_start: float = 0.3
    k_step: float = 0.05
    k_end: float = 1.5


@dataclass(frozen=True)
class IndentSpec:
    """Nanoindentation of the slab's free top (001) surface (with [coupling]; cube
    orientation, held sides and bottom) by a spherical repulsive indenter (LAMMPS's fix
    indent sphere: force K (R - r)^2 on atoms within R of its centre) of ``radius`` R (Å)
    and ``stiffness`` K (eV/Å^3) over ``position`` (x, y) Å, lowered by ``depth_step`` to
    ``max_depth`` (Å), the model relaxed at each depth; the P-h table goes to ``csv``."""

    radius: float = 20.0
    stiffness: float = 10.0
    depth_step: float = 0.25
    max_depth: float = 4.0
    position: tuple[float, ...] = ()
    csv: str = ""


@dataclass(frozen=True)
class NucleationSpec:
    """Dislocation nucleation from a surface step (with [coupling]; issue 30): a slab
    oriented x [110], y [001], z [1-10] (periodic along z, the step line only), its top
    (001) face free with a straight step ``step_layers`` (001) planes high along z, loaded
    uniaxially along x; its ``bottom`` "held" (a block, the half-space's stand-in) or
    "free" (a film). The core covers the slip plane under the upper terrace from the step
    to ``core_depth`` Å (0: ``glide_depth`` + 5 Å on a block, through a film) and, with
    ``surfaces``, the layers ``surface_radius`` lattice constants deep under the free
    faces; on a block the end state's partial is stopped ``glide_depth`` Å down its plane
    (the ``plane``-th of its family, counted from the step's re-entrant corner) by a pinned
    obstacle (docs/step_nucleation.md). The
    strain rises from ``load_start`` by ``load_step`` until
    the step nucleates (the quasi-static athermal strain); a climbing-image NEB of
    ``images`` inner images at each of ``strains`` gives Q(strain), its power-law fit, the
    athermal strain and the activation volume, written to ``json``, the energy paths and
    Q(tau) to ``plot`` and the saddle's atoms to ``saddle``."""

    step_layers: int = 2
    bottom: str = "held"
    glide_depth: float = 25.0
    plane: int = 1
    core_depth: float = 0.0
    surfaces: bool = True
    surface_radius: float = 0.6
    strains: tuple[float, ...] = (0.04, 0.045, 0.05, 0.055)
    load_start: float = 0.03
    load_step: float = 0.005
    load_end: float = 0.1
    images: int = 5
    spring: float = 1.0
    neb_fmax: float = 0.02
    max_iterations: int = 2000
    checkpoint_every: int = 50
    json: str = "step_nucleation.json"
    plot: str = "step_nucleation.png"
    saddle: str = "step_nucleation_saddle.png"


@dataclass(frozen=True)
class WaveSpec:
    """A plane wave packet leaving the core of a coupled 2D slab (with [coupling]; the lattice
    periodic along y only): carrier ``wavelength`` (lattice spacings), ``amplitude`` and
    envelope ``sigma`` (lattice spacings), launched +x from the core; the run reports the
    fraction of its energy reflected back into the core, with the handshake damping band
    ``[coupling] damping``."""

    wavelength: int = 4
    amplitude: float = 0.01
    sigma: float = 3.0


@dataclass(frozen=True)
class OutputSpec:
    """Files, relative to the working directory (empty: not written): ``checkpoint`` every
    ``checkpoint_every`` steps (0: only at the end and when stopped), keeping ``keep``
    previous ones; an H5MD ``trajectory`` (MDAnalysis) and a GSD one (``gsd``, OVITO) every
    ``trajectory_every`` steps; the thermo lines as ``thermo_csv``."""

    checkpoint: str = ""
    checkpoint_every: int = 0
    keep: int = 2
    trajectory: str = ""  # H5MD file of positions, images and velocities (MDAnalysis)
    gsd: str = ""  # GSD file of the same (OVITO)
    trajectory_every: int = 100
    thermo_csv: str = ""  # the thermo lines as CSV
    png: str = ""  # folder of PNG frames of a region's fields
    xyz: str = ""  # extended XYZ trajectory (ASE, OVITO), every trajectory_every steps
    mesh: str = ""  # XDMF + HDF5 of a coupled model's mesh fields (ParaView)
    progress: str = "auto"  # a progress bar: auto (on a terminal), always, never
    merge: bool = True  # on several MPI ranks: merge the trajectory's parts at the end


@dataclass(frozen=True)
class RegionSpec:
    """A case of one region physics beside mechanics (docs/design.md section 8): ``physics`` names it,
    and its own section ([bone], [diffusion]) holds its parameters; the run advances it to
    ``end_time`` in steps of ``dt`` (days for bone, seconds for diffusion)."""

    physics: str = "bone"
    end_time: float = 100.0
    dt: float = 1.0
    thermo: int = 1  # steps between thermo lines (0: start and end only)


@dataclass(frozen=True)
class BoneSpec:
    """Bone remodelling (qc_sim.regions.bone): a single cell or a P1 mesh with E = C rho^gamma."""

    law: str = "komarova"
    geometry: str = "point"
    divisions: tuple[int, ...] = ()
    size: tuple[float, ...] = ()
    load: float = 2.0
    perturbation: float = 10.0
    bone_mass: float = 100.0
    density: float = 1.0
    C: float = 100.0
    gamma: float = 2.0
    poisson: float = 0.3
    rho_min: float = 0.01
    rho_max: float = 1.74
    plane: str = "stress"
    rate: float = 1.0
    reference: float = 0.25
    bias_amplitude: float = 0.5
    bias_width: float = 1.0
    remedy: str = "none"
    mesh_file: str = ""
    fixed_side: str = "xlo"
    load_side: str = "xhi"
    traction: tuple[float, ...] = ()


@dataclass(frozen=True)
class DiffusionSpec:
    """Diffusion-reaction in a spherical particle (qc_sim.regions.diffusion); lengths µm,
    time s (any consistent units work: the region has no unit of its own)."""

    radius: float = 5.0
    diffusivity: float = 0.01
    prefactor: float = 0.0
    activation_energy: float = 0.0
    temperature: float = 0.0
    c0: float = 0.0
    c_eq: float = 1.0
    alpha: float = -1.0
    flux: float = 0.0
    model: str = "auto"
    tolerance: float = 1e-3
    time_of_interest: float = 0.0
    discretisation: str = "radial"
    cells: int = 200
    mesh_spacing: float = 0.0
    mass: str = "lumped"
    microstructure: str = ""
    phase_values: tuple[float, ...] = ()
    isotropy_tolerance: float = 0.02


@dataclass(frozen=True)
class RunSpec:
    backend: str = "auto"
    threads: int = 0
    rebalance: float = 1.1  # on MPI ranks: cut again when max / mean owned atoms passes it
    cuda_aware_mpi: bool = False  # on MPI ranks with GPUs: halos device to device


@dataclass(frozen=True)
class Case:
    """A whole case: ``path`` is the file it came from (relative paths resolve against it)."""

    path: Path
    run: RunSpec = field(default_factory=RunSpec)
    lattice: LatticeSpec = field(default_factory=LatticeSpec)
    potential: PotentialSpec = field(default_factory=PotentialSpec)
    dynamics: DynamicsSpec = field(default_factory=DynamicsSpec)
    coupling: CouplingSpec | None = None
    crack: CrackSpec | None = None
    indent: IndentSpec | None = None
    wave: WaveSpec | None = None
    nucleation: NucleationSpec | None = None
    output: OutputSpec = field(default_factory=OutputSpec)
    region: RegionSpec | None = None
    bone: BoneSpec | None = None
    diffusion: DiffusionSpec | None = None
    text: str = ""
    sections: tuple[str, ...] = ()  # the sections the file has
    plugins: dict = field(default_factory=dict)  # section -> spec of a plug-in region physics

    def __getattr__(self, name):
        """A plug-in region physics' section by its name (``case.tendon``), as the built-in
        sections are (:mod:`qc_sim.cases.plugins`)."""
        plugins = self.__dict__.get("plugins") or {}
        if name in plugins:
            return plugins[name]
        raise AttributeError(name)

    @property
    def physics_spec(self):
        """The section of this case's region physics (None for a mechanics case)."""
        if self.region is None:
            return None
        return getattr(self, self.region.physics, None)


CHOICES = {
    "run.backend": ("auto", "gpu", "cpu", "numpy"),
    "lattice.kind": ("fcc", "bcc", "sc", "triangular"),
    "potential.style": ("eam", "lj", "morse"),
    "dynamics.ensemble": ("nve", "langevin"),
    "coupling.method": ("bqce", "bgfc", "bqcf"),
    "coupling.defect": ("none", "vacancy", "edge_dipole", "lomer_dipole"),
    "output.progress": ("auto", "always", "never"),
    "coupling.solve": ("static", "dynamics"),
    "coupling.fine_zone": ("box", "sphere"),
    "nucleation.bottom": ("held", "free"),
    "region.physics": ("bone", "diffusion", *PLUGINS),
    "diffusion.model": ("auto", "full", "reduced", "galvanostatic"),
    "diffusion.discretisation": ("radial", "mesh"),
    "diffusion.mass": ("lumped", "consistent"),
    "bone.law": ("komarova", "stimulus"),
    "bone.geometry": ("point", "bar", "plate", "block", "file"),
    "bone.fixed_side": ("xlo", "xhi", "ylo", "yhi", "zlo", "zhi"),
    "bone.load_side": ("xlo", "xhi", "ylo", "yhi", "zlo", "zhi"),
    "bone.plane": ("stress", "strain"),
    "bone.remedy": ("none", "nodes"),
}
# What each key means, with its unit: the README's key tables are generated from this and
# the dataclasses above (scripts/case_keys.py), and a test keeps them in step.
KEY_DOCS = {
    "run.backend": "where the kernels run (auto: gpu, else cpu, else numpy)",
    "run.threads": "OpenMP threads of the cpu backend per rank (0: OMP_NUM_THREADS, else "
                   "the cores shared out among the ranks on a node)",
    "run.rebalance": "on several MPI ranks: at a re-exchange, cut the domain again (RCB) when "
                     "the largest rank's atom count passes this times the mean (0: never)",
    "run.cuda_aware_mpi": "on several MPI ranks with GPUs: pass the halo arrays to MPI on the "
                          "device (a CUDA-aware MPI library; refused when the library cannot "
                          "take them) instead of staging them through host memory",
    "lattice.kind": "crystal lattice (triangular is 2D)",
    "lattice.a": "lattice constant, Å",
    "lattice.species": "chemical elements (one, or several for a random alloy)",
    "lattice.fractions": "fraction of each species in a random alloy (sum 1)",
    "lattice.masses": "mass of each species, g/mol (default: the potential file's or the "
                      "element's)",
    "lattice.orientation": "Miller directions along x, y, z (orthogonal, right-handed)",
    "lattice.repeats": "cells along x, y, z ([nx, ny, 1] in 2D)",
    "lattice.periodic": "periodic along x, y, z",
    "lattice.seed": "random alloy seed",
    "potential.style": "eam (funcfl .eam, setfl .eam.alloy, .eam.fs by suffix), lj or morse",
    "potential.file": "EAM file: beside the case, in QC_SIM_POTENTIALS, qc-sim's shipped "
                      "files (docs/potentials.md) or the lammps package's potentials",
    "potential.epsilon": "LJ well depth, eV",
    "potential.sigma": "LJ length, Å",
    "potential.d0": "Morse well depth, eV",
    "potential.alpha": "Morse stiffness, 1/Å",
    "potential.r0": "Morse equilibrium distance, Å",
    "potential.cutoff": "pair cutoff, Å",
    "potential.shift": "shift the pair energy to zero at the cutoff",
    "potential.skin": "neighbour-list skin, Å",
    "dynamics.ensemble": "nve (velocity Verlet) or langevin (BAOAB splitting, noise keyed by "
                         "seed, step and atom id)",
    "dynamics.timestep": "time step, ps",
    "dynamics.steps": "steps to run",
    "dynamics.temperature": "initial Maxwell-Boltzmann temperature, K",
    "dynamics.seed": "seed of the initial velocities and the Langevin noise",
    "dynamics.thermostat_temperature": "Langevin target, K (negative: the initial "
                                       "temperature)",
    "dynamics.damping": "Langevin damping time, ps",
    "dynamics.thermo": "steps between thermo lines (0: start and end only)",
    "coupling.method": "coupling of atoms and continuum (docs/design.md section 6)",
    "coupling.core_radius": "radius of the atomistic core, lattice constants",
    "coupling.width": "handshake width, lattice constants",
    "coupling.center": "centre of the core, Å (default: the site nearest the box centre)",
    "coupling.far_field": "deformation gradient applied to the held boundary (default "
                          "identity)",
    "coupling.rate": "mesh coarsening rate beyond the handshake",
    "coupling.fine_zone": "where every lattice site is a node: the box around core and "
                          "handshake, or the sphere one lattice constant beyond the handshake "
                          "(far fewer nodes)",
    "coupling.fine_margin": "how far beyond the handshake every site is a node, lattice "
                            "constants",
    "coupling.taylor_strain": "elements whose largest principal strain stays below this take "
                              "the second-order Taylor expansion of Cauchy-Born (one sparse "
                              "product for the whole far field); 0: the full lattice sum "
                              "everywhere (static bgfc and bqce solves)",
    "coupling.precondition": "static solve by L-BFGS preconditioned with the mesh's elastic "
                             "stiffness (false: SciPy's L-BFGS, FIRE for bqcf)",
    "coupling.defect": "defect cut at the centre",
    "coupling.dipole_planes": "dipoles: the planes between the two glide planes ((001) planes "
                              "for lomer_dipole, close-packed rows for edge_dipole; the "
                              "cores one above the other at 45 degrees)",
    "coupling.fmax": "force tolerance of the static solve, eV/Å",
    "coupling.solve": "minimise, or run [dynamics] (nve) on atoms and nodes",
    "coupling.damping": "rate of the handshake damping band in coupled dynamics, 1/ps (0: "
                        "none)",
    "output.checkpoint": "HDF5 checkpoint file (empty: none)",
    "output.checkpoint_every": "steps between checkpoints (0: at the end and when stopped)",
    "output.keep": "previous checkpoints kept as NAME.1, NAME.2, ...",
    "output.trajectory": "H5MD trajectory (name it NAME.h5md: MDAnalysis.Universe opens it "
                         "by that name; h5py): positions, images, velocities, ids, species",
    "output.gsd": "GSD trajectory (NAME.gsd: OVITO opens it, as does the gsd package): the "
                  "same, and for a coupled model its atoms and nodes with the blend weight",
    "output.trajectory_every": "steps between trajectory frames (H5MD, GSD, XYZ and mesh)",
    "output.thermo_csv": "the thermo lines as CSV (scripts/plot_thermo.py draws it)",
    "output.xyz": "extended XYZ trajectory (ASE, OVITO)",
    "output.mesh": "XDMF + HDF5 of a coupled model's mesh: displacement, stress, blend "
                   "weight, zone (ParaView, meshio)",
    "crack.k_start": "the first applied stress intensity K_I, MPa m^0.5",
    "crack.k_step": "the increase of K between relaxations, MPa m^0.5",
    "crack.k_end": "the largest K tried if the atoms neither cleave nor emit, MPa m^0.5",
    "nucleation.step_layers": "the step's height, (001) planes (a/2 each)",
    "nucleation.bottom": "the slab's bottom face: held at the far field (a block, the "
                         "half-space's stand-in) or free (a film)",
    "nucleation.glide_depth": "on a block, how far down its plane (Å) the end state's partial "
                              "is stopped by a pinned obstacle",
    "nucleation.plane": "which (111) plane of the family the partial takes: 0 through the "
                        "step's re-entrant corner, 1, 2, ... the next ones, through the riser "
                        "(at most step_layers)",
    "nucleation.core_depth": "how far down the slip plane from the step the atomistic core "
                             "reaches, Å (0: glide_depth + 5 on a block, through a film)",
    "nucleation.surfaces": "the core also holds the layers under the free faces, end to end "
                           "(Cauchy-Born carries no surface stress)",
    "nucleation.surface_radius": "how deep under the free faces those layers reach, lattice "
                                 "constants",
    "nucleation.strains": "applied uniaxial strains of the NEBs (each below the quasi-static "
                          "nucleation strain)",
    "nucleation.load_start": "first strain of the quasi-static loading",
    "nucleation.load_step": "strain increment of the quasi-static loading",
    "nucleation.load_end": "largest strain the loading tries before giving up",
    "nucleation.images": "inner images of each climbing-image NEB",
    "nucleation.spring": "NEB spring constant, eV/Å^2",
    "nucleation.neb_fmax": "NEB convergence: largest NEB force, eV/Å",
    "nucleation.max_iterations": "largest number of FIRE iterations per NEB",
    "nucleation.checkpoint_every": "NEB iterations between checkpoints of the band "
                                   "([output] checkpoint; 0: none)",
    "nucleation.json": "file for the results (JSON)",
    "nucleation.plot": "file for the energy paths and Q(tau) (PNG; empty: none)",
    "nucleation.saddle": "file for the saddle's atoms coloured by structure (PNG; empty: "
                         "none)",
    "indent.radius": "the spherical indenter's radius R, Å",
    "indent.stiffness": "its force constant K, eV/Å^3: force K (R - r)^2 on an atom at r < R "
                        "from its centre (LAMMPS fix indent)",
    "indent.depth_step": "the depth added between relaxations, Å",
    "indent.max_depth": "the deepest depth below the reference surface, Å (the contact "
                        "radius there must lie one lattice constant inside the core)",
    "indent.position": "the indenter's axis (x, y), Å (default: the middle of the top "
                       "surface)",
    "indent.csv": "file for the load-depth table (CSV; empty: none)",
    "wave.wavelength": "the packet's carrier wavelength, lattice spacings (>= 3)",
    "wave.amplitude": "the packet's displacement amplitude, lattice spacings",
    "wave.sigma": "the packet's Gaussian envelope, lattice spacings",
    "output.merge": "on several MPI ranks the H5MD and GSD trajectories are written as one "
                    "part file per rank (NAME.partK, NAME the H5MD file's name, else the GSD "
                    "one's); merge them into those files when the run ends (false: leave that "
                    "to `qc-sim merge NAME`)",
    "output.progress": "progress bar on stderr: auto (on a terminal), always or never",
    "output.png": "folder for PNG frames of a region's fields (every trajectory_every steps)",
    "region.physics": "the region physics of the case; its parameters are in its own section",
    "region.end_time": "time to run to (days for bone, s for diffusion)",
    "region.dt": "macro time step (same unit); a region sub-steps inside it as it needs",
    "region.thermo": "steps between thermo lines (0: start and end only)",
    "bone.law": "micro law: komarova (cell populations, Komarova et al. 2003) or stimulus "
                "(Huiskes/Weinans drho/dt = B (U/rho - k))",
    "bone.geometry": "point (one cell, no mechanics), bar (uniaxial), plate (2D, Weinans 1992), "
                     "block (3D bending) or file (mesh_file)",
    "bone.divisions": "elements per side of the structured mesh (default per geometry)",
    "bone.size": "mesh box, mm (default per geometry)",
    "bone.load": "MPa: bar stress, plate pressure, block shear traction",
    "bone.perturbation": "point geometry: osteoclasts above their steady state at the start "
                         "(the single remodelling cycle: 10); a mesh starts at steady state",
    "bone.bone_mass": "bone mass z at the reference density (percent)",
    "bone.density": "reference and initial apparent density, g/cm^3",
    "bone.C": "E = C rho^gamma, MPa (g/cm^3)^-gamma",
    "bone.gamma": "density exponent of the stiffness",
    "bone.poisson": "Poisson's ratio",
    "bone.rho_min": "lower density bound, g/cm^3",
    "bone.rho_max": "upper density bound, g/cm^3",
    "bone.plane": "2D: plane stress or plane strain",
    "bone.rate": "stimulus law rate B, (g/cm^3)^2/(MPa day)",
    "bone.reference": "stimulus law reference k, J/g",
    "bone.bias_amplitude": "komarova on a mesh: osteoblast production scaled by "
                           "1 + a tanh((S/S_ref - 1)/w), this is a",
    "bone.bias_width": "and this is w (S_ref: the mean initial stimulus)",
    "bone.remedy": "against the checkerboard: none or nodes (node-based density)",
    "bone.mesh_file": "geometry file: a triangle or tetrahedron mesh meshio reads (Gmsh, "
                      "VTK, ...), mm",
    "bone.fixed_side": "geometry file: the side of its bounding box held fixed",
    "bone.load_side": "geometry file: the side of its bounding box loaded by traction",
    "bone.traction": "geometry file: traction on load_side, MPa (d components)",
    "diffusion.radius": "particle radius, µm",
    "diffusion.diffusivity": "D, µm^2/s (unless prefactor is given)",
    "diffusion.prefactor": "Arrhenius D0, µm^2/s (0: constant diffusivity); D = D0 "
                           "exp(-Ea / kB T), for example from qc-sim properties --rates",
    "diffusion.activation_energy": "Arrhenius Ea, eV",
    "diffusion.temperature": "K, for the Arrhenius law",
    "diffusion.c0": "initial uniform concentration",
    "diffusion.c_eq": "equilibrium (surface) concentration",
    "diffusion.alpha": "surface reaction rate constant, µm/s: flux alpha (c_eq - c(a)) "
                       "(negative: none; needed by full and auto)",
    "diffusion.flux": "galvanostatic inward flux D dc/dr(a), concentration µm/s",
    "diffusion.model": "full (reaction), reduced (c(a) = c_eq), auto (by the Damköhler "
                       "number Da = alpha a / D and the tolerance) or galvanostatic",
    "diffusion.tolerance": "auto: the largest uptake error the reduced model may make",
    "diffusion.time_of_interest": "auto: the time the error is judged at, s (0: end_time)",
    "diffusion.discretisation": "radial (1D spherical shells) or mesh (P1 tetrahedra)",
    "diffusion.cells": "radial shells",
    "diffusion.mesh_spacing": "tetrahedron edge, µm (0: radius / 8)",
    "diffusion.mass": "mesh: lumped or consistent mass matrix",
    "diffusion.microstructure": "a voxel image (.npy) or phase mesh of the particle's porous "
                                "microstructure: homogenised first, its effective tensor "
                                "and porosity eps then set D = diffusivity K_eff / eps and "
                                "alpha / eps (diffusivity is the pore phase's)",
    "diffusion.phase_values": "conductivity of each phase of the microstructure, pores "
                              "first (default for a 0/1 image: [1, 0])",
    "diffusion.isotropy_tolerance": "largest relative spread of K_eff's eigenvalues the "
                                    "isotropic particle model accepts",
}
SECTIONS = {"run": RunSpec, "lattice": LatticeSpec, "potential": PotentialSpec,
            "dynamics": DynamicsSpec, "coupling": CouplingSpec, "crack": CrackSpec,
            "indent": IndentSpec, "wave": WaveSpec, "nucleation": NucleationSpec,
            "output": OutputSpec,
            "region": RegionSpec, "bone": BoneSpec, "diffusion": DiffusionSpec}


def case_keys_markdown() -> str:
    """The case-file keys as Markdown tables, one per section: key, type, default, allowed
    values and meaning (the README's tables; scripts/case_keys.py writes them)."""

    def kind(value):
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, tuple):
            return "list"
        return type(value).__name__

    def show(value):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return "[" + ", ".join(show(v) for v in value) + "]"
        if isinstance(value, str):
            return f'"{value}"'
        return repr(value)

    blocks = []
    sections = [(section, cls, CHOICES, KEY_DOCS) for section, cls in SECTIONS.items()]
    for section, module in available().items():
        sections.append((section, module.Spec,
                         {f"{section}.{k}": v for k, v in module.CHOICES.items()},
                         {f"{section}.{k}": v for k, v in module.KEY_DOCS.items()}))
    for section, cls, choices, docs in sections:
        rows = [f"**[{section}]**", "", "| key | type | default | allowed | meaning |",
                "| --- | --- | --- | --- | --- |"]
        defaults = cls()
        for f in fields(cls):
            key = f"{section}.{f.name}"
            value = getattr(defaults, f.name)
            allowed = ", ".join(f"`{c}`" for c in choices.get(key, ()))
            rows.append(f"| `{f.name}` | {kind(value)} | `{show(value)}` | {allowed} | "
                        f"{docs[key]} |")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n"


def _fail(path, key, msg):
    raise InputError(f"{path}: [{key}] {msg}" if key else f"{path}: {msg}")


def _unknown(path, prefix, key, allowed):
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    _fail(path, prefix, f"unknown key '{key}'{hint} (allowed: {', '.join(sorted(allowed))})")


def _coerce(path, key, value, default):
    """``value`` converted to the type of ``default``, or a one-line InputError."""
    kind = type(default)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            _fail(path, key, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, key, f"expected an integer, got {value!r}")
        if abs(value) >= 2**62:
            _fail(path, key, f"integer out of range: {value}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(path, key, f"expected a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if not math.isfinite(number):
            _fail(path, key, f"expected a finite number, got {value!r}")
        return number
    if isinstance(default, str):
        if not isinstance(value, str):
            _fail(path, key, f"expected a string, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list):
            _fail(path, key, f"expected a list, got {value!r}")
        if key.endswith("far_field"):
            item = (0.0,)
        elif default:
            item = default[0]
        else:
            item = (0.0 if key.endswith(("fractions", "masses", "center", "size",
                                         "phase_values", "traction", "position"))
                    else 0 if key.endswith("divisions") else "")
        return tuple(_coerce(path, f"{key}[{k}]", v, item) for k, v in enumerate(value))
    raise TypeError(kind)


def _section(path, name, table, cls, choices_of=None):
    if not isinstance(table, dict):
        _fail(path, name, "expected a table")
    defaults = cls()
    allowed = [f.name for f in fields(cls)]
    values = {}
    for key, value in table.items():
        if key not in allowed:
            _unknown(path, name, key, allowed)
        values[key] = _coerce(path, f"{name}.{key}", value, getattr(defaults, key))
        choices = (CHOICES.get(f"{name}.{key}") if choices_of is None
                   else choices_of.get(key))
        if choices and values[key] not in choices:
            _fail(path, f"{name}.{key}", f"'{values[key]}' is not one of {', '.join(choices)}")
    return cls(**values)


def parse_case(text: str, path: Path) -> Case:
    """Parse and validate case-file text (``path`` is used in messages and for relative files)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        _fail(path, "", f"not valid TOML: {exc}")
    parts, plugins = {}, {}
    for key, table in data.items():
        if key in SECTIONS:
            parts[key] = _section(path, key, table, SECTIONS[key])
            continue
        if key not in PLUGINS:
            _unknown(path, "", key, list(SECTIONS) + list(PLUGINS))
        try:
            module = plugin(key)
        except ModuleNotFoundError:
            _fail(path, key, f"region physics '{key}' is not part of this installation")
        plugins[key] = _section(path, key, table, module.Spec, module.CHOICES)
    case = Case(path=Path(path), text=text, sections=tuple(data), plugins=plugins, **parts)
    from qc_sim.cases.checks import check_case

    check_case(case)
    return case


def load_case(path) -> Case:
    """Read and validate a case file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the case file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); a case file is TOML") from None
    return parse_case(text, path)
