"""Atom trajectories as extended XYZ (ASE, OVITO): one text frame per step,

    N
    Lattice="Lx 0 0 0 Ly 0 0 0 Lz" Origin="x0 y0 z0" Properties=species:S:1:pos:R:3:velo:R:3:id:I:1 \\
        pbc="T T T" Time=t Step=k
    Cu  x y z  vx vy vz  id

in id order; positions unwrapped (Å), velocities Å/ps, time ps. The ``velo`` and ``id``
columns are the names OVITO maps to its Velocity and Particle Identifier properties.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class ExtXYZWriter:
    """Append frames of atoms with global ``ids`` and chemical ``symbols`` (per atom)."""

    def __init__(self, path, ids, symbols):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.order = np.argsort(np.asarray(ids))
        self.ids = np.asarray(ids)[self.order]
        self.symbols = np.asarray(symbols)[self.order]
        self.file = open(self.path, "w")

    def append(self, step: int, time: float, positions, velocities, box) -> None:
        x = np.asarray(positions, float)[self.order]
        v = np.asarray(velocities, float)[self.order]
        L = np.asarray(box.lengths, float)
        lattice = " ".join(f"{L[i] if i == j else 0.0:.10g}" for i in range(3) for j in range(3))
        origin = " ".join(f"{c:.10g}" for c in np.asarray(box.lo, float))
        pbc = " ".join("T" if p else "F" for p in box.periodic)
        lines = [str(len(x)),
                 f'Lattice="{lattice}" Origin="{origin}" '
                 "Properties=species:S:1:pos:R:3:velo:R:3:id:I:1 "
                 f'pbc="{pbc}" Time={time!r} Step={int(step)}']
        for s, (p, u, i) in enumerate(zip(x.tolist(), v.tolist(), self.ids.tolist())):
            lines.append(f"{self.symbols[s]} {p[0]!r} {p[1]!r} {p[2]!r} "
                         f"{u[0]!r} {u[1]!r} {u[2]!r} {i}")
        self.file.write("\n".join(lines) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()
