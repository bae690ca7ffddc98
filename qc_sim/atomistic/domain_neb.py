"""The nudged elastic band over MPI ranks (docs/design.md section 7): the inner images spread over
rank partitions, each image split over the ranks of its partition.

The ranks of ``comm`` form ``min(ranks, inner images)`` partitions of consecutive ranks, and
the inner images go to the partitions in consecutive blocks. A partition evaluates each of
its images as a :class:`~qc_sim.atomistic.domain_model.DomainModel` on its own
sub-communicator (owned atoms, ghosts, the image's energy as an exact sum). After each
evaluation every rank receives every image's energy and forces (one allgather of the owned
rows, keyed by global id), so every rank holds the whole band and makes the same band
arithmetic (tangents, springs, the climbing image) on the same numbers as the one-rank run:
the band relaxes to the same bits on any rank count. The band is small beside the crystal
(a few images), so replicating its positions costs memory, not time.
"""

from __future__ import annotations

import numpy as np

from qc_sim.atomistic.domain_model import DomainModel
from qc_sim.parallel.decompose import rcb
from qc_sim.solvers.neb import Band


def whole_positions(model: DomainModel, ids) -> np.ndarray:
    """The positions of every atom of ``model`` (all ranks' owned atoms), (n, 3) Å in the
    order of ``ids`` (every atom's global id), on every rank: a gather, for set-up and
    results, never inside a step."""
    parts = model.comm.allgather((model.ids, np.asarray(model.device.to_host(
        model.owned_positions))))
    return _assemble(ids, [(i, x) for i, x in parts], 3)


def _assemble(ids, parts, width) -> np.ndarray:
    ids = np.asarray(ids)
    order = np.argsort(ids, kind="stable")
    out = np.full((len(ids), width), np.nan)
    seen = np.zeros(len(ids), bool)
    for part_ids, values in parts:
        rows = order[np.searchsorted(ids[order], part_ids)]
        out[rows] = values
        seen[rows] = True
    if not seen.all():
        raise RuntimeError(f"{int((~seen).sum())} atoms are owned by no rank")
    return out


class DomainBand(Band):
    """A NEB band of the configurations ``images`` ((n, 3) Å each, in the order of
    ``atoms``; end points first and last, held) of one crystal, its inner images spread
    over the ranks of ``comm``; spring constant ``k`` eV/Å^2, a climbing image with
    ``climb``. A :class:`~qc_sim.solvers.protocol.Minimizable` that
    :func:`~qc_sim.solvers.neb.run_neb` relaxes; every rank calls it together. It is a
    :class:`~qc_sim.solvers.neb.Band` whose images are not Minimizables of their own: the
    band's force arithmetic is Band's, the images' positions, evaluation and max force
    are this class's."""

    def __init__(self, comm, atoms, potential, device, images, k: float = 0.1,
                 climb: bool = True, skin: float = 0.5, fixed=None):
        # Band.__init__ is not called: it wants one Minimizable per image
        n_inner = len(images) - 2
        if n_inner < 1:
            raise ValueError(f"a band needs at least one inner image, got {len(images)} images")
        rank, size = comm.Get_rank(), comm.Get_size()
        self.comm, self.device, self.xp = comm, device, device.xp
        self.k, self.climb = float(k), climb
        self.ids = np.asarray(atoms.ids)
        groups = min(size, n_inner)
        self.group_of_image = [i * groups // n_inner for i in range(n_inner)]
        color = rank * groups // size
        self.sub = comm.Split(color, rank)
        fixed = np.zeros(len(atoms), bool) if fixed is None else np.asarray(fixed, bool)
        self._free = device.asarray((~fixed).astype(np.float64))[:, None]
        images = [np.asarray(x, float) for x in images]
        part = rcb(images[0], np.ones(len(atoms)), self.sub.Get_size(), atoms.box.lo,
                   atoms.box.hi)
        order = np.argsort(self.ids, kind="stable")
        self.models, self._rows = {}, {}
        for i in range(n_inner):
            if self.group_of_image[i] != color:
                continue
            image = atoms.select(np.ones(len(atoms), bool))
            image.positions = images[i + 1].copy()
            model = DomainModel(self.sub, image, potential, device, part, skin=skin,
                                fixed=fixed)
            self.models[i] = model
            self._rows[i] = order[np.searchsorted(self.ids[order], model.ids)]
        self.x = [device.asarray(x) for x in images]
        self.energies = np.zeros(len(images))
        for end in (0, -1):  # each end point once, split over all ranks
            whole = atoms.select(np.ones(len(atoms), bool))
            whole.positions = images[end].copy()
            ends = rcb(images[end], np.ones(len(atoms)), size, atoms.box.lo, atoms.box.hi)
            self.energies[end] = DomainModel(comm, whole, potential, device, ends, skin=skin,
                                             fixed=fixed).energy_forces()[0]
        self.evaluations = 0
        self._n = len(atoms)

    # -- the solver protocol -------------------------------------------------------------

    def get_dofs(self):
        return self.xp.concatenate([x.reshape(-1) for x in self.x[1:-1]])

    def set_dofs(self, y) -> None:
        """Move the free atoms of every inner image; each partition also moves its own
        images' owned atoms (the same arithmetic on the same numbers)."""
        size = 3 * self._n
        for i in range(len(self.x) - 2):
            new = self.device.asarray(y[i * size:(i + 1) * size]).reshape(-1, 3)
            x = self.x[i + 1]
            self.x[i + 1] = x + (new - x) * self._free
            if i in self.models:
                self.models[i].set_dofs(new[self.device.asarray(self._rows[i])].reshape(-1))

    def evaluate(self):
        """[(energy, forces (3n,))] of every inner image, on every rank."""
        mine = {}
        for i, model in self.models.items():
            e, f = model.energy_forces()
            mine[i] = (e, model.ids, np.asarray(self.device.to_host(f)).reshape(-1, 3))
        everyone = self.comm.allgather(mine)
        out = []
        for i in range(len(self.x) - 2):
            parts = [p[i] for p in everyone if i in p]
            f = _assemble(self.ids, [(ids, fi) for _, ids, fi in parts], 3)
            out.append((parts[0][0], self.device.asarray(f).reshape(-1)))
        self.evaluations += len(out)
        return out

    def image_dofs(self):
        """The degrees of freedom of every image, end points included."""
        return [x.reshape(-1) for x in self.x]

    def max_force(self, forces) -> float:
        f = forces.reshape(-1, 3)
        return float(self.xp.sqrt((f * f).sum(axis=1)).max()) if len(f) else 0.0
