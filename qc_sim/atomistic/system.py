"""An atomistic system: atoms on a device, a potential, and a neighbour list kept current.

This is the thin stateful shell around the pure kernels: it owns the device arrays, maps
the atoms' species onto the potential's, rebuilds the neighbour list when atoms have moved
far enough and returns :class:`ForceResult` objects. Positions are never wrapped into the
box (the lists handle periodic images), so a trajectory does not depend on when lists
were rebuilt; :meth:`wrapped_positions` folds them for output.
"""

from __future__ import annotations

import numpy as np

from qc_sim.backend import Device
from qc_sim.geometry.atoms import Atoms
from qc_sim.neighbor import build, needs_rebuild
from qc_sim.neighbor.cell_list import ListStorage, single_image
from qc_sim.potentials.base import ForceResult


def species_map(atom_species, potential_species) -> np.ndarray:
    """Index of each atom species in the potential's species list, (n_species,) int32."""
    if tuple(potential_species) == ("X",):
        return np.zeros(len(atom_species), np.int32) if len(atom_species) == 1 else np.arange(
            len(atom_species), dtype=np.int32)
    missing = [s for s in atom_species if s not in potential_species]
    if missing:
        raise ValueError(f"species {', '.join(missing)} not in the potential "
                         f"(it has {', '.join(potential_species)})")
    return np.array([list(potential_species).index(s) for s in atom_species], np.int32)


class AtomisticSystem:
    """Atoms + potential on a device.

    positions (n, 3) Å, unwrapped; ``fixed`` (n,) bool marks atoms held still.
    """

    def __init__(self, atoms: Atoms, potential, device: Device, skin: float = 1.0,
                 fixed: np.ndarray | None = None, rows: int | None = None, halo=None):
        self.atoms = atoms
        self.potential = potential
        self.device = device
        self.skin = float(skin)
        self.box = atoms.box
        xp = device.xp
        # a copy: the run moves these, never the caller's Atoms
        self.positions = device.asarray(atoms.positions, dtype=np.float64).copy()
        pot_types = species_map(atoms.species, potential.species)[atoms.types]
        self.types = device.asarray(pot_types, dtype=np.int32)
        self.ids = device.asarray(atoms.ids, dtype=np.int64)
        self.masses = device.asarray(atoms.atom_masses, dtype=np.float64)
        fixed = np.zeros(len(atoms), bool) if fixed is None else np.asarray(fixed, bool)
        self.fixed = device.asarray(fixed)
        self.free_weights = device.asarray(~fixed, dtype=np.float64)  # (n,): 1 free, 0 fixed
        self.n_fixed = int(fixed.sum())
        # a rank's share (docs/design.md section 7): forces for the first ``rows`` atoms (the owned
        # ones) only; ``halo(a)`` fills the ghost rows of a per-atom array from their owners
        # (EAM's F'(rho) between its two kernels)
        self.rows, self.halo = rows, halo
        # set once something needs the full rows (weighted energies, stacked replicas): the
        # half-row kernels' upper rows do not serve the full-row kernels
        self.full_rows = False
        self.nlist = None
        # one memory (and row capacity) for every list this system builds
        self.list_storage = ListStorage()
        self.rebuilds = 0
        self.xp = xp

    @property
    def free(self):
        """(n, 1) view of the free weights, to scale (n, 3) arrays."""
        return self.free_weights[:, None]

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @property
    def degrees_of_freedom(self) -> int:
        """Kinetic degrees of freedom: dimension * (free atoms - 1), LAMMPS's default count
        (the centre-of-mass motion removed), as the initial velocities use."""
        d = self.atoms.dimension
        return max(d * (len(self) - self.n_fixed) - d, 0)

    def _half_rows(self) -> bool:
        """Whether the list also serves the half-row kernels: the compiled CPU backend on one
        OpenMP thread (they walk the rows serially, half the pair work; the same bits), a
        potential that has them, and a box where no pair meets itself through two images."""
        if (self.full_rows or self.device.name != "cpu"
                or not getattr(self.potential, "half_rows", False)):
            return False
        from qc_sim.backend import cpu

        return (cpu.get_num_threads() == 1
                and single_image(self.box, self.potential.cutoff + self.skin))

    def _rebuild(self) -> None:
        self.nlist = build(self.device, self.positions, self.ids, self.box, self.potential.cutoff,
                           self.skin, rows=self.rows, half=self._half_rows(),
                           storage=self.list_storage)
        self.rebuilds += 1

    def compute(self, energy: bool = True, virial: bool = True, weights=None) -> ForceResult:
        """Forces (and site energies, virial) at the current positions; with per-atom
        ``weights`` (device array) those of the weighted energy sum_i w_i E_i."""
        if weights is not None:
            self.use_full_rows()
        if self.nlist is None or needs_rebuild(self.device, self.nlist, self.positions):
            self._rebuild()
        extra = {} if weights is None else {"weights": weights}
        if self.halo is not None:
            extra["halo"] = self.halo
        return self.potential.compute(self.device, self.positions, self.types, self.box,
                                      self.nlist, energy=energy, virial=virial, **extra)

    def use_full_rows(self) -> None:
        """From now on build full rows (an upper-row list is dropped and built again)."""
        self.full_rows = True
        if self.nlist is not None and self.nlist.half is not None:
            self.nlist = None

    def set_positions(self, positions) -> None:
        """Replace positions (n, 3) Å (host or device array); the list is rebuilt if needed."""
        self.positions[...] = self.device.asarray(positions)

    def wrapped_positions(self) -> np.ndarray:
        """Positions folded into the box along periodic axes, (n, 3) Å, on the host."""
        return self.box.wrap(self.device.to_host(self.positions))

    # -- the solver protocol (qc_sim.solvers.protocol): y = positions, (3n,) Å ----------------

    def get_dofs(self):
        return self.positions.reshape(-1).copy()

    def set_dofs(self, y) -> None:
        """Move the free atoms to ``y`` (3n,); fixed atoms stay where they are."""
        step = self.device.asarray(y).reshape(-1, 3) - self.positions
        step *= self.free  # in place: one temporary, the bits of x + (y - x) * free
        self.positions += step

    def energy_forces(self):
        r = self.compute(energy=True, virial=False)
        f = r.forces
        f *= self.free  # in place (the result's own array)
        return r.energy(), f.reshape(-1)

    def free_dofs(self):
        """(3n,) bool: the degrees of freedom that may move (those of the free atoms)."""
        return self.xp.repeat(~self.fixed, 3)

    def max_force(self, forces) -> float:
        """Largest atomic force norm, eV/Å."""
        if forces.size == 0:
            return 0.0
        return float(self.xp.sqrt((forces.reshape(-1, 3) ** 2).sum(axis=1)).max())

    def set_box(self, box) -> None:
        """Replace the box (positions unchanged); the neighbour list is rebuilt."""
        self.box = box
        self.nlist = None

