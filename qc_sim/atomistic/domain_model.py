"""A rank's share of an atomistic system as a :class:`~qc_sim.solvers.protocol.Minimizable`
(docs/design.md section 7): FIRE relaxes a crystal split over the ranks of ``comm`` and gives the
same bits on any rank count.

The degrees of freedom of a rank are the positions of the atoms it owns, sorted by global
id; :class:`~qc_sim.atomistic.domain.GhostShell` keeps them and their ghosts (the coupled model split over ranks,
:mod:`qc_sim.coupling.domain`, uses it for its atoms too). Ownership is fixed for the whole minimisation (an atom belongs to the rank whose RCB box
held it at the start); a relaxation moves atoms little, and the ghosts follow the atoms, not
the boxes: each rank's ghosts are the atoms within ``reach`` of the bounding box of the atoms
it owns now, chosen again whenever any atom has moved more than half the skin since the last
choice (one global max). Before each force evaluation the owners send the current positions
of the atoms others hold as ghosts (point-to-point, neighbour ranks only).

Every reduction a solver makes goes through :meth:`DomainModel.dot`, :meth:`largest` and
:meth:`max_force` (an exact sum rounded once, or a max), and the energy is the exact sum of
the owned site energies. The owned forces are bitwise those of a serial evaluation (see
:class:`~qc_sim.atomistic.domain.RankShare`), the per-atom updates are elementwise, so the
whole minimisation is the same on 1, 2, 3 or 4 ranks, bit for bit.
"""

from __future__ import annotations

import numpy as np

from qc_sim.atomistic.domain import GhostShell, SplitReductions
from qc_sim.geometry.atoms import Atoms
from qc_sim.parallel.mpi import global_exact_sum


class DomainModel(SplitReductions):
    """The atoms of ``atoms`` that ``partition`` gives to this rank of ``comm``, with their
    ghosts, as a Minimizable whose reductions are global and exact. ``fixed`` (n,) bool over
    ``atoms`` marks atoms held still. Every rank builds it from the same whole ``atoms``.

    y: the owned positions, (3 n_owned,) Å, owned atoms sorted by global id (``ids``).
    """

    def __init__(self, comm, atoms: Atoms, potential, device, partition, skin: float = 0.5,
                 reach: float | None = None, fixed=None):
        self.comm = comm
        self.potential, self.device, self.xp = potential, device, device.xp
        self.row, self.to_host = 3, device.to_host
        self.skin = float(skin)
        mine = np.flatnonzero(partition.owner == comm.Get_rank())
        mine = mine[np.argsort(np.asarray(atoms.ids)[mine], kind="stable")]
        fixed = np.zeros(len(atoms), bool) if fixed is None else np.asarray(fixed, bool)
        self.ids = np.asarray(atoms.ids)[mine]
        self.n_owned = len(mine)
        self.shell = GhostShell(comm, atoms, potential, device, self.ids,
                                {"types": np.asarray(atoms.types)[mine]}, skin, reach,
                                fixed[mine])
        self.shell.choose(np.asarray(atoms.positions, float)[mine])

    @property
    def system(self):
        return self.shell.system

    @property
    def rebuilds(self) -> int:
        """How many times the ghosts were chosen."""
        return self.shell.choices

    # -- the solver protocol -------------------------------------------------------------

    @property
    def owned_positions(self):
        """(n_owned, 3) Å, a view of the device array."""
        return self.shell.owned_positions

    def get_dofs(self):
        return self.owned_positions.reshape(-1).copy()

    def set_dofs(self, y) -> None:
        """Move the free owned atoms to ``y``; collective: every rank calls it together (the
        ghosts are chosen again when any atom has moved more than half the skin)."""
        x = self.owned_positions
        step = self.device.asarray(y).reshape(-1, 3) - x
        step *= self.system.free[: self.n_owned]
        x += step  # in place: the bits of x + (y - x) * free
        if self.shell.moved_past_skin():
            self.shell.choose(np.array(self.device.to_host(x)))

    def free_dofs(self):
        """(3 n_owned,) bool: the owned degrees of freedom that may move (free atoms)."""
        return self.xp.repeat(~self.system.fixed[: self.n_owned], 3)

    def energy_forces(self):
        """The energy (eV, exact sum over every rank's owned site energies) and the owned
        forces (3 n_owned,) eV/Å, zero on fixed atoms. Collective."""
        self.shell.update()
        r = self.system.compute(energy=True, virial=False)
        n = self.n_owned
        energy = global_exact_sum(self.comm, np.asarray(self.device.to_host(
            r.site_energy[:n])))
        return energy, (r.forces[:n] * self.system.free[:n]).reshape(-1)
