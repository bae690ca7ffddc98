"""A rank's share of an atomistic system (DESIGN section 6): the atoms it owns (those in
its RCB box) and the ghosts it needs (every atom within ``reach`` of the box, by minimum
image), computed with the very kernels and neighbour lists of a serial run.

Ghosts keep their raw positions and global ids and the rank keeps the global periodic box,
so each owned atom's neighbour row holds the same (global id, image code) entries in the
same order as in a serial run, and the bond vectors are the same floating-point
expressions: the owned forces and site energies are bitwise those of the serial run,
whatever the partition. For EAM the reach is two cutoffs plus the skin, so that every
neighbour of an owned atom has its whole density row (no communication of the embedding
derivative is needed for a force evaluation).
"""

from __future__ import annotations

import numpy as np

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.parallel.decompose import near_box
from qc_sim.potentials.eam import Eam


class RankShare:
    """The owned atoms and ghosts of ``rank`` under ``partition`` (owner per atom of
    ``atoms``), as an AtomisticSystem over that subset with the global box."""

    def __init__(self, atoms, potential, device, partition, rank: int, skin: float = 0.5,
                 reach: float | None = None):
        owned = partition.owner == rank
        if reach is None:
            reach = (2.0 if isinstance(potential, Eam) else 1.0) * potential.cutoff + skin
        keep = owned | near_box(atoms.positions, atoms.box, partition.lo[rank],
                                partition.hi[rank], reach)
        self.atoms = atoms.select(keep)
        self.owned = owned[keep]  # (n_local,) True for owned, False for ghosts
        self.system = AtomisticSystem(self.atoms, potential, device, skin=skin)
        self.reach = reach

    def compute(self):
        """(ids, forces, site energies) of the owned atoms, on the host."""
        result = self.system.compute(energy=True, virial=False)
        dev = self.system.device
        return (np.asarray(dev.to_host(self.system.ids))[self.owned],
                np.asarray(dev.to_host(result.forces))[self.owned],
                np.asarray(dev.to_host(result.site_energy))[self.owned])
