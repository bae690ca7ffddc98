"""Particle trajectories as GSD (the HOOMD-blue format, https://gsd.readthedocs.io), the
binary trajectory OVITO opens directly (``ovito.io.import_file("traj.gsd")``, or File >
Load File) and the ``gsd`` package reads (``gsd.hoomd.open``). One frame per output step,
the particles in id order, positions and velocities in single precision (the HOOMD
schema's default: OVITO reads double precision GSD only from 3.15.2 on; the tests open the
files with OVITO 3.17; the H5MD trajectory keeps every bit for analysis):

    configuration/step        the step; configuration/dimensions 2 or 3
    configuration/box         [Lx, Ly, Lz, 0, 0, 0] Å (Lz = 0 in 2D): HOOMD's box is centred on
                              the origin, so a position is ours minus the box centre
    particles/types           the species names (for a coupled model, then "node")
    particles/typeid          (N,) index into types
    particles/position        (N, 3) Å relative to the box centre, folded into the box along
                              its periodic axes; particles/image (N, 3) the box lengths folded
                              away (OVITO's Periodic Image: its Unwrap trajectories modifier)
    particles/velocity        (N, 3) Å/ps
    log/particles/Particle Identifier   (N,) int64 global ids (OVITO's Particle Identifier)
    log/particles/NAME        further per-particle properties (a coupled model's
                              blend_weight and zone), OVITO user properties of that name
    log/time                  (1,) ps (OVITO's global attribute "time")
    log/box_center            (3,) Å: our coordinates are position + box_center
    log/NAME                  (1,) further global attributes of a frame (a crack's K)

GSD has no per-axis periodicity: OVITO shows every axis periodic, and along an open axis
particles may lie outside the box drawn. A writer given ``start`` appends: it keeps the
frames of an existing file before step ``start`` (a restart's first step) and drops the
rest, so that a restarted run continues its trajectory where its checkpoint was written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from qc_sim.errors import InputError



def frame_steps(path) -> np.ndarray:
    """The step of every frame of GSD file ``path`` (a chunk a frame lacks is frame 0's, as
    ``gsd.hoomd`` reads it)."""
    import gsd.fl

    with gsd.fl.open(str(path), "r") as f:
        return _steps(f)


def _steps(f) -> np.ndarray:
    name = "configuration/step"
    first = int(f.read_chunk(0, name)[0]) if f.nframes and f.chunk_exists(0, name) else 0
    return np.array([int(f.read_chunk(k, name)[0]) if f.chunk_exists(k, name) else first
                     for k in range(f.nframes)], np.int64)


def keep_frames_before(path, start: int) -> int:
    """Cut GSD file ``path`` to its frames before step ``start``: nothing to do when it has
    none after (the file is appended to as it is), else the frames kept are copied chunk by
    chunk into a file beside it that then replaces it. The frames kept."""
    import gsd.fl

    path = Path(path)
    try:
        with gsd.fl.open(str(path), "r") as f:
            steps = _steps(f)
            keep = int(np.searchsorted(steps, start)) if np.all(np.diff(steps) > 0) else \
                int(np.argmax(steps >= start)) if np.any(steps >= start) else len(steps)
            if keep == len(steps):
                return keep
            tmp = path.with_name(f".{path.name}.cut")
            names = f.find_matching_chunk_names("")
            with gsd.fl.open(str(tmp), "w", application=f.application, schema=f.schema,
                             schema_version=f.schema_version) as g:
                for k in range(keep):
                    for name in names:
                        if f.chunk_exists(k, name):
                            g.write_chunk(name, f.read_chunk(k, name))
                    g.end_frame()
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot continue this GSD trajectory ({exc}); move it away "
                         "to start a new one") from None
    os.replace(tmp, path)
    return keep


class GSDWriter:
    """Append frames of the particles with global ``ids``, type indices ``types`` into
    ``species`` (names), in ``box``, to ``path``: created (or truncated), or with ``start``
    continued from the frames before that step (:func:`keep_frames_before`).
    ``properties`` maps names to per-particle values written with every frame."""

    def __init__(self, path, box, ids, types, species, dimension: int = 3, properties=None,
                 start: int | None = None):
        import gsd.hoomd

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.order = np.argsort(np.asarray(ids), kind="stable")
        self.ids = np.asarray(ids, np.int64)[self.order]
        self.typeid = np.asarray(types, np.uint32)[self.order]
        self.species = [str(s) for s in species]
        self.properties = {name: np.asarray(value)[self.order]
                           for name, value in (properties or {}).items()}
        self.box = box
        self.d = int(dimension)
        mode = "w"
        if start is not None and self.path.exists():
            keep_frames_before(self.path, start)
            mode = "r+"
        try:
            self.file = gsd.hoomd.open(str(self.path), mode)
        except (RuntimeError, OSError) as exc:
            raise InputError(f"{self.path}: cannot open it as a GSD trajectory ({exc})") \
                from None
        if mode == "w":  # the gsd library creates it 0640: the umask's mode, as open() would
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(self.path, 0o666 & ~mask)
        if mode == "r+" and len(self.file):
            first = self.file[0].particles
            if first.N != len(self.ids) or list(first.types) != self.species:
                self.file.close()
                raise InputError(f"{self.path}: holds {first.N} particles of types "
                                 f"{list(first.types)}, not this run's {len(self.ids)} of "
                                 f"{self.species}: move it away to start a new one")

    def append(self, step: int, time: float, positions, velocities, box=None,
               attributes=None) -> None:
        """One frame: raw (unwrapped) positions (n, d or 3) Å and velocities Å/ps, in the
        order of the ``ids`` given, in ``box`` (default: the writer's); ``attributes`` maps
        names to numbers written as ``log/NAME`` (OVITO global attributes)."""
        import gsd.hoomd

        if box is not None:
            self.box = box
        lo, L = np.asarray(self.box.lo, float), np.asarray(self.box.lengths, float)
        n = len(self.ids)
        x = np.zeros((n, 3))
        v = np.zeros((n, 3))
        xs, vs = np.asarray(positions, float)[self.order], np.asarray(velocities, float)[self.order]
        x[:, : xs.shape[1]] = xs
        v[:, : vs.shape[1]] = vs
        image = np.zeros((n, 3), np.int32)
        for a in range(self.d):
            if self.box.periodic[a]:
                image[:, a] = np.floor((x[:, a] - lo[a]) / L[a]).astype(np.int32)
        centre = lo + 0.5 * L
        if self.d == 2:
            x[:, 2], v[:, 2], centre[2] = 0.0, 0.0, 0.0
        frame = gsd.hoomd.Frame()
        frame.configuration.step = int(step)
        frame.configuration.dimensions = self.d
        frame.configuration.box = [L[0], L[1], L[2] if self.d == 3 else 0.0, 0.0, 0.0, 0.0]
        frame.particles.N = n
        frame.particles.types = self.species
        frame.particles.typeid = self.typeid
        frame.particles.position = x - image * L - centre
        frame.particles.image = image
        frame.particles.velocity = v
        frame.log["particles/Particle Identifier"] = self.ids
        for name, value in self.properties.items():
            frame.log[f"particles/{name}"] = value
        frame.log["time"] = np.array([float(time)])
        frame.log["box_center"] = centre
        for name, value in (attributes or {}).items():
            frame.log[name] = np.array([value], float)
        self.file.append(frame)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def read_frames(path):
    """(step, time, ids, positions, velocities) of every frame of a GSD file this module
    wrote, positions unwrapped in our coordinates: for tests and scripts."""
    import gsd.hoomd

    out = []
    with gsd.hoomd.open(str(path), "r") as f:
        for frame in f:
            c = frame.configuration
            L = np.array(c.box[:3], float)
            centre = np.asarray(frame.log["box_center"], float)
            x = frame.particles.position + frame.particles.image * L + centre
            out.append((int(c.step), float(frame.log["time"][0]),
                        np.asarray(frame.log["particles/Particle Identifier"]), x,
                        np.asarray(frame.particles.velocity)))
    return out
