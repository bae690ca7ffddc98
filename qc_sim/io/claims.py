"""Claims on the files a run writes, so that jobs sharing a directory never write each
other's files (issue 31).

Before any work, a run (``qc-sim run`` or ``restart``, serial or on MPI ranks) claims every
file it will write: its checkpoint and the rotated copies ``NAME.1`` ... ``NAME.keep`` (on
ranks, each rank the parts ``NAME.partK`` it writes, rank 0 the index), its H5MD, GSD or XYZ
trajectories (on ranks each rank its part, rank 0 the merged files), the thermo CSV, the XDMF
mesh and its ``.h5``, the PNG folder and the indentation's CSV (:func:`planned_outputs`).

A claim is an exclusive ``flock`` on a lock file beside the claimed one, ``.NAME.lock``,
that holds the holder's host, process id, run id and case (one line of JSON). The operating
system drops the lock when the process ends, however it ends (SIGKILL, a node lost), so a
killed job leaves nothing that blocks the next one; the file itself is removed when the run
ends. A job that finds a file already claimed ends before any work with one line naming the
file and the job holding it (:class:`ClaimError`, an :class:`~qc_sim.errors.InputError`:
exit status 2). The ranks of one job claim disjoint files and agree on the outcome (one
``allgather``), so either every rank holds its claims or every rank ends with the same line.

Checkpoints written while a job holds its claims carry its run id (:func:`active`): a
fresh run draws one, a restart continues its checkpoint's.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
import uuid
from pathlib import Path

from qc_sim.errors import InputError

_ACTIVE = None  # the Job whose claims this process holds, if any


class ClaimError(InputError):
    """A file this run would write is claimed by another job that is still running."""


def lock_path(path) -> Path:
    """The lock file of ``path``: ``.NAME.lock`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


def case_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def planned_outputs(case, rank: int = 0, size: int = 1) -> list[Path]:
    """The files rank ``rank`` of a ``size``-rank run of ``case`` writes (a folder for the
    PNG frames), as the run functions write them: an atomistic case its checkpoint,
    trajectories and thermo CSV; a coupled case in dynamics its checkpoint, thermo CSV, mesh
    and trajectories, in statics its mesh and trajectories, a crack its trajectories, an
    indentation its trajectories and CSV (a wave packet nothing); a region case its
    checkpoint, thermo CSV, mesh and PNG frames; a step-nucleation study its band checkpoint
    (the [output] checkpoint as ``.npz``), JSON, energy-path plot and saddle picture."""
    o = case.output
    lead = rank == 0
    files: list[str] = []

    def checkpoint():
        if not o.checkpoint:
            return
        names = [o.checkpoint] + [f"{o.checkpoint}.{k}" for k in range(1, o.keep + 1)]
        if lead:
            files.extend(names)
        if size > 1:  # every rank its part of each
            files.extend(f"{name}.part{rank}" for name in names)

    def mesh():
        if o.mesh and lead:
            files.extend([o.mesh, f"{o.mesh}.h5"])

    def csv():
        if o.thermo_csv and lead:
            files.append(o.thermo_csv)

    def particles():  # a coupled model's trajectories: rank 0 writes them whole
        if lead:
            files.extend(name for name in (o.trajectory, o.gsd) if name)

    if case.region is not None:
        checkpoint(), csv(), mesh()
        if o.png and lead:
            files.append(o.png)
    elif case.coupling is not None:
        if getattr(case, "nucleation", None) is not None:  # one rank: the band's .npz, results
            n = case.nucleation
            if lead:
                if o.checkpoint:
                    files.append(str(Path(o.checkpoint).with_suffix(".npz")))
                files.extend(name for name in (n.json, n.plot, n.saddle) if name)
        elif case.indent is not None:
            particles()
            if case.indent.csv and lead:
                files.append(case.indent.csv)
        elif case.wave is not None:
            pass
        elif case.crack is not None:
            particles()
        elif case.coupling.solve == "dynamics":
            checkpoint(), csv(), mesh(), particles()
        else:
            mesh(), particles()
    else:
        checkpoint(), csv()
        if o.trajectory or o.gsd:
            if lead:  # on ranks: merged by rank 0
                files.extend(name for name in (o.trajectory, o.gsd) if name)
            if size > 1:  # the parts are named after the H5MD file, else the GSD one
                files.append(f"{o.trajectory or o.gsd}.part{rank}")
        if o.xyz and size == 1:
            files.append(o.xyz)
    seen, out = set(), []
    for name in files:
        key = os.path.normpath(os.path.abspath(name))
        if key not in seen:
            seen.add(key)
            out.append(Path(name))
    return out


def _holder(lock: Path) -> str:
    """Who holds ``lock``, from what it wrote into it (read again for a moment while the
    holder is still writing it)."""
    for _ in range(40):
        try:
            info = json.loads(lock.read_text())
            break
        except (OSError, ValueError):
            time.sleep(0.025)
    else:
        return "another job (its host and process id not readable)"
    words = [f"host {info.get('host', '?')}", f"pid {info.get('pid', '?')}"]
    if info.get("run"):
        words.append(f"run {info['run']}")
    if info.get("case"):
        words.append(f"case {info['case']}")
    return f"another job ({', '.join(words)})"


def _acquire(path: Path) -> int | None:
    """An exclusive lock on ``path``'s lock file: its descriptor, or None when another
    process holds it. A lock file removed by its last holder after we opened it is opened
    again (the lock must be on the file the name now points to)."""
    lock = lock_path(path)
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"{path}: cannot open its lock file {lock} ({exc.strerror}): "
                             "is its folder writable?") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            now = os.stat(lock)
        except FileNotFoundError:
            os.close(fd)
            continue
        mine = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
            os.close(fd)
            continue
        return fd


class Job:
    """The claims of one run on this process's files (a context manager: acquired on
    entry, released on exit); ``run_id`` names the run its checkpoints record."""

    def __init__(self, case, comm=None, restart=None):
        self.case = case
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        run = getattr(restart, "run_id", "") or ""
        if not run:
            run = new_run_id()
            if comm is not None and self.size > 1:
                run = comm.bcast(run, root=0)
        self.run_id = run
        # one order for every job (by absolute name): two jobs that want the same files
        # both try the first of them first, so one of the two goes on
        self.files = sorted(planned_outputs(case, self.rank, self.size),
                            key=lambda p: os.path.abspath(p))
        self._held: list[tuple[Path, int]] = []

    @property
    def writer(self) -> str:
        return f"host {self.host} pid {self.pid}"

    def _info(self, path: Path) -> bytes:
        return (json.dumps({"host": self.host, "pid": self.pid, "run": self.run_id,
                            "case": str(self.case.path), "file": str(path),
                            "rank": self.rank, "ranks": self.size}) + "\n").encode()

    def _write_info(self) -> None:
        for path, fd in self._held:
            os.ftruncate(fd, 0)
            os.pwrite(fd, self._info(path), 0)

    def claim(self) -> "Job":
        """Lock every planned file; on a clash release them all and raise ClaimError (on
        every rank alike, naming the first file refused)."""
        refused = None
        try:
            for path in self.files:
                fd = _acquire(path)
                if fd is None:
                    refused = (f"{path}: written by {_holder(lock_path(path))}, still running: "
                               "give each job its own [output] file names or its own directory")
                    break
                self._held.append((path, fd))
                os.ftruncate(fd, 0)  # a killed holder's line may still be there
                os.pwrite(fd, self._info(path), 0)
        except InputError as exc:
            refused = str(exc)
        if self.comm is not None and self.size > 1:
            refused = next((m for m in self.comm.allgather(refused) if m), None)
        if refused is not None:
            self.release()
            raise ClaimError(refused)
        return self

    def continues(self, checkpoint) -> None:
        """This job continues ``checkpoint``'s run: take its run id (a checkpoint from before
        runs were recorded keeps the id this job drew)."""
        if getattr(checkpoint, "run_id", ""):
            self.run_id = checkpoint.run_id
            self._write_info()

    def release(self) -> None:
        while self._held:
            path, fd = self._held.pop()
            try:
                os.unlink(lock_path(path))  # ours while we hold it: see _acquire
            except OSError:
                pass
            os.close(fd)

    def __enter__(self):
        global _ACTIVE
        self.claim()
        _ACTIVE = self
        return self

    def __exit__(self, *exc):
        global _ACTIVE
        if _ACTIVE is self:
            _ACTIVE = None
        self.release()


def claim_outputs(case, comm=None, restart=None) -> Job:
    """``with claim_outputs(case, comm):`` the run of ``case`` (on the ranks of ``comm``)
    holds its output files; ``restart``: the checkpoint it continues (its run id kept)."""
    return Job(case, comm, restart)


def active() -> Job | None:
    """The job whose claims this process holds (its run id goes into checkpoints)."""
    return _ACTIVE


def continuation(path, cp) -> str:
    """The line a restart prints: which run, of which case, it continues."""
    digest = case_sha256(cp.case_text)[:12]
    run = f"run {cp.run_id}" if getattr(cp, "run_id", "") else \
        "a run of unknown id (a checkpoint written before qc-sim recorded runs)"
    by = f", written by {cp.writer}" if getattr(cp, "writer", "") else ""
    return (f"continuing {run}: case {cp.case_path} (sha256 {digest}), step {cp.step} of "
            f"{path}{by}")
