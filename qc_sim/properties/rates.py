"""Rates bridged up from the atoms: harmonic transition-state theory for the vacancy hop.

Vineyard (J. Phys. Chem. Solids 3 (1957) 121): a hop over a saddle with energy E_m above
the minimum happens at the rate ``k(T) = nu* exp(-E_m / kB T)`` with the prefactor

    nu* = prod_{i=1}^{3N-3} nu_i(minimum) / prod_{i=1}^{3N-4} nu_i(saddle),

the normal-mode frequencies of the minimum over the real ones of the saddle (the three
translations of a periodic crystal and the saddle's unstable mode left out), summed as logs.
A vacancy that makes ``z`` such hops of length ``lambda`` diffuses with
``D_v = (z lambda^2 / 6) k(T)`` (fcc: z = 12, lambda = a/sqrt 2; bcc: z = 8,
lambda = a sqrt 3/2; both give a^2 k), an Arrhenius law that a diffusion region can take as
its coefficient (:class:`Arrhenius`). This is classical harmonic TST at the 0 K geometry:
no quantum correction, anharmonicity or thermal expansion.

The Hessian comes from the same force kernels as every other number: central differences of
the forces, ``H[:, j] = -(F(x + h e_j) - F(x - h e_j)) / 2h``, symmetrised. Units: Å, eV,
g/mol inside; frequencies in Hz, rates in 1/s, diffusivities in m^2/s outside.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from qc_sim.errors import InputError
from qc_sim.regions.diffusion import Arrhenius
from qc_sim.units import MVV2E

# Central-difference step of the Hessian, Å. Truncation error ~ h^2/6 d^3F/dx^3 (measured for
# the Cu vacancy at h = 1e-3 Å: max |H - H^T| 2e-7 eV/Å^2 at the minimum, 5e-6 at the saddle),
# round-off ~ 1e-15 eV/Å / h ~ 1e-12 eV/Å^2: both far below the smallest vibrational
# eigenvalue of the 3 to 6 cell supercells (0.3 to 0.9 eV/Å^2). Forces do not depend on when the
# neighbour list was rebuilt, so the differences carry no list artefact.
HESSIAN_STEP = 1.0e-3

# (hops per site z, hop length lambda per lattice constant)
JUMP_GEOMETRY = {"fcc": (12, 1.0 / math.sqrt(2.0)), "bcc": (8, math.sqrt(3.0) / 2.0)}

_PS_TO_S = 1.0e-12
_A_TO_M = 1.0e-10


# -- Hessian ------------------------------------------------------------------------------


def atoms_within(system, centre, radius: float) -> np.ndarray:
    """Indices of the atoms of ``system`` within ``radius`` Å of ``centre`` (3,) Å (nearest
    periodic image), sorted."""
    if not radius > 0.0:
        raise InputError(f"radius must be positive, got {radius}")
    x = system.device.to_host(system.positions)
    d = system.box.minimum_image(x - np.asarray(centre, float)[None, :])
    return np.flatnonzero(np.linalg.norm(d, axis=1) <= radius)


def force_hessian(system, atoms=None, step: float = HESSIAN_STEP,
                  symmetrise: bool = True) -> np.ndarray:
    """Hessian of the energy, (3m, 3m) eV/Å^2 on the host, by central differences of the
    forces with step ``step`` Å (2 * 3m force evaluations).

    ``atoms`` (m,) indices: only these atoms are displaced and only their forces kept, the
    others held where they are (the Hessian block of a region around a defect); default
    every atom. Rows and columns run atom by atom, x y z. The positions of ``system`` are
    restored exactly on return."""
    if not step > 0.0:
        raise InputError(f"step must be positive, got {step}")
    n = len(system)
    atoms = np.arange(n) if atoms is None else np.asarray(atoms, dtype=np.int64)
    if (atoms.size == 0 or atoms.min() < 0 or atoms.max() >= n
            or np.unique(atoms).size != atoms.size):
        raise InputError(f"atoms must be distinct indices in [0, {n}), got {atoms.size} of them")
    device = system.device
    x0 = system.positions.copy()
    rows = device.asarray(atoms)
    hessian = np.empty((3 * atoms.size, 3 * atoms.size))
    try:
        for k, i in enumerate(atoms):
            for c in range(3):
                sides = []
                for sign in (1.0, -1.0):
                    x = x0.copy()
                    x[int(i), c] += sign * step
                    system.set_positions(x)
                    f = system.compute(energy=False, virial=False).forces
                    sides.append(device.to_host(f[rows]).reshape(-1))
                hessian[:, 3 * k + c] = -(sides[0] - sides[1]) / (2.0 * step)
    finally:
        system.set_positions(x0)
    return 0.5 * (hessian + hessian.T) if symmetrise else hessian


# -- normal modes and Vineyard's prefactor ------------------------------------------------


class ModeCountError(ValueError):
    """A spectrum that is not that of a minimum (no unstable mode) or of a first-order
    saddle (one), beside its zero modes."""


@dataclass(frozen=True)
class NormalModes:
    """Eigen-decomposition of the mass-weighted Hessian M^-1/2 H M^-1/2.

    frequencies (3m,) Hz, ascending, signed: an unstable mode (negative eigenvalue) has a
    negative entry, minus its imaginary frequency |omega|/2 pi. vectors (3m, 3m): the
    orthonormal mass-weighted eigenvectors, column by column. atoms (m,): the atoms.
    """

    frequencies: np.ndarray
    vectors: np.ndarray
    atoms: np.ndarray

    def split(self, zero_modes: int, unstable: int):
        """(zero, unstable, stable) frequencies, Hz: the ``zero_modes`` smallest in magnitude,
        then the ``unstable`` most negative of the rest, then all others (which must be
        positive). ModeCountError when the spectrum does not have that shape."""
        nu = self.frequencies
        order = np.argsort(np.abs(nu), kind="stable")
        zero, rest = nu[order[:zero_modes]], np.sort(nu[order[zero_modes:]])
        negative = int(np.sum(rest < 0.0))
        if negative != unstable:
            raise ModeCountError(f"expected {unstable} unstable mode(s) besides {zero_modes} "
                                 f"zero modes, found {negative} (lowest {rest[:3] / 1e12} THz)")
        return zero, rest[:unstable], rest[unstable:]


def normal_modes(hessian: np.ndarray, masses, atoms=None) -> NormalModes:
    """Normal modes of ``hessian`` (3m, 3m) eV/Å^2 for atoms of ``masses`` (m,) or one mass
    for all, g/mol (scipy.linalg.eigh of the mass-weighted matrix)."""
    from scipy.linalg import eigh

    m = hessian.shape[0] // 3
    masses = np.broadcast_to(np.asarray(masses, float), (m,))
    w = 1.0 / np.sqrt(np.repeat(masses, 3))
    eigenvalues, vectors = eigh(hessian * w[:, None] * w[None, :])
    # eV / (Å^2 g/mol) / MVV2E = 1/ps^2; omega in rad/ps
    omega = np.sign(eigenvalues) * np.sqrt(np.abs(eigenvalues) / MVV2E)
    atoms = np.arange(m) if atoms is None else np.asarray(atoms)
    return NormalModes(omega / (2.0 * math.pi) / _PS_TO_S, vectors, atoms)


def log_vineyard_prefactor(minimum: NormalModes, saddle: NormalModes,
                           zero_modes: int) -> float:
    """ln(nu* / Hz): sum ln nu over the minimum's stable modes less the sum over the
    saddle's, ``zero_modes`` zero modes dropped at both and one unstable mode at the saddle."""
    if minimum.frequencies.size != saddle.frequencies.size:
        raise ValueError("the minimum and the saddle must have the same degrees of freedom")
    stable_min = minimum.split(zero_modes, 0)[2]
    stable_saddle = saddle.split(zero_modes, 1)[2]
    return float(np.sum(np.log(stable_min)) - np.sum(np.log(stable_saddle)))


def vineyard_prefactor(minimum: NormalModes, saddle: NormalModes, zero_modes: int) -> float:
    """Vineyard's nu*, Hz (see :func:`log_vineyard_prefactor`)."""
    return math.exp(log_vineyard_prefactor(minimum, saddle, zero_modes))


# -- rates and the Arrhenius law ----------------------------------------------------------


DIFFUSIVITY_UNITS = {"m^2/s": 1.0, "A^2/ps": 1.0e20 / 1.0e12}  # per m^2/s


def vacancy_diffusivity(prefactor: float, barrier: float, lattice_constant: float,
                        lattice: str = "fcc", unit: str = "m^2/s") -> Arrhenius:
    """D_v(T) = (z lambda^2 / 6) nu* exp(-E_m / kB T) as a callable of T (K) with
    ``prefactor`` D0 and ``activation_energy`` E_m (eV): ``prefactor`` nu* in Hz, ``barrier``
    E_m in eV, ``lattice_constant`` in Å, ``lattice`` "fcc" or "bcc". ``unit`` of D: "m^2/s"
    (reports) or "A^2/ps", qc-sim's own units, which a diffusion region takes as its
    coefficient (1 m^2/s = 1e8 Å^2/ps)."""
    if lattice not in JUMP_GEOMETRY:
        raise InputError(f"lattice {lattice!r} is not one of {', '.join(JUMP_GEOMETRY)}")
    if unit not in DIFFUSIVITY_UNITS:
        raise InputError(f"unit {unit!r} is not one of {', '.join(DIFFUSIVITY_UNITS)}")
    if not lattice_constant > 0.0:
        raise InputError(f"lattice_constant must be positive, got {lattice_constant}")
    z, hop = JUMP_GEOMETRY[lattice]
    length = hop * lattice_constant * _A_TO_M
    return Arrhenius(z * length ** 2 / 6.0 * prefactor * DIFFUSIVITY_UNITS[unit], barrier)


# -- the vacancy hop ----------------------------------------------------------------------


@dataclass(frozen=True)
class VacancyHopRates:
    """Harmonic TST of the nearest-neighbour vacancy hop in a ``repeats`` supercell of
    ``atoms`` atoms.

    barrier E_m (eV, climbing image less minimum); prefactor nu* (Hz); rate k(T) (1/s) and
    diffusivity D_v(T) (m^2/s) as :class:`Arrhenius` laws; the normal modes at the minimum
    and the saddle; zero_modes, the translations dropped (3 for the whole periodic crystal,
    0 for a region with the rest held); the NEB result; timings (s) by stage."""

    element: str
    lattice: str
    lattice_constant: float
    repeats: tuple
    atoms: int
    barrier: float
    prefactor: float
    rate: Arrhenius
    diffusivity: Arrhenius
    minimum: NormalModes
    saddle: NormalModes
    zero_modes: int
    neb: object
    timings: dict = field(default_factory=dict)

    @property
    def unstable_frequency(self) -> float:
        """|nu| of the saddle's unstable mode, Hz (its frequency is imaginary)."""
        return float(-self.saddle.split(self.zero_modes, 1)[1][0])


def climbing_image_hop(potential, element, kind, a0, device, repeats=(4, 4, 4), images=5,
                       spring=0.1, fmax=1e-3, max_steps=20_000, interpolation="linear",
                       endpoint_fmax=1e-5):
    """The vacancy hop of :func:`qc_sim.properties.defects.vacancy_migration`, returning
    also its geometry: (relaxed initial system, climbing-image system, NebResult). The end
    points are relaxed to ``endpoint_fmax`` and the band to ``fmax`` eV/Å, tighter than the
    barrier alone needs: the Hessians are taken there."""
    from qc_sim.properties.defects import vacancy_hop_neb

    if images < 1:
        raise InputError(f"images must be at least 1, got {images}")
    if interpolation not in ("linear", "idpp"):
        raise InputError(f"interpolation {interpolation!r} is not one of linear, idpp")
    path, result = vacancy_hop_neb(potential, element, kind, a0, device, repeats, images,
                                   spring, fmax, max_steps, interpolation,
                                   endpoint_fmax=endpoint_fmax)
    top = int(np.argmax(result.energies[1:-1])) + 1
    return path[0], path[top], result


RATE_STAGES = ("vacancy hop (CI-NEB)", "Hessians at the minimum and the saddle")


def vacancy_hop_rates(potential, element, kind, a0, device, repeats=(4, 4, 4), images=5,
                      fmax=1e-3, max_steps=20_000, interpolation="linear", radius=None,
                      step=HESSIAN_STEP, mass=None, progress=None) -> VacancyHopRates:
    """Harmonic TST of the vacancy hop in a ``repeats`` supercell of the ``kind`` crystal of
    ``element`` with lattice constant ``a0`` Å: the climbing-image NEB (band relaxed to
    ``fmax`` eV/Å) for the saddle, then the Hessians of the whole crystal at the relaxed
    minimum and at the climbing image. With ``radius`` Å, only the block of the atoms that
    close to the hopping atom at the saddle, the rest held: cheaper, but for the Cu vacancy
    nu* then stays tens of percent off the whole-crystal value up to radius 12 Å, so the
    whole crystal is the default. ``mass`` g/mol defaults to the element's standard atomic
    weight. ``progress(stage_index, seconds)`` is told as each of RATE_STAGES ends.
    NotConverged when the NEB does not converge; ModeCountError when the spectra are not
    those of a minimum and a first-order saddle."""
    from qc_sim.geometry.elements import standard_mass
    from qc_sim.solvers.protocol import NotConverged

    if kind not in JUMP_GEOMETRY:
        raise InputError(f"lattice {kind!r} is not one of {', '.join(JUMP_GEOMETRY)}")
    if len(repeats) != 3 or min(repeats) < 2:
        raise InputError(f"repeats must be three cell counts >= 2, got {tuple(repeats)}")
    timings = {}

    def stage(k, fn):
        start = time.perf_counter()
        result = fn()
        timings[RATE_STAGES[k]] = time.perf_counter() - start
        if progress is not None:
            progress(k, timings[RATE_STAGES[k]])
        return result

    minimum, saddle, neb = stage(0, lambda: climbing_image_hop(
        potential, element, kind, a0, device, repeats, images, fmax=fmax, max_steps=max_steps,
        interpolation=interpolation))
    if not neb.converged:
        raise NotConverged(neb)
    atoms, zero_modes = None, 3
    if radius is not None:
        x_min, x_sad = (s.device.to_host(s.positions) for s in (minimum, saddle))
        hopper = int(np.argmax(np.linalg.norm(x_sad - x_min, axis=1)))
        atoms = atoms_within(saddle, x_sad[hopper], radius)
        atoms, zero_modes = (None, 3) if atoms.size == len(saddle) else (atoms, 0)
    mass = standard_mass(element) if mass is None else mass
    modes = stage(1, lambda: [normal_modes(force_hessian(s, atoms, step), mass, atoms)
                              for s in (minimum, saddle)])
    nu = math.exp(log_vineyard_prefactor(*modes, zero_modes))
    barrier = float(neb.barrier)
    return VacancyHopRates(element, kind, float(a0), tuple(repeats), len(minimum), barrier, nu,
                           Arrhenius(nu, barrier), vacancy_diffusivity(nu, barrier, a0, kind),
                           modes[0], modes[1], zero_modes, neb, timings)


# -- reports ------------------------------------------------------------------------------


def as_json(rates: VacancyHopRates, temperatures) -> dict:
    """The numbers of ``qc-sim properties --rates --json``; maps keyed by temperature (K)."""
    keys = [f"{t:g}" for t in temperatures]
    zero = lambda modes, unstable: [float(v) for v in modes.split(rates.zero_modes, unstable)[0]]
    return {
        "element": rates.element, "lattice": rates.lattice,
        "lattice_constant": rates.lattice_constant, "supercell": list(rates.repeats),
        "atoms": rates.atoms, "hessian_atoms": int(rates.minimum.atoms.size),
        "vacancy_migration_energy": rates.barrier,
        "vineyard_prefactor": rates.prefactor,
        "saddle_imaginary_frequency": rates.unstable_frequency,
        "zero_mode_frequencies": {"minimum": zero(rates.minimum, 0),
                                  "saddle": zero(rates.saddle, 1)},
        "diffusivity_prefactor": rates.diffusivity.prefactor,
        "hop_rate": {k: rates.rate(t) for k, t in zip(keys, temperatures)},
        "diffusivity": {k: rates.diffusivity(t) for k, t in zip(keys, temperatures)},
        "neb": {"images": len(rates.neb.energies) - 2, "converged": rates.neb.converged,
                "steps": rates.neb.steps, "energies": [float(e) for e in rates.neb.energies]},
        "units": {"energy": "eV", "length": "Å", "frequency": "Hz", "rate": "1/s",
                  "diffusivity": "m^2/s", "temperature": "K"},
    }


def text_report(rates: VacancyHopRates, temperatures) -> str:
    d = rates.diffusivity
    where = (f"all {rates.atoms} atoms" if rates.zero_modes else
             f"{rates.minimum.atoms.size} of {rates.atoms} atoms (near the hop, the rest held)")
    lines = [
        f"{rates.element} ({rates.lattice}): vacancy hop by harmonic transition-state theory "
        "(Vineyard 1957)",
        f"  supercell                   {'x'.join(map(str, rates.repeats))} cells, "
        f"{len(rates.neb.energies) - 2} inner NEB images; Hessian of {where}",
        f"  lattice constant            {rates.lattice_constant:.5f} Å",
        f"  vacancy migration E_m       {rates.barrier:.4f} eV (climbing image)",
        f"  saddle unstable mode        {rates.unstable_frequency / 1e12:.3f}i THz",
        f"  Vineyard prefactor nu*      {rates.prefactor:.4e} Hz",
        f"  D_v = D0 exp(-E_m / kB T)   D0 = {d.prefactor:.4e} m^2/s",
        "      T (K)      k (1/s)        D_v (m^2/s)",
    ]
    lines += [f"  {t:9g}   {rates.rate(t):.4e}   {d(t):.4e}" for t in temperatures]
    return "\n".join(lines)
