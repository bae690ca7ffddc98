"""Atom trajectories in H5MD 1.1 (de Buyl, Colberg & Höfling, Comput. Phys. Commun. 185
(2014) 1546), for MDAnalysis and h5py: ``MDAnalysis.Universe("traj.h5md")`` opens it by its
name alone (MDAnalysis picks its H5MD reader by the ``.h5md`` suffix and builds a minimal
topology from the particle group it names ``trajectory``, as this one is named). OVITO has
no H5MD reader: it opens the GSD trajectory (:mod:`qc_sim.io.gsd`).

    /h5md                             version = [1, 1]; author/name; creator/name, version
    /particles/trajectory/box         dimension, boundary ("periodic" | "none"); edges a
                                      time-dependent element: step, time, value (F, D) Å
    /particles/trajectory/position    step (F,), time (F,), value (F, N, D): folded into the
                                      box along its periodic axes
    /particles/trajectory/image       step, time, value (F, N, D) int: box lengths folded away
    /particles/trajectory/velocity    step, time, value (F, N, D)
    /particles/trajectory/species     (N,) int (type index), .../id (N,) global ids; further
                                      time-independent (N,) datasets (a coupled model's
                                      blend_weight and zone)

A 2D model is written in three dimensions (z = 0; MDAnalysis reads only 3D boxes). A writer
given ``start`` appends: it keeps the frames of an existing file before step
``start`` (a restart's first step) and drops the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qc_sim import __version__
from qc_sim.errors import InputError

GROUP = "particles/trajectory"
ELEMENTS = ("box/edges", "position", "image", "velocity")


class H5MDWriter:
    """Append frames of the atoms with global ``ids`` and type indices ``types`` in ``box``
    to ``path``: created (or truncated), or with ``start`` continued from the frames before
    that step. ``properties`` maps names to time-independent per-atom values."""

    def __init__(self, path, box, ids, types, dimension: int = 3, author: str = "qc-sim user",
                 properties=None, start: int | None = None):
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.box = box
        # always three components: MDAnalysis reads 3D boxes only, so a 2D model (its
        # ``dimension``) is written with z = 0 in a box of its own z extent
        self.d = d = 3
        if start is not None and self.path.exists():
            self._continue(ids, start)
            return
        self.file = h5py.File(self.path, "w")
        n = len(ids)
        root = self.file.create_group("h5md")
        root.attrs["version"] = np.array([1, 1], dtype=np.int32)
        root.create_group("author").attrs["name"] = author
        creator = root.create_group("creator")
        creator.attrs["name"] = "qc-sim"
        creator.attrs["version"] = __version__
        group = self.file.create_group(GROUP)
        b = group.create_group("box")
        b.attrs["dimension"] = np.int32(d)
        b.attrs["boundary"] = np.array(["periodic" if p else "none" for p in box.periodic[:d]],
                                       dtype=h5py.string_dtype())
        group.create_dataset("species", data=np.asarray(types, np.int32))
        group.create_dataset("id", data=np.asarray(ids, np.int64))
        for name, value in (properties or {}).items():
            group.create_dataset(name, data=np.asarray(value))
        self.elements = {}
        # the box edges are a time-dependent element (the spec allows either form; MDAnalysis
        # reads only this one, and a relaxed box changes)
        for name, dtype in (("box/edges", np.float64), ("position", np.float64),
                            ("image", np.int32), ("velocity", np.float64)):
            element = group.create_group(name)
            element.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64,
                                   chunks=(64,))
            element.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64,
                                   chunks=(64,))
            element["time"].attrs["unit"] = "ps"
            shape = (d,) if name == "box/edges" else (n, d)
            element.create_dataset("value", shape=(0,) + shape, maxshape=(None,) + shape,
                                   dtype=dtype, chunks=(1,) + shape)
            self.elements[name] = element
        self.elements["box/edges"]["value"].attrs["unit"] = "Angstrom"
        self.elements["position"]["value"].attrs["unit"] = "Angstrom"
        self.elements["velocity"]["value"].attrs["unit"] = "Angstrom ps-1"

    def _continue(self, ids, start: int) -> None:
        """Open the existing file for appending, its frames from step ``start`` on dropped."""
        import h5py

        try:
            self.file = h5py.File(self.path, "a")
        except OSError as exc:
            raise InputError(f"{self.path}: cannot continue this H5MD trajectory ({exc}); "
                             "move it away to start a new one") from None
        group = self.file.get(GROUP)
        if group is None or "id" not in group or \
                not np.array_equal(group["id"][()], np.asarray(ids, np.int64)):
            self.file.close()
            raise InputError(f"{self.path}: not a qc-sim H5MD trajectory of this run's "
                             f"{len(ids)} atoms: move it away to start a new one")
        self.elements = {name: group[name] for name in ELEMENTS}
        for element in self.elements.values():
            steps = element["step"][()]
            keep = int(np.argmax(steps >= start)) if np.any(steps >= start) else len(steps)
            for key in ("step", "time", "value"):
                element[key].resize(keep, axis=0)
        self.file.flush()

    def append(self, step: int, time: float, positions, velocities, box=None) -> None:
        """One frame: raw (unwrapped) positions (n, 3) Å, velocities (n, 3) Å/ps, in ``box``
        (default: the writer's box; give it when the box has changed)."""
        if box is not None:
            self.box = box
        lo = np.asarray(self.box.lo)
        L = self.box.lengths
        x = np.zeros((len(positions), 3))
        v = np.zeros((len(positions), 3))
        xs, vs = np.asarray(positions, float), np.asarray(velocities, float)
        x[:, : xs.shape[1]] = xs
        v[:, : vs.shape[1]] = vs
        image = np.zeros(x.shape, np.int32)
        for a in range(self.d):
            if self.box.periodic[a]:
                image[:, a] = np.floor((x[:, a] - lo[a]) / L[a]).astype(np.int32)
        folded = x - image * L
        data = {"box/edges": np.asarray(L, float), "position": folded, "image": image,
                "velocity": v}
        for name, element in self.elements.items():
            k = element["step"].shape[0]
            for key in ("step", "time", "value"):
                element[key].resize(k + 1, axis=0)
            element["step"][k] = step
            element["time"][k] = time
            element["value"][k] = data[name][..., : self.d]
        self.file.flush()

    def close(self) -> None:
        self.file.close()
