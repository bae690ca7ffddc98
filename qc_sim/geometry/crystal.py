"""Building crystals: a lattice repeated in an orthogonal box, one or several species."""

from __future__ import annotations

import numpy as np

from qc_sim.geometry import elements
from qc_sim.geometry.atoms import Atoms
from qc_sim.geometry.box import Box
from qc_sim.geometry.lattice import Lattice, oriented_cell


def species_masses(species, masses=None) -> np.ndarray:
    """Masses (g/mol) for ``species``: as given, else the standard atomic weights (1 for the
    generic species ``"X"``)."""
    if masses is not None:
        masses = np.asarray(masses, float).reshape(-1)
        if len(masses) != len(species):
            raise ValueError(f"{len(species)} species but {len(masses)} masses")
        if np.any(masses <= 0):
            raise ValueError(f"masses must be positive, got {masses.tolist()}")
        return masses
    unknown = [s for s in species if s != "X" and not elements.is_element(s)]
    if unknown:
        raise ValueError(f"species {unknown} are not chemical elements: give their masses")
    return np.array([1.0 if s == "X" else elements.standard_mass(s) for s in species])


def build_crystal(lattice: Lattice, repeats=(1, 1, 1), orientation=None,
                  periodic=(True, True, True), species=("X",), masses=None,
                  origin=(0.0, 0.0, 0.0)) -> Atoms:
    """``repeats`` copies of the oriented periodic cell of ``lattice`` along x, y, z.

    The box is ``[origin, origin + repeats * L)``; along an open axis it bounds the sites.
    Atoms are numbered cell by cell in z, y, x order (ids 0..n-1), all of ``species[0]``
    (use :func:`random_alloy` for several). A 2D lattice gives a planar model: z = 0,
    ``repeats[2]`` must be 1 and z is open.
    """
    repeats = tuple(int(r) for r in repeats)
    if len(repeats) != 3 or min(repeats) < 1:
        raise ValueError(f"repeats must be three positive integers, got {repeats}")
    species = tuple(species)
    if len(species) != 1:
        raise ValueError("build_crystal places one species; use random_alloy for more")
    cell_x, lengths = oriented_cell(lattice, orientation)
    periodic = tuple(bool(p) for p in periodic)
    if lattice.dimension == 2:
        if repeats[2] != 1:
            raise ValueError("a 2D lattice takes repeats (nx, ny, 1)")
        periodic = (periodic[0], periodic[1], False)
    iz, iy, ix = np.meshgrid(*(np.arange(r) for r in repeats[::-1]), indexing="ij")
    shifts = np.stack([ix.ravel(), iy.ravel(), iz.ravel()], axis=1) * lengths
    origin = np.asarray(origin, float)
    positions = (shifts[:, None, :] + cell_x[None, :, :]).reshape(-1, 3) + origin
    hi = origin + np.asarray(repeats) * lengths
    lo = origin.copy()
    if lattice.dimension == 2:
        lo[2], hi[2] = origin[2] - 0.5 * lattice.a, origin[2] + 0.5 * lattice.a
    return Atoms(positions=positions, box=Box(tuple(lo), tuple(hi), periodic), species=species,
                 masses=species_masses(species, masses), dimension=lattice.dimension)


def random_alloy(atoms: Atoms, species, fractions, seed: int, masses=None) -> Atoms:
    """A copy of ``atoms`` with species drawn at random in exact proportions ``fractions``.

    The counts are ``floor(fraction * n)``, the atoms left over going one each to the
    species with the largest remainders (largest-remainder rounding, so they sum to n); the
    permutation comes from NumPy's PCG64 seeded with ``seed``, so a seed fixes the alloy.
    """
    species = tuple(species)
    fractions = np.asarray(fractions, float)
    if len(fractions) != len(species) or np.any(fractions < 0) or fractions.sum() <= 0:
        raise ValueError(f"need one non-negative fraction per species {species}")
    fractions = fractions / fractions.sum()
    n = len(atoms)
    counts = np.floor(fractions * n).astype(int)
    remainder = fractions * n - counts
    for k in np.argsort(-remainder, kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    types = np.repeat(np.arange(len(species), dtype=np.int32), counts)
    types = np.random.Generator(np.random.PCG64(int(seed))).permutation(types)
    return Atoms(positions=atoms.positions.copy(), box=atoms.box, species=species,
                 masses=species_masses(species, masses), types=types, ids=atoms.ids.copy(),
                 velocities=None if atoms.velocities is None else atoms.velocities.copy(),
                 tags={k: v.copy() for k, v in atoms.tags.items()},
                 dimension=atoms.dimension)
