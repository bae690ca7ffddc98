"""HDF5 checkpoints that restart a run exactly (docs/design.md section 9).

A checkpoint holds the whole state of a run keyed by global id (positions and velocities of
atoms, or of a coupled model's nodes; ``kind`` says which), named extra fields (for example
the reference node positions a coupled restart checks its mesh against), the step and
time, the case text it came from (and its SHA-256), the run that wrote it (``run_id``, drawn
by a fresh run and kept by its restarts, and the ``writer``'s host and process id: absent in
older files, read as unknown), the qc-sim version and a schema version; every dataset
carries a SHA-256 checksum that is verified on reading. Files are written to a temporary
name and renamed into place (a killed writer leaves the previous checkpoint intact), and
the previous ``keep`` checkpoints are kept as ``NAME.1``, ``NAME.2``...
Random numbers need no state: the Langevin noise is a function of (seed, step, id).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qc_sim import __version__
from qc_sim.errors import InputError

SCHEMA = 2  # 2: kind and fields; schema 1 files (atoms only) still read


@dataclass
class Checkpoint:
    ids: np.ndarray  # (n,) int64, sorted
    positions: np.ndarray  # (n, 3) Å, unwrapped
    velocities: np.ndarray  # (n, 3) Å/ps
    step: int
    time: float
    case_text: str
    case_path: str
    version: str = __version__
    kind: str = "atoms"  # "atoms" or "coupled" (nodes of a coupled model)
    fields: dict = field(default_factory=dict)  # name -> array, checksummed like the rest
    run_id: str = ""  # the run that wrote it ("": the job's, or unknown in an older file)
    writer: str = ""  # the process that wrote it ("host H pid P"; "" unknown)

    @property
    def case_sha256(self) -> str:
        return hashlib.sha256(self.case_text.encode()).hexdigest()


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _rotate(path: Path, keep: int) -> None:
    """NAME -> NAME.1 -> ... -> NAME.keep, each with its part files (NAME.partK)."""
    for k in range(keep, 0, -1):
        older = path.with_name(f"{path.name}.{k}")
        newer = path if k == 1 else path.with_name(f"{path.name}.{k - 1}")
        if newer.exists():
            for part in path.parent.glob(f"{older.name}.part*"):
                part.unlink()
            for part in path.parent.glob(f"{newer.name}.part*"):
                os.replace(part, path.with_name(older.name + part.name[len(newer.name):]))
            os.replace(newer, older)


def write_checkpoint(path, cp: Checkpoint, keep: int = 2) -> Path:
    """Write ``cp`` to ``path`` atomically, keeping ``keep`` previous checkpoints."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_file(path.with_name(f".{path.name}.tmp{os.getpid()}"), cp)
    _rotate(path, keep)
    os.replace(tmp, path)
    return path


def _part(path: Path, k: int) -> Path:
    return path.with_name(f"{path.name}.part{k}")


def write_checkpoint_parts(path, cp: Checkpoint, comm, keep: int = 2, fields=None) -> Path:
    """A checkpoint written by every rank of ``comm`` without gathering: each rank writes
    the atoms it owns (``cp``) to ``NAME.partK`` and rank 0 an index ``NAME`` (the case, step,
    time and the number of parts and atoms). All are written to temporary names first; the
    previous set is rotated to ``NAME.1`` (its parts with it) and the index is renamed into
    place last, so a job killed at any moment leaves the previous set whole. ``fields``
    (rank 0's) are whole-model arrays kept in the index (e.g. a mesh's reference nodes);
    the fields of ``cp`` itself are per row of this rank's (one row per id), merged by id
    on reading. :func:`read_checkpoint` reads either kind, on any number of ranks."""
    from qc_sim.parallel.mpi import barrier, global_exact_sum

    path = Path(path)
    rank, size = comm.Get_rank(), comm.Get_size()
    if rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
    barrier(comm)
    tmp = _write_file(path.with_name(f".{path.name}.part{rank}.tmp{os.getpid()}"), cp)
    atoms = int(round(global_exact_sum(comm, [float(len(cp.ids))])))
    barrier(comm)
    if rank == 0:
        _rotate(path, keep)
        for stale in path.parent.glob(f"{path.name}.part*"):  # parts of an unfinished set
            stale.unlink()
    barrier(comm)
    os.replace(tmp, _part(path, rank))
    barrier(comm)
    if rank == 0:
        width = np.shape(cp.positions)[1] if np.ndim(cp.positions) == 2 else 3
        index = Checkpoint(np.zeros(0, np.int64), np.zeros((0, width)), np.zeros((0, width)),
                           cp.step, cp.time, cp.case_text, cp.case_path, cp.version, cp.kind,
                           dict(fields or {}), cp.run_id, cp.writer)
        tmp = _write_file(path.with_name(f".{path.name}.tmp{os.getpid()}"), index,
                          parts=size, atoms=atoms)
        os.replace(tmp, path)
    barrier(comm)
    return path


def _write_file(tmp: Path, cp: Checkpoint, **attrs) -> Path:
    import h5py

    order = np.argsort(cp.ids)
    data = {"ids": np.asarray(cp.ids, np.int64)[order],
            "positions": np.asarray(cp.positions, np.float64)[order],
            "velocities": np.asarray(cp.velocities, np.float64)[order]}
    data.update({f"fields/{name}": np.asarray(a) for name, a in cp.fields.items()})
    with h5py.File(tmp, "w") as f:
        f.attrs.update(schema=SCHEMA, version=cp.version, step=int(cp.step), time=float(cp.time),
                       case_path=cp.case_path, kind=cp.kind, **attrs)
        f.attrs["case_text"] = cp.case_text
        f.attrs["case_sha256"] = hashlib.sha256(cp.case_text.encode()).hexdigest()
        run_id, writer = _run_identity(cp)
        if run_id:
            f.attrs["run_id"] = run_id
        if writer:
            f.attrs["writer"] = writer
        for name, array in data.items():
            dset = f.create_dataset(name, data=array)
            dset.attrs["sha256"] = _digest(array)
        f.flush()
        os.fsync(f.id.get_vfd_handle())
    return tmp


def _run_identity(cp: Checkpoint) -> tuple[str, str]:
    """(run id, writer) of a checkpoint being written: its own, else those of the job
    whose output claims this process holds (:mod:`qc_sim.io.claims`), else unknown."""
    from qc_sim.io.claims import active

    job = active()
    return (cp.run_id or (job.run_id if job else ""),
            cp.writer or (job.writer if job else ""))


def _previous(path: Path) -> str:
    older = sorted(path.parent.glob(f"{path.name}.[0-9]*"))
    return f"; the previous checkpoint is {older[0]}" if older else ""


def read_checkpoint(path) -> Checkpoint:
    """Read and verify a checkpoint; an InputError names what is wrong and the previous one."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint")
    try:
        with h5py.File(path, "r") as f:
            if int(f.attrs.get("schema", -1)) not in (1, SCHEMA):
                raise InputError(f"{path}: checkpoint schema {f.attrs.get('schema')!r} is not "
                                 f"{SCHEMA}{_previous(path)}")
            arrays = {}
            extra = [f"fields/{k}" for k in f["fields"]] if "fields" in f else []
            for name in ["ids", "positions", "velocities"] + extra:
                if name not in f:
                    raise InputError(f"{path}: dataset '{name}' is missing{_previous(path)}")
                arrays[name] = f[name][...]
                if _digest(arrays[name]) != f[name].attrs.get("sha256"):
                    raise InputError(f"{path}: dataset '{name}' fails its checksum (corrupted)"
                                     f"{_previous(path)}")
            text = str(f.attrs["case_text"])
            if hashlib.sha256(text.encode()).hexdigest() != f.attrs.get("case_sha256"):
                raise InputError(f"{path}: the stored case fails its checksum{_previous(path)}")
            parts = int(f.attrs.get("parts", 0))
            if parts:
                arrays.update(_read_parts(path, parts, int(f.attrs["atoms"])))
                extra += [k for k in arrays if k.startswith("fields/") and k not in extra]
            return Checkpoint(arrays["ids"], arrays["positions"], arrays["velocities"],
                              int(f.attrs["step"]), float(f.attrs["time"]), text,
                              str(f.attrs["case_path"]), str(f.attrs["version"]),
                              str(f.attrs.get("kind", "atoms")),
                              {k.split("/", 1)[1]: arrays[k] for k in extra},
                              str(f.attrs.get("run_id", "")), str(f.attrs.get("writer", "")))
    except InputError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a readable checkpoint ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'truncated'})"
                         f"{_previous(path)}") from None


def _read_parts(path: Path, parts: int, atoms: int) -> dict:
    """The atoms of a checkpoint written in ``parts`` part files, checked and sorted by id."""
    pieces = []
    for k in range(parts):
        part = _part(path, k)
        if not part.is_file():
            raise InputError(f"{part}: part {k} of the {parts} parts of checkpoint {path} is "
                             f"missing{_previous(path)}")
        piece = read_checkpoint(part)
        pieces.append(piece)
    ids = np.concatenate([p.ids for p in pieces])
    if len(ids) != atoms or len(np.unique(ids)) != atoms:
        raise InputError(f"{path}: its {parts} parts hold {len(ids)} atoms ({len(np.unique(ids))} "
                         f"distinct), the index says {atoms}{_previous(path)}")
    order = np.argsort(ids)
    names = set(pieces[0].fields)
    if any(set(p.fields) != names for p in pieces):
        raise InputError(f"{path}: its parts hold different fields{_previous(path)}")
    merged = {f"fields/{name}": np.concatenate([p.fields[name] for p in pieces])[order]
              for name in sorted(names)}
    return {"ids": ids[order],
            "positions": np.concatenate([p.positions for p in pieces])[order],
            "velocities": np.concatenate([p.velocities for p in pieces])[order], **merged}
