"""Several copies of one atomistic system (the images of a band) evaluated in one call.

Each replica keeps its own neighbour list; the lists are stacked with each replica's atom
indices offset by ``r * n``, so one launch of the potential's kernels over ``R * n`` atoms
evaluates every replica, and no replica sees another's atoms. Each row is the replica's own
row, in the same order, so the results equal evaluating the replicas one by one, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

from qc_sim.neighbor import needs_rebuild


@dataclass
class _StackedList:
    neighbors: object
    images: object
    counts: object

    @property
    def capacity(self) -> int:
        return int(self.neighbors.shape[1])

    @property
    def rows(self) -> int:
        return int(self.counts.shape[0])


class Replicas:
    """``systems``: AtomisticSystems with the same potential, device, box and atom types."""

    def __init__(self, systems):
        self.systems = list(systems)
        first = self.systems[0]
        for s in self.systems[1:]:
            if (s.potential is not first.potential or s.device is not first.device
                    or s.box != first.box or len(s) != len(first)):
                raise ValueError("replicas must share the potential, device, box and size")
        self.xp = first.xp
        self._stacked = None
        self._lists = None

    def _neighbor_lists(self):
        for s in self.systems:
            s.use_full_rows()  # one launch of the full-row kernels over the stacked rows
            if s.nlist is None or needs_rebuild(s.device, s.nlist, s.positions):
                s._rebuild()
        lists = [s.nlist for s in self.systems]
        if self._lists is None or any(a is not b for a, b in zip(lists, self._lists)):
            xp, n = self.xp, len(self.systems[0])
            cap = max(nl.capacity for nl in lists)
            count = len(lists)
            neighbors = xp.zeros((count * n, cap), dtype=xp.int32)
            images = xp.zeros((count * n, cap), dtype=xp.int32)
            for r, nl in enumerate(lists):
                neighbors[r * n:(r + 1) * n, :nl.capacity] = nl.neighbors + r * n
                images[r * n:(r + 1) * n, :nl.capacity] = nl.images
            counts = xp.concatenate([nl.counts for nl in lists])
            self._stacked = _StackedList(neighbors, images, counts)
            self._lists = lists
        return self._stacked

    def energy_forces(self):
        """[(energy, forces (3n,)) per replica], as each system's own energy_forces."""
        xp = self.xp
        first = self.systems[0]
        n = len(first)
        stacked = self._neighbor_lists()
        x = xp.concatenate([s.positions for s in self.systems])
        types = xp.concatenate([s.types for s in self.systems])
        r = first.potential.compute(first.device, x, types, first.box, stacked, energy=True,
                                    virial=False)
        out = []
        for k, s in enumerate(self.systems):
            part = slice(k * n, (k + 1) * n)
            out.append((float(r.site_energy[part].sum()), (r.forces[part] * s.free).reshape(-1)))
        return out


def batch_energy_forces(models):
    """Energies and forces of ``models``: in one launch when they are replicas of one
    atomistic system, otherwise one after another."""
    from qc_sim.atomistic.system import AtomisticSystem

    if len(models) > 1 and all(isinstance(m, AtomisticSystem) for m in models):
        try:
            return Replicas(models).energy_forces()
        except ValueError:
            pass
    return [m.energy_forces() for m in models]

