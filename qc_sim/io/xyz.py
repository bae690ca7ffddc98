"""Atom trajectories as extended XYZ (ASE, OVITO): one text frame per step,

    N
    Lattice="Lx 0 0 0 Ly 0 0 0 Lz" Origin="x0 y0 z0" Properties=species:S:1:pos:R:3:velo:R:3:id:I:1 \\
        pbc="T T T" Time=t Step=k
    Cu  x y z  vx vy vz  id

in id order; positions unwrapped (Å), velocities Å/ps, time ps. The ``velo`` and ``id``
columns are the names OVITO maps to its Velocity and Particle Identifier properties
(``ovito.io.import_file("traj.xyz")``); ASE reads it with ``ase.io.read(..., index=":")``.
Text: for large runs the GSD trajectory (:mod:`qc_sim.io.gsd`) is the one to write. A writer
given ``start`` appends, keeping the frames of an existing file before step ``start``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from qc_sim.errors import InputError


def keep_frames_before(path, start: int) -> int:
    """Cut extended XYZ file ``path`` at its first frame of step ``start`` or later (read
    from each frame's ``Step=``), or at a frame cut short; the frames kept."""
    path = Path(path)
    kept, cut = 0, None
    with open(path, "rb") as fh:
        while True:
            at = fh.tell()
            head = fh.readline()
            if not head.strip():
                break
            comment = fh.readline().decode(errors="replace")
            match = re.search(r"\bStep=(-?\d+)", comment)
            try:
                n = int(head)
            except ValueError:
                match = None
            if match is None:
                raise InputError(f"{path}: frame {kept + 1} is not a qc-sim extended XYZ frame "
                                 "(no atom count or Step=): move it away to start a new one")
            if int(match.group(1)) >= start:
                cut = at
                break
            if not all(fh.readline().endswith(b"\n") for _ in range(n)):
                cut = at  # a frame cut short (a run killed while writing it)
                break
            kept += 1
    if cut is not None:
        with open(path, "r+b") as fh:
            fh.truncate(cut)
    return kept


class ExtXYZWriter:
    """Append frames of atoms with global ``ids`` and chemical ``symbols`` (per atom) to
    ``path``: created (or truncated), or with ``start`` continued from the frames before
    that step."""

    def __init__(self, path, ids, symbols, start: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.order = np.argsort(np.asarray(ids))
        self.ids = np.asarray(ids)[self.order]
        self.symbols = np.asarray(symbols)[self.order]
        append = start is not None and self.path.exists()
        if append:
            keep_frames_before(self.path, start)
        self.file = open(self.path, "a" if append else "w")

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
