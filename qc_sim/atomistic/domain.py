"""A rank's share of an atomistic system (docs/design.md section 7): the atoms it owns (those in
its RCB box) and the ghosts it needs (every atom within a cutoff plus the skin of the box,
by minimum image), computed with the very kernels and neighbour lists of a serial run.

Ghosts keep their raw positions and global ids and the rank keeps the global periodic box,
so each owned atom's neighbour row holds the same (global id, image code) entries in the
same order as in a serial run, and the bond vectors are the same floating-point
expressions: the owned forces and site energies are bitwise those of the serial run,
whatever the partition. Only the owned atoms have list rows. For EAM the owners send their
atoms' embedding derivatives F'(rho) to the ranks holding them as ghosts between the density
and the force kernel (forward communication), each computed by its owner from its whole
density row, so bitwise the serial value.
"""

from __future__ import annotations

import time as _time

import numpy as np

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.geometry.atoms import Atoms
from qc_sim.parallel.decompose import near_box, neighbour_ranks
from qc_sim.parallel.mpi import exchange, exchange_arrays, global_exact_sum, global_max


def ghost_reach(potential, skin: float) -> float:
    """How far (Å) beyond a rank's box its ghosts reach: a cutoff plus the skin (for EAM too:
    the ghosts' F'(rho) come from their owners)."""
    return potential.cutoff + skin


class SplitReductions:
    """The solver protocol's reductions (:mod:`qc_sim.solvers.protocol`) for degrees of
    freedom split over the ranks of ``self.comm``: every dot product an exact global sum, every
    max a global max, so no partition changes a bit. The class using it has ``comm``, ``xp``,
    ``row`` (components per atom or node) and ``to_host`` (array to NumPy)."""

    def max_force(self, forces) -> float:
        """The largest per-row force norm on any rank, eV/Å."""
        f = forces.reshape(-1, self.row)
        local = float(self.xp.sqrt((f * f).sum(axis=1)).max()) if len(f) else 0.0
        return global_max(self.comm, local)

    def dot(self, a, b) -> float:
        """a . b over every rank's degrees of freedom: the exact sum of the products (on the
        host, summed without a temporary array of them)."""
        if self.xp is np:
            from qc_sim.parallel.reduce import ExactSum, allreduce_value

            return allreduce_value(self.comm, ExactSum().add_products(a, b))
        return global_exact_sum(self.comm, np.asarray(self.to_host(a * b)))

    def dots(self, rows, b) -> list[float]:
        """[r . b for r in rows] over every rank's degrees of freedom: exact sums of the
        products, all in one allreduce."""
        if self.xp is np:
            from qc_sim.parallel.reduce import ExactSum, allreduce_values

            return allreduce_values(self.comm, [ExactSum().add_products(r, b) for r in rows])
        return [self.dot(r, b) for r in rows]

    def largest(self, a) -> float:
        """max |a_i| over every rank's degrees of freedom."""
        return global_max(self.comm, float(self.xp.abs(a).max()) if a.size else 0.0)


class GhostShell:
    """The atoms a rank owns (ids sorted) and the ghosts it needs, as one
    local :class:`AtomisticSystem` (owned rows first): ghosts are every other rank's atoms
    within ``reach`` of the bounding box of this rank's owned atoms, chosen by
    :meth:`choose` (collective) and moved by :meth:`update` (point-to-point, from their
    owners). ``static`` are per-atom arrays the ghosts carry with them (``types``, and
    e.g. blending weights); ``fixed`` (n_owned,) marks owned atoms held still."""

    def __init__(self, comm, atoms_template: Atoms, potential, device, ids, static: dict,
                 skin: float, reach: float | None = None, fixed=None, cuda_aware=False):
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
        # ghost positions: device arrays straight to MPI (a CUDA-aware library), else staged
        # through host memory
        self.cuda_aware = bool(cuda_aware)

    def choose(self, x) -> None:
        """Choose the ghosts around the owned positions ``x`` (n_owned, 3) Å (host, raw) and
        build the local system; collective. The choice is made on positions folded into the
        box (raw positions may have crossed the period many times); the ghosts keep their
        raw positions."""
        n = self.n_owned
        w = self.box.wrap(x)
        bounds = (np.array([w.min(axis=0), w.max(axis=0)]) if n else
                  np.array([np.full(3, np.inf), np.full(3, -np.inf)]))
        everyone = self.comm.allgather(bounds)
        self.neighbours = neighbour_ranks(self.box, everyone, self.reach, self.rank)
        self._send = {r: np.flatnonzero(near_box(w, self.box, everyone[r][0], everyone[r][1],
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
                                      fixed=fixed, rows=n, halo=self.halo)
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
        n = self.n_owned
        if n and self.device.compiled:  # one pass, no temporaries
            d2 = self.xp.empty(n)
            reference = self.xp.ascontiguousarray(self._reference)
            self.device.kernels("integrate").displacement_sq(n, self.system.positions,
                                                             reference, d2)
            moved = float(self.xp.sqrt(d2.max()))
        else:
            d = self.owned_positions - self._reference
            moved = float(self.xp.sqrt((d * d).sum(axis=1)).max()) if n else 0.0
        return global_max(self.comm, moved) > 0.5 * self.skin

    def update(self) -> None:
        """Send the owned positions others hold as ghosts; write those received into the
        ghost slots."""
        self.halo(self.system.positions, tag=22)

    def halo(self, a, tag: int = 23) -> None:
        """Fill the ghost rows of the per-atom device array ``a`` (positions, or EAM's F'(rho))
        with their owners' rows (buffer-based, no pickling; collective over the neighbour
        ranks): only those rows cross between device and host, and none with a CUDA-aware
        MPI."""
        dev = self.device
        shape = a.shape[1:]
        if self.cuda_aware:
            outgoing = {r: dev.xp.ascontiguousarray(a[i]) for r, i in self._send_dev.items()}
            incoming = {r: dev.xp.empty((len(self._slots[r]),) + shape)
                        for r in self.neighbours}
        else:
            outgoing = {r: np.ascontiguousarray(dev.to_host(a[i]))
                        for r, i in self._send_dev.items()}
            incoming = {r: np.empty((len(self._slots[r]),) + shape) for r in self.neighbours}
        exchange_arrays(self.comm, self.neighbours, outgoing, incoming, tag=tag)
        for r in self.neighbours:
            a[self._slots_dev[r]] = dev.asarray(incoming[r])


class RankShare:
    """The owned atoms and ghosts of this rank of ``comm`` under ``partition`` (owner per atom
    of ``atoms``, built identically on every rank): a :class:`GhostShell` chosen once, for a
    one-off evaluation."""

    def __init__(self, comm, atoms, potential, device, partition, skin: float = 0.5):
        mine = np.flatnonzero(partition.owner == comm.Get_rank())
        mine = mine[np.argsort(np.asarray(atoms.ids)[mine], kind="stable")]
        self.shell = GhostShell(comm, atoms, potential, device, np.asarray(atoms.ids)[mine],
                                {"types": np.asarray(atoms.types)[mine]}, skin)
        self.shell.choose(np.asarray(atoms.positions, float)[mine])
        self.system, self.reach = self.shell.system, self.shell.reach

    def compute(self):
        """(ids, forces, site energies) of the owned atoms, on the host; collective."""
        result = self.system.compute(energy=True, virial=False)
        dev, n = self.system.device, self.shell.n_owned
        return (self.shell.ids, np.asarray(dev.to_host(result.forces))[:n],
                np.asarray(dev.to_host(result.site_energy))[:n])


class DomainDynamics:
    """Velocity Verlet (NVE) or BAOAB Langevin dynamics (``thermostat``) of an atomistic
    system split over the ranks of ``comm`` by ``partition`` (fixed RCB boxes): each rank
    advances its own atoms and the ghosts it
    needs; after every drift the owners send their atoms' new positions to the neighbour
    ranks that hold them as ghosts (non-blocking point-to-point, neighbours only); when any
    rank's atoms have moved more than half the skin since the last exchange (decided by one
    global max), atoms that left a box migrate to its owner and the ghost lists are
    rebuilt. Owned positions and velocities stay bitwise those of a serial run: the per-atom
    updates are the same, the Langevin noise is a function of (seed, step, global id), and
    the forces are the same (see :class:`RankShare`).

    Set-up takes the whole initial ``atoms`` and ``velocities`` on every rank (built from the
    case, identically everywhere); nothing global is gathered during the run.
    """

    def __init__(self, comm, atoms, velocities, potential, device, partition,
                 skin: float = 0.5, reach: float | None = None, thermostat=None,
                 step: int = 0, time: float = 0.0, rebalance: float = 0.0,
                 cuda_aware: bool = False):
        self.comm, self.rank = comm, comm.Get_rank()
        self.thermostat = thermostat
        self.partition, self.potential, self.device = partition, potential, device
        self.skin = float(skin)
        self.reach = ghost_reach(potential, skin) if reach is None else reach
        self.box = atoms.box
        self._template = atoms.select(np.zeros(len(atoms), bool))  # box, species, masses
        self.neighbours = neighbour_ranks(self.box, list(zip(partition.lo, partition.hi)),
                                          self.reach, self.rank)
        mine = partition.owner == self.rank
        self._own = {"ids": np.asarray(atoms.ids)[mine], "x": atoms.positions[mine].copy(),
                     "v": np.asarray(velocities, float)[mine].copy(),
                     "types": np.asarray(atoms.types)[mine]}
        self.step_count, self.time = int(step), float(time)
        self.exchanges = self.migrated = self.rebalances = 0
        # at a re-exchange, cut the domain again when max / mean of the owned atoms exceeds
        # this (0: never)
        self.rebalance = float(rebalance)
        # ghost positions: device arrays straight to MPI (a CUDA-aware library), else staged
        # through host memory
        self.cuda_aware = bool(cuda_aware)
        # seconds on this rank: local work, point-to-point exchange of ghost positions, global
        # decisions, and re-exchanges (migration, ghost lists, the local system rebuilt)
        self.timing = {"compute": 0.0, "communication": 0.0, "waiting": 0.0, "rebuild": 0.0}
        self._rebuild()

    # -- communication -------------------------------------------------------------------

    def _exchange(self, outgoing: dict, tag: int) -> dict:
        return exchange(self.comm, self.neighbours, outgoing, tag)

    def _owner_rank(self, x) -> np.ndarray:
        """The rank whose box holds each (wrapped) position."""
        w = self.box.wrap(x)
        lo, hi = self.partition.lo, self.partition.hi
        inside = np.all((w[:, None, :] >= lo[None]) & (w[:, None, :] < hi[None]), axis=2)
        owner = np.argmax(inside, axis=1)
        if not inside.any(axis=1).all():  # on the upper face of the domain: the last box
            owner[~inside.any(axis=1)] = np.argmin(
                np.linalg.norm(w[~inside.any(axis=1), None, :] - 0.5 * (lo + hi)[None],
                               axis=2), axis=1)
        return owner

    def _repartition(self) -> bool:
        """When max over mean of the owned atoms passes ``rebalance``, cut the domain again
        by RCB over every atom's current (wrapped) position and send each atom to its new
        owner (any rank: one all-to-all). Every rank takes the same decision and the same
        cuts (from the same gathered positions, in global-id order), so the run stays bitwise
        the serial one. The positions are gathered only then, never in an ordinary step."""
        from qc_sim.parallel.decompose import rcb

        counts = np.array(self.comm.allgather(len(self._own["ids"])), float)
        if self.rebalance <= 0 or counts.max() <= self.rebalance * counts.mean():
            return False
        everyone = self.comm.allgather((self._own["ids"], self._own["x"]))
        ids = np.concatenate([e[0] for e in everyone])
        x = np.concatenate([e[1] for e in everyone])[np.argsort(ids, kind="stable")]
        self.partition = rcb(self.box.wrap(x), np.ones(len(x)), self.comm.Get_size(),
                             self.box.lo, self.box.hi)
        self.neighbours = neighbour_ranks(self.box, list(zip(self.partition.lo,
                                                             self.partition.hi)),
                                          self.reach, self.rank)
        own = self._own
        owner = self._owner_rank(own["x"])
        parts = self.comm.alltoall([{k: v[owner == r] for k, v in own.items()}
                                    for r in range(self.comm.Get_size())])
        merged = {k: np.concatenate([p[k] for p in parts]) for k in own}
        order = np.argsort(merged["ids"], kind="stable")
        self.migrated += int((owner != self.rank).sum())
        self._own = {k: v[order] for k, v in merged.items()}
        self.rebalances += 1
        return True

    def _rebuild(self) -> None:
        """Migrate atoms to the owners of the boxes they are in (after cutting the domain
        again if it has grown out of balance), then rebuild the ghosts and the local
        system."""
        self._repartition()
        own = self._own
        owner = self._owner_rank(own["x"])
        leaving = owner != self.rank
        if leaving.any() and not set(owner[leaving]) <= set(self.neighbours):
            raise RuntimeError(f"rank {self.rank}: an atom moved past a neighbour rank's box "
                               "between exchanges (time step too large for the skin?)")
        outgoing = {r: {k: v[owner == r] for k, v in own.items()} for r in self.neighbours}
        incoming = self._exchange(outgoing, tag=1)
        keep = {k: v[~leaving] for k, v in own.items()}
        parts = [keep] + [incoming[r] for r in self.neighbours]
        own = {k: np.concatenate([p[k] for p in parts]) for k in keep}
        order = np.argsort(own["ids"], kind="stable")
        self._own = own = {k: v[order] for k, v in own.items()}
        self.migrated += int(leaving.sum())
        # ghosts: every other rank's atoms within reach of this rank's (a fresh shell: the
        # owned atoms have changed)
        # the last lists' memory and row capacity (so the next one needs no overflow rebuild)
        last = getattr(self, "system", None)
        self.shell = GhostShell(self.comm, self._template, self.potential, self.device,
                                own["ids"], {"types": own["types"]}, self.skin, self.reach,
                                cuda_aware=self.cuda_aware)
        self.shell.choose(own["x"])
        self.system = self.shell.system
        if last is not None:
            self.system.list_storage = last.list_storage
        self.n_owned = len(own["ids"])
        v = np.zeros((len(self.system), 3))
        v[: self.n_owned] = own["v"]
        from qc_sim.atomistic import dynamics

        if "f" in own:  # forces carried with the atoms: no force evaluation here
            from qc_sim.potentials.base import ForceResult

            f = np.zeros((len(self.system), 3))
            f[: self.n_owned] = own["f"]
            dev = self.device
            self.state = dynamics.MDState(dev.asarray(v) * self.system.free,
                                          ForceResult(dev.asarray(f)), self.step_count,
                                          self.time)
        else:
            self.state = dynamics.init_state(self.system, v, self.step_count, self.time)
        self.exchanges += 1

    # -- the step ------------------------------------------------------------------------

    def step(self, dt: float) -> None:
        """One step of ``dt`` ps: the serial nve_step or langevin_step, with the ghosts'
        positions taken from their owners before the forces."""
        from qc_sim.atomistic import dynamics

        clock = _time.perf_counter
        t0 = clock()
        system, state = self.system, self.state
        if self.thermostat is None:
            v = dynamics._kick(system, state.velocities.copy(), state.result.forces, 0.5 * dt)
            dynamics._drift(system, v, dt)
        else:
            v = dynamics.langevin_drift(system, state, dt, self.thermostat)
        t1 = clock()
        self.shell.update()
        t2 = clock()
        # one global max of the displacements, before the forces: an atom past half the skin
        # re-exchanges the atoms (its mid-step velocity travels with it) and the new list is
        # built once, for these forces (checked after them, the old list was rebuilt for
        # them and then the new one again)
        rebuild = self.shell.moved_past_skin()
        t3 = clock()
        if rebuild:
            self.state = dynamics.MDState(v, state.result, state.step, state.time)
            self._own = self.owned(forces=False)
            self._rebuild()  # the new local system; its state holds the forces here
            system, v, result = self.system, self.state.velocities, self.state.result
        else:
            result = system.compute(energy=False, virial=False)
        t4 = clock()
        v = dynamics._kick(system, v, result.forces, 0.5 * dt)
        self.step_count += 1
        self.time = state.time + dt
        self.state = dynamics.MDState(v, result, self.step_count, self.time)
        t5 = clock()
        self.timing["compute"] += (t1 - t0) + (t5 - t4) + (0.0 if rebuild else t4 - t3)
        self.timing["communication"] += t2 - t1
        self.timing["waiting"] += t3 - t2
        if rebuild:
            self.timing["rebuild"] += t4 - t3

    def energies(self) -> tuple[float, float]:
        """(potential, kinetic) energy in eV, each the exact sum over all ranks' own atoms,
        rounded once (:func:`~qc_sim.atomistic.thermo.thermo`): the same bits on any rank
        count."""
        from qc_sim.atomistic.thermo import thermo

        result = self.system.compute(energy=True, virial=True)
        t = thermo(self.system, self.state.velocities, result, self.step_count, self.time,
                   comm=self.comm, owned=self.n_owned)
        return t.potential, t.kinetic

    def owned(self, forces: bool = False) -> dict:
        """The owned atoms' ids, positions, velocities and types (host copies), and with
        ``forces`` their current forces (a re-exchange carries them with the atoms)."""
        dev = self.system.device
        n = self.n_owned
        out = {"ids": self._own["ids"].copy(),
               "x": np.array(dev.to_host(self.system.positions))[:n],
               "v": np.array(dev.to_host(self.state.velocities))[:n],
               "types": self._own["types"].copy()}
        if forces:
            out["f"] = np.array(dev.to_host(self.state.result.forces))[:n]
        return out
