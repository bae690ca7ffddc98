"""Pair potentials: Lennard-Jones and Morse, plain or shifted to zero energy at the cutoff.

Parameters are per pair of species (symmetric tables); a scalar applies to every pair.
Kernels: ``kernels/pair.cu``; reference: :func:`pair_reference` below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qc_sim.potentials.base import ForceResult, bond_virial, gather_pairs, pair_vectors

STYLES = {"lj": 0, "morse": 1}
NPARAM = 5


def _table(value, ntypes: int, name: str) -> np.ndarray:
    t = np.broadcast_to(np.asarray(value, dtype=float), (ntypes, ntypes)).copy()
    if not np.allclose(t, t.T):
        raise ValueError(f"{name} must be symmetric in the two species")
    return t


def _pair_energy(style: str, p: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Unshifted pair energy at distance r for one species pair's parameters."""
    if style == "lj":
        s6 = (p[1] / r) ** 6
        return 4.0 * p[0] * (s6 * s6 - s6)
    ex = np.exp(-p[1] * (r - p[2]))
    return p[0] * (ex * ex - 2.0 * ex)


@dataclass(frozen=True)
class PairPotential:
    """A pair potential of one style with a (ntypes, ntypes, NPARAM) parameter table.

    Build it with :func:`lennard_jones` or :func:`morse`.
    """

    style: str
    params: np.ndarray = field(repr=False)
    species: tuple[str, ...]
    shifted: bool

    @property
    def cutoff(self) -> float:
        col = 2 if self.style == "lj" else 3
        return float(self.params[:, :, col].max())

    def site_terms(self, r, species: int = 0):
        """Energy of a site of ``species`` whose neighbours (all of that species) lie at
        distances ``r`` (..., m) Å, and its derivative in each distance: (E (...), dE/dr
        (..., m)). Half of each bond is the site's (docs/design.md section 6). The Cauchy-Born
        material evaluates the potential through this call."""
        r = np.asarray(r, float)
        p = self.params[species, species]
        rc = p[2] if self.style == "lj" else p[3]
        inside = r < rc
        safe = np.where(inside, r, rc)
        e, g = _energy_and_g(self.style, np.broadcast_to(p, safe.shape + (NPARAM,)).reshape(-1, NPARAM),
                             safe.reshape(-1))
        e = np.where(inside, e.reshape(r.shape), 0.0)
        dedr = np.where(inside, -(g * safe.reshape(-1)).reshape(r.shape), 0.0)
        return 0.5 * e.sum(axis=-1), 0.5 * dedr

    def kernel_params(self) -> np.ndarray:
        return np.ascontiguousarray(self.params.reshape(-1))

    def compute(self, device, positions, types, box, nlist, energy=True, virial=True,
                weights=None, halo=None):
        """ForceResult of the energy, or of sum_i w_i E_i with per-atom ``weights``. With list
        rows for the first atoms only (a rank's owned atoms), the others' (ghosts') forces,
        energies and virials are zero; a pair potential needs no ``halo``."""
        if not device.compiled:
            return pair_reference(self, device.xp, positions, types, box.lengths, nlist, energy,
                                  virial, weights)
        xp = device.xp
        n = positions.shape[0]
        rows = nlist.rows
        half = getattr(nlist, "half", None)
        if half is not None:
            if weights is not None:
                raise ValueError("weighted forces need full rows (AtomisticSystem.use_full_rows)")
            return self._compute_half(device, positions, types, box, nlist, half, energy,
                                      virial)
        alloc = xp.zeros if rows < n else xp.empty
        forces = alloc((n, 3))
        site = alloc(n) if energy else xp.empty(1)
        vir = alloc((n, 6)) if virial else xp.empty((1, 6))
        k = device.kernels("pair")
        k.pair_force(rows, STYLES[self.style], len(self.species), device.asarray(self.kernel_params()),
                     positions, types, device.asarray(box.lengths), nlist.neighbors, nlist.images,
                     nlist.counts, nlist.capacity, self.cutoff**2,
                     xp.ones(1) if weights is None else weights, int(weights is not None),
                     int(energy), int(virial), forces, site, vir)
        return ForceResult(forces, site if energy else None, vir if virial else None)


    def _compute_half(self, device, positions, types, box, nlist, half, energy, virial):
        """The half-row kernel over upper rows (one CPU thread): bitwise the full-row results,
        half the pairs."""
        n = positions.shape[0]
        forces, scratch = np.empty((n, 3)), np.empty(n)
        site = np.zeros(n) if energy else np.empty(1)
        vir = np.empty((n, 6)) if virial else np.empty((1, 6))
        device.kernels("pair").pair_force_half(
            n, half.owned, half.order, STYLES[self.style], len(self.species),
            device.asarray(self.kernel_params()), positions, types, device.asarray(box.lengths),
            nlist.neighbors, nlist.images, nlist.counts, nlist.capacity, self.cutoff**2,
            int(energy), int(virial), forces, scratch, site, vir)
        return ForceResult(forces, site if energy else None, vir if virial else None)

    @property
    def half_rows(self) -> bool:
        """Whether the half-row kernel applies: the parameters of (a, b) are those of (b, a)."""
        p = np.asarray(self.params)
        return bool(np.array_equal(p, p.transpose(1, 0, 2)))


def _make(style, columns, species, cutoff, shift):
    nt = len(species)
    tables = [_table(c, nt, name) for name, c in columns] + [_table(cutoff, nt, "cutoff")]
    params = np.zeros((nt, nt, NPARAM))
    for k, t in enumerate(tables):
        params[:, :, k] = t
    if shift:
        col = len(tables)
        for a in range(nt):
            for b in range(nt):
                params[a, b, col] = _pair_energy(style, params[a, b], params[a, b, col - 1])
    return PairPotential(style, params, tuple(species), bool(shift))


def lennard_jones(epsilon, sigma, cutoff, species=("X",), shift=False) -> PairPotential:
    """4 eps [(sigma/r)^12 - (sigma/r)^6] for r < cutoff; eps in eV, sigma and cutoff in Å."""
    return _make("lj", [("epsilon", epsilon), ("sigma", sigma)], species, cutoff, shift)


def morse(d0, alpha, r0, cutoff, species=("X",), shift=False) -> PairPotential:
    """D0 [exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))] for r < cutoff (eV, 1/Å, Å)."""
    return _make("morse", [("d0", d0), ("alpha", alpha), ("r0", r0)], species, cutoff, shift)


def pair_reference(pot: PairPotential, xp, positions, types, box_lengths, nlist, energy, virial,
                   weights=None):
    """Readable NumPy version of ``kernels/pair.cu``: same inputs, same ForceResult."""
    n = positions.shape[0]
    i, j, d = pair_vectors(xp, positions, box_lengths, nlist.neighbors, nlist.images, nlist.counts)
    p = pot.params[types[i], types[j]]
    r = np.sqrt((d * d).sum(axis=1))
    rc = p[:, 2] if pot.style == "lj" else p[:, 3]
    keep = r < rc
    i, d, p, r = i[keep], d[keep], p[keep], r[keep]
    e, g = _energy_and_g(pot.style, p, r)
    if weights is not None:
        g = g * (0.5 * (weights[i] + weights[j[keep]]))
    forces = gather_pairs(xp, n, i, g[:, None] * d)
    site = 0.5 * gather_pairs(xp, n, i, e) if energy else None
    if site is not None and weights is not None:
        site = site * weights
    vir = gather_pairs(xp, n, i, bond_virial(d, g)) if virial else None
    return ForceResult(forces, site, vir)


def _energy_and_g(style, p, r):
    """Shifted pair energy and g = -(de/dr)/r for arrays of bonds."""
    if style == "lj":
        s6 = (p[:, 1] / r) ** 6
        e = 4.0 * p[:, 0] * (s6 * s6 - s6) - p[:, 3]
        g = 24.0 * p[:, 0] * (2.0 * s6 * s6 - s6) / (r * r)
        return e, g
    ex = np.exp(-p[:, 1] * (r - p[:, 2]))
    e = p[:, 0] * (ex * ex - 2.0 * ex) - p[:, 4]
    g = 2.0 * p[:, 0] * p[:, 1] * (ex * ex - ex) / r
    return e, g
