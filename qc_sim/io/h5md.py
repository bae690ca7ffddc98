"""Atom trajectories in H5MD 1.1 (de Buyl, Colberg & Höfling, Comput. Phys. Commun. 185
(2014) 1546), the HDF5 layout OVITO and MDAnalysis read.

    /h5md                      version = [1, 1]; author/name; creator/name, version
    /particles/all/box         dimension, boundary ("periodic" | "none"); edges a
                               time-dependent element: step, time, value (F, D) Å
    /particles/all/position    step (F,), time (F,), value (F, N, D): folded into the box
    /particles/all/image       step, time, value (F, N, D) int: box lengths folded away
    /particles/all/velocity    step, time, value (F, N, D)
    /particles/all/species     (N,) int (type index), /particles/all/id (N,) global ids
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qc_sim import __version__


class H5MDWriter:
    """Append frames of ``n`` atoms in ``box`` to ``path`` (created, or truncated)."""

    def __init__(self, path, box, ids, types, dimension: int = 3, author: str = "qc-sim user"):
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = h5py.File(self.path, "w")
        self.box = box
        d = int(dimension)
        self.d = d
        n = len(ids)
        root = self.file.create_group("h5md")
        root.attrs["version"] = np.array([1, 1], dtype=np.int32)
        root.create_group("author").attrs["name"] = author
        creator = root.create_group("creator")
        creator.attrs["name"] = "qc-sim"
        creator.attrs["version"] = __version__
        group = self.file.create_group("particles/all")
        b = group.create_group("box")
        b.attrs["dimension"] = np.int32(d)
        b.attrs["boundary"] = np.array(["periodic" if p else "none" for p in box.periodic[:d]],
                                       dtype=h5py.string_dtype())
        group.create_dataset("species", data=np.asarray(types, np.int32))
        group.create_dataset("id", data=np.asarray(ids, np.int64))
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

    def append(self, step: int, time: float, positions, velocities, box=None) -> None:
        """One frame: raw (unwrapped) positions (n, 3) Å, velocities (n, 3) Å/ps, in ``box``
        (default: the writer's box; give it when the box has changed)."""
        if box is not None:
            self.box = box
        lo = np.asarray(self.box.lo)
        L = self.box.lengths
        x = np.asarray(positions, float)
        image = np.zeros(x.shape, np.int32)
        for a in range(3):
            if self.box.periodic[a]:
                image[:, a] = np.floor((x[:, a] - lo[a]) / L[a]).astype(np.int32)
        folded = x - image * L
        data = {"box/edges": np.asarray(L, float), "position": folded, "image": image, "velocity": np.asarray(velocities, float)}
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
