"""A trajectory written by several MPI ranks without gathering (docs/design.md section 7), and its
merge into the files the case names: the H5MD one (MDAnalysis, h5py) and the GSD one (OVITO).

Each rank appends the atoms it owns at each frame to its own part file ``NAME.partK`` (NAME
the case's ``[output] trajectory``, or its ``gsd`` when it writes no H5MD):

    attrs       schema "qc-sim trajectory part 1", part, parts, atoms (the total), dimension,
                species (names), box lo/hi (3,) Å and periodic (3,), targets (the files to
                merge into, relative to the part's folder), start (a restart's first step:
                the merge appends to the files' frames before it; -1: it writes them anew)
    frames/     step (F,), time (F,) ps, offset (F + 1,): frame f is rows offset[f]:offset[f+1]
    atoms/      id (R,), type (R,), position (R, 3) Å raw, velocity (R, 3) Å/ps: every frame's
                owned atoms, one after another (the owned set changes as atoms migrate)

:func:`merge_trajectory` reads the parts frame by frame (one frame of all atoms in memory at
a time) and writes every target, H5MD 1.1 or GSD by its suffix, with the atoms in global-id
order: the files a serial run writes. A part that is missing, from another set, or whose
frames or atoms disagree with the others is an error naming it, never filled in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qc_sim.errors import InputError

SCHEMA = "qc-sim trajectory part 1"


def part_path(path, k: int) -> Path:
    path = Path(path)
    return path.with_name(f"{path.name}.part{k}")


class H5MDPartWriter:
    """Rank ``part`` of ``parts`` appends its owned atoms' frames to ``NAME.partK``
    (created, or truncated); ``atoms`` the total over all ranks; ``targets`` the files the
    merge writes (default: ``NAME``), ``start`` a restart's first step."""

    def __init__(self, path, part: int, parts: int, atoms: int, box, species,
                 dimension: int = 3, targets=None, start: int | None = None):
        import os

        import h5py

        self.path = part_path(path, part)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = f = h5py.File(self.path, "w")
        f.attrs.update(schema=SCHEMA, part=int(part), parts=int(parts), atoms=int(atoms),
                       dimension=int(dimension), start=-1 if start is None else int(start))
        folder = os.path.abspath(self.path.parent)
        f.attrs["targets"] = np.array(
            [os.path.relpath(os.path.abspath(t), folder) for t in (targets or [path])],
            dtype=h5py.string_dtype())
        f.attrs["species"] = np.array(list(species), dtype=h5py.string_dtype())
        f.attrs["box_lo"] = np.asarray(box.lo, float)
        f.attrs["box_hi"] = np.asarray(box.hi, float)
        f.attrs["periodic"] = np.asarray(box.periodic, bool)
        for name, dtype in (("frames/step", np.int64), ("frames/time", np.float64),
                            ("frames/offset", np.int64), ("atoms/id", np.int64),
                            ("atoms/type", np.int32)):
            f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,))
        for name in ("atoms/position", "atoms/velocity"):
            f.create_dataset(name, shape=(0, 3), maxshape=(None, 3), dtype=np.float64,
                             chunks=(4096, 3))
        f["frames/offset"].resize(1, axis=0)
        f["frames/offset"][0] = 0

    def append(self, step: int, time: float, ids, types, positions, velocities) -> None:
        """One frame of the owned atoms: ids (r,), types (r,), raw positions (r, 3) Å,
        velocities (r, 3) Å/ps."""
        f = self.file
        k = f["frames/step"].shape[0]
        start = int(f["frames/offset"][k])
        r = len(ids)
        for name, value in (("atoms/id", ids), ("atoms/type", types),
                            ("atoms/position", positions), ("atoms/velocity", velocities)):
            f[name].resize(start + r, axis=0)
            f[name][start:start + r] = np.asarray(value)
        for name, value in (("frames/step", step), ("frames/time", time)):
            f[name].resize(k + 1, axis=0)
            f[name][k] = value
        f["frames/offset"].resize(k + 2, axis=0)
        f["frames/offset"][k + 1] = start + r
        f.flush()

    def close(self) -> None:
        self.file.close()


def _open_parts(path: Path):
    import h5py

    first = part_path(path, 0)
    if not first.is_file():
        raise InputError(f"{first}: part 0 of trajectory {path} is missing")
    files = []
    try:
        files.append(h5py.File(first, "r"))
        parts = int(files[0].attrs.get("parts", 0))
        for k in range(1, parts):
            p = part_path(path, k)
            if not p.is_file():
                raise InputError(f"{p}: part {k} of the {parts} parts of trajectory {path} "
                                 "is missing")
            files.append(h5py.File(p, "r"))
    except OSError as exc:
        for f in files:
            f.close()
        raise InputError(f"{path}: a part is not readable HDF5 ({exc})") from None
    except InputError:
        for f in files:
            f.close()
        raise
    return files


def _check(path: Path, files, before: int | None = None) -> int:
    """The frames to merge: all (which every part must hold alike), or those before step
    ``before`` (which every part must hold; a part may go on further)."""
    head = files[0].attrs
    for k, f in enumerate(files):
        name = part_path(path, k)
        a = f.attrs
        if a.get("schema") != SCHEMA:
            raise InputError(f"{name}: not a qc-sim trajectory part")
        if int(a["part"]) != k or int(a["parts"]) != len(files) or \
                int(a["atoms"]) != int(head["atoms"]):
            raise InputError(f"{name}: part {int(a['part'])} of {int(a['parts'])} with "
                             f"{int(a['atoms'])} atoms does not belong with part 0 "
                             f"({len(files)} parts, {int(head['atoms'])} atoms)")
        if before is not None:  # only the frames before that step, which all parts hold
            continue
        if not np.array_equal(f["frames/step"][()], files[0]["frames/step"][()]):
            raise InputError(f"{name}: its frames (steps {_steps(f)}) are not those of part 0 "
                             f"(steps {_steps(files[0])}): a rank stopped early?")
    steps = files[0]["frames/step"][()]
    if before is None:
        return len(steps)
    frames = int(np.sum(steps < before))
    for k, f in enumerate(files):
        if not np.array_equal(f["frames/step"][:frames], steps[:frames]) or \
                f["frames/offset"].shape[0] < frames + 1:
            raise InputError(f"{part_path(path, k)}: its frames (steps {_steps(f)}) are not "
                             f"those of part 0 (steps {_steps(files[0])}) before step "
                             f"{before}")
    return frames


def _steps(f) -> str:
    s = f["frames/step"][()]
    return f"{len(s)} frames, {s[0]}..{s[-1]}" if len(s) else "none"


def merge_trajectory(path, out=None, before: int | None = None) -> list[tuple[Path, int, int]]:
    """Merge the parts of trajectory ``path`` into its targets (the case's H5MD and GSD
    files), or into ``out`` alone (H5MD, or GSD by a ``.gsd`` suffix): a
    restart's parts are appended to the frames before its first step. With ``before``,
    only the frames before that step (a restart from there merging what a stopped run
    left). (file, frames from the parts, atoms) for each file written."""
    from qc_sim.geometry import Box
    from qc_sim.io.trajectory import is_gsd, open_writer

    path = Path(path)
    files = _open_parts(path)
    outs = [Path(out)] if out is not None else None
    writers, done = [], False
    try:
        frames = _check(path, files, before)
        head = files[0].attrs
        if outs is None:
            names = [t.decode() if isinstance(t, bytes) else str(t)
                     for t in head.get("targets", [])]
            outs = [part_path(path, 0).parent / t for t in names] or [path]
        start = int(head.get("start", -1))
        n = int(head["atoms"])
        box = Box(tuple(head["box_lo"]), tuple(head["box_hi"]),
                  tuple(bool(p) for p in head["periodic"]))
        species = [s.decode() if isinstance(s, bytes) else str(s) for s in head["species"]]
        steps = files[0]["frames/step"][:frames]
        times = files[0]["frames/time"][:frames]
        offsets = [f["frames/offset"][: frames + 1] for f in files]
        if not len(steps):
            if before is not None:
                return []
            raise InputError(f"{path}: its parts hold no frames")
        for k in range(len(steps)):
            rows = [(f, o[k], o[k + 1]) for f, o in zip(files, offsets)]
            ids = np.concatenate([f["atoms/id"][a:b] for f, a, b in rows])
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            if len(ids) != n or np.any(ids[1:] == ids[:-1]):
                raise InputError(f"{path}: frame {k} (step {steps[k]}) holds {len(ids)} atoms "
                                 f"({len(np.unique(ids))} distinct) over its parts; the parts "
                                 f"say {n}")
            x, v, t = (np.concatenate([f[name][a:b] for f, a, b in rows])[order]
                       for name in ("atoms/position", "atoms/velocity", "atoms/type"))
            if not writers:
                # a new file is written aside and renamed into place; a restart's appends to
                # the existing one (a merge cut short is redone by merging again)
                for o in outs:
                    tmp = o if start >= 0 else o.with_name(f".{o.name}.merging")
                    writers.append((open_writer(tmp, box, ids, t, species,
                                                int(head["dimension"]),
                                                start=start if start >= 0 else None,
                                                gsd=is_gsd(o)), tmp, o))
                first_ids = ids
            elif not np.array_equal(ids, first_ids):
                raise InputError(f"{path}: frame {k} (step {steps[k]}) holds other atoms than "
                                 "frame 0")
            for writer, _, _ in writers:
                writer.append(int(steps[k]), float(times[k]), x, v)
        for writer, tmp, o in writers:
            writer.close()
            if tmp != o:
                tmp.replace(o)
        done = True
        return [(o, len(steps), n) for o in outs]
    finally:
        for f in files:
            f.close()
        if not done:  # an error part-way: no half-merged new file left
            for writer, tmp, o in writers:
                try:
                    writer.close()
                except Exception:  # noqa: BLE001 - already failing
                    pass
                if tmp != o:
                    tmp.unlink(missing_ok=True)


def merge_leftover_parts(name, before: int, log=None) -> list:
    """Merge the frames before step ``before`` (a restart's first step) of the parts that a
    run on ranks, stopped before it merged them, left under ``name``, into the files they
    belong to, then remove the parts: what was merged (nothing when there are none);
    ``log`` (a callable taking a line) is told what was merged."""
    if not part_path(name, 0).exists():
        return []
    merged = merge_trajectory(name, before=before)
    remove_parts(name)
    if log is not None:
        for path, frames, atoms in merged:
            log(f"trajectory {path}: {frames} frames of {atoms} atoms merged from the parts "
                "a stopped run left")
    return merged


def remove_parts(name, first: int = 0) -> None:
    """Remove the parts ``name.partK`` from ``first`` on."""
    k = first
    while part_path(name, k).exists():
        part_path(name, k).unlink()
        k += 1
