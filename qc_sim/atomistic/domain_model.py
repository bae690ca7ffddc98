"""A rank's share of an atomistic system as a :class:`~qc_sim.solvers.protocol.Minimizable`
(DESIGN section 6): FIRE relaxes a crystal split over the ranks of ``comm`` and gives the
same bits on any rank count.

The degrees of freedom of a rank are the positions of the atoms it owns, sorted by global
id; :class:`GhostShell` keeps them and their ghosts (the coupled model split over ranks,
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

from qc_sim.atomistic.domain import ghost_reach
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.geometry.atoms import Atoms
from qc_sim.parallel.decompose import near_box, neighbour_ranks
from qc_sim.parallel.mpi import exchange, exchange_arrays, global_exact_sum, global_max


class GhostShell:
    """The atoms a rank owns (ids sorted, fixed for the run) and the ghosts it needs, as one
    local :class:`AtomisticSystem` (owned rows first): ghosts are every other rank's atoms
    within ``reach`` of the bounding box of this rank's owned atoms, chosen by
    :meth:`choose` (collective) and moved by :meth:`update` (point-to-point, from their
    owners). ``static`` are per-atom arrays the ghosts carry with them (``types``, and
    e.g. blending weights); ``fixed`` (n_owned,) marks owned atoms held still."""

    def __init__(self, comm, atoms_template: Atoms, potential, device, ids, static: dict,
                 skin: float, reach: float | None = None, fixed=None):
        self.comm, self.rank = comm, comm.Get_rank()
        self.potential, self.device, self.xp = potential, device, device.xp
        self.skin = float(skin)
        self.reach = ghost_reach(potential, skin) if reach is None else float(reach)
        t = atoms_template
        self.box, self.species, self.masses, self.dimension = t.box, t.species, t.masses, \
            t.dimension
        self.ids = np.asarray(ids)
        self.n_owned = len(self.ids)
        self.static = {k: np.asarray(v) for k, v in static.items()}
        self._fixed = np.zeros(self.n_owned, bool) if fixed is None else np.asarray(fixed, bool)
        self.choices = 0

    def choose(self, x) -> None:
        """Choose the ghosts around the owned positions ``x`` (n_owned, 3) Å (host) and build
        the local system; collective."""
        n = self.n_owned
        bounds = (np.array([x.min(axis=0), x.max(axis=0)]) if n else
                  np.array([np.full(3, np.inf), np.full(3, -np.inf)]))
        everyone = self.comm.allgather(bounds)
        self.neighbours = neighbour_ranks(self.box, everyone, self.reach, self.rank)
        self._send = {r: np.flatnonzero(near_box(x, self.box, everyone[r][0], everyone[r][1],
                                                 self.reach)) for r in self.neighbours}
        incoming = exchange(self.comm, self.neighbours,
                            {r: (self.ids[i], x[i], {k: v[i] for k, v in self.static.items()})
                             for r, i in self._send.items()}, tag=21)
        ghosts = [incoming[r] for r in self.neighbours]
        self._slots, start = {}, n
        for r, g in zip(self.neighbours, ghosts):
            self._slots[r] = np.arange(start, start + len(g[0]))
            start += len(g[0])
        self.local_static = {k: np.concatenate([v] + [g[2][k] for g in ghosts])
                             for k, v in self.static.items()}
        local = Atoms(positions=np.concatenate([x] + [g[1] for g in ghosts]), box=self.box,
                      species=self.species, masses=self.masses,
                      types=self.local_static["types"],
                      ids=np.concatenate([self.ids] + [g[0] for g in ghosts]),
                      dimension=self.dimension)
        fixed = np.zeros(len(local), bool)
        fixed[:n] = self._fixed
        self.system = AtomisticSystem(local, self.potential, self.device, skin=self.skin,
                                      fixed=fixed)
        dev = self.device
        self._reference = dev.asarray(x)
        self._send_dev = {r: dev.asarray(i) for r, i in self._send.items()}
        self._slots_dev = {r: dev.asarray(i) for r, i in self._slots.items()}
        self.choices += 1

    @property
    def owned_positions(self):
        """(n_owned, 3) Å, a view of the local system's device array."""
        return self.system.positions[: self.n_owned]

    def moved_past_skin(self) -> bool:
        """Whether any rank's owned atoms moved more than half the skin since the ghosts were
        chosen (one global max; collective)."""
        d = self.owned_positions - self._reference
        moved = float(self.xp.sqrt((d * d).sum(axis=1)).max()) if self.n_owned else 0.0
        return global_max(self.comm, moved) > 0.5 * self.skin

    def update(self) -> None:
        """Send the owned positions others hold as ghosts; write those received (buffer-based,
        staged through host memory)."""
        dev, x = self.device, self.system.positions
        outgoing = {r: np.ascontiguousarray(dev.to_host(x[i])) for r, i in
                    self._send_dev.items()}
        incoming = {r: np.empty((len(self._slots[r]), 3)) for r in self.neighbours}
        exchange_arrays(self.comm, self.neighbours, outgoing, incoming, tag=22)
        for r in self.neighbours:
            x[self._slots_dev[r]] = dev.asarray(incoming[r])


class DomainModel:
    """The atoms of ``atoms`` that ``partition`` gives to this rank of ``comm``, with their
    ghosts, as a Minimizable whose reductions are global and exact. ``fixed`` (n,) bool over
    ``atoms`` marks atoms held still. Every rank builds it from the same whole ``atoms``.

    y: the owned positions, (3 n_owned,) Å, owned atoms sorted by global id (``ids``).
    """

    def __init__(self, comm, atoms: Atoms, potential, device, partition, skin: float = 0.5,
                 reach: float | None = None, fixed=None):
        self.comm = comm
        self.potential, self.device, self.xp = potential, device, device.xp
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
        new = self.device.asarray(y).reshape(-1, 3)
        x[...] = x + (new - x) * self.system.free[: self.n_owned]
        if self.shell.moved_past_skin():
            self.shell.choose(np.array(self.device.to_host(x)))

    def energy_forces(self):
        """The energy (eV, exact sum over every rank's owned site energies) and the owned
        forces (3 n_owned,) eV/Å, zero on fixed atoms. Collective."""
        self.shell.update()
        r = self.system.compute(energy=True, virial=False)
        n = self.n_owned
        energy = global_exact_sum(self.comm, np.asarray(self.device.to_host(
            r.site_energy[:n])))
        return energy, (r.forces[:n] * self.system.free[:n]).reshape(-1)

    def max_force(self, forces) -> float:
        """The largest atomic force norm on any rank, eV/Å."""
        f = forces.reshape(-1, 3)
        local = float(self.xp.sqrt((f * f).sum(axis=1)).max()) if len(f) else 0.0
        return global_max(self.comm, local)

    def dot(self, a, b) -> float:
        """a . b over every rank's degrees of freedom: the exact sum of the products."""
        return global_exact_sum(self.comm, np.asarray(self.device.to_host(a * b)))

    def largest(self, a) -> float:
        """max |a_i| over every rank's degrees of freedom."""
        return global_max(self.comm, float(self.xp.abs(a).max()) if a.size else 0.0)
