"""The host-side description of a set of atoms: what a builder returns and a run starts from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qc_sim.geometry.box import Box


@dataclass
class Atoms:
    """Atoms in a box.

    positions: (n, 3) Å; types: (n,) int32, index into ``species``; masses: (n_species,)
    g/mol; ids: (n,) int64 global ids, assigned once and never changed; velocities: (n, 3)
    Å/ps or None; tags: named boolean masks (n,) from region selections; dimension: 2 for a
    planar model (z = 0, z open), else 3.
    """

    positions: np.ndarray
    box: Box
    species: tuple[str, ...] = ("X",)
    masses: np.ndarray = field(default_factory=lambda: np.ones(1))
    types: np.ndarray | None = None
    ids: np.ndarray | None = None
    velocities: np.ndarray | None = None
    tags: dict[str, np.ndarray] = field(default_factory=dict)
    dimension: int = 3

    def __post_init__(self):
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64).reshape(-1, 3)
        n = len(self.positions)
        self.species = tuple(self.species)
        self.masses = np.asarray(self.masses, dtype=np.float64).reshape(-1)
        if len(self.masses) != len(self.species):
            raise ValueError(f"{len(self.species)} species but {len(self.masses)} masses")
        self.types = (np.zeros(n, np.int32) if self.types is None
                      else np.ascontiguousarray(self.types, dtype=np.int32))
        self.ids = (np.arange(n, dtype=np.int64) if self.ids is None
                    else np.ascontiguousarray(self.ids, dtype=np.int64))
        if self.velocities is not None:
            self.velocities = np.ascontiguousarray(self.velocities, dtype=np.float64).reshape(n, 3)
        if self.types.shape != (n,) or self.ids.shape != (n,):
            raise ValueError("types and ids must have one entry per atom")
        if n and (self.types.min() < 0 or self.types.max() >= len(self.species)):
            raise ValueError("atom types must index the species list")

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def atom_masses(self) -> np.ndarray:
        """Mass of each atom, (n,), g/mol."""
        return self.masses[self.types]

    def select(self, mask: np.ndarray) -> "Atoms":
        """A copy holding only the atoms where ``mask`` is true (ids kept)."""
        mask = np.asarray(mask, bool)
        return Atoms(
            positions=self.positions[mask], box=self.box, species=self.species,
            masses=self.masses, types=self.types[mask], ids=self.ids[mask],
            velocities=None if self.velocities is None else self.velocities[mask],
            tags={k: v[mask] for k, v in self.tags.items()}, dimension=self.dimension,
        )
