"""The MPI seam (docs/design.md section 7): whether this process was started by an MPI launcher, its
rank and the rank count, and the guard that turns an exception on any rank into the end of
the whole job (an uncaught exception on one rank otherwise leaves the others waiting in a
collective for ever). Nothing else imports mpi4py."""

from __future__ import annotations

import os
import sys
import time

import numpy as np

# set by the launchers qc-sim is run under: MPICH/Hydra and Slurm (PMI), Open MPI, PMIx
_LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


def launched_by_mpi() -> bool:
    return any(int(os.environ.get(name, "1") or 1) > 1 for name in _LAUNCHER_SIZE)


def world():
    """(communicator or None, rank, size); (None, 0, 1) outside an MPI launch or without
    mpi4py (a launch of several ranks without mpi4py is refused by the caller)."""
    if not launched_by_mpi():
        return None, 0, 1
    try:
        from mpi4py import MPI
    except ImportError:
        return None, 0, int(next(os.environ[n] for n in _LAUNCHER_SIZE
                                 if int(os.environ.get(n, "1") or 1) > 1))
    comm = MPI.COMM_WORLD
    return comm, comm.Get_rank(), comm.Get_size()


def library() -> str:
    """The MPI library's name and version, or why there is none."""
    try:
        import mpi4py
        from mpi4py import MPI
    except ImportError:
        return "mpi4py not installed (pip install 'qc-sim[mpi]')"
    return f"mpi4py {mpi4py.__version__}, {MPI.Get_library_version().splitlines()[0].strip()}"


def guarded(function, *args, **kwargs):
    """``function(*args, **kwargs)``; an exception on this rank prints one line naming the
    rank and ends every rank of the job (MPI Abort, status 1) instead of leaving the others
    blocked. On one rank the exception propagates as usual."""
    comm, rank, size = world()
    try:
        return function(*args, **kwargs)
    except SystemExit:
        raise
    except BaseException as exc:
        if comm is None or size == 1:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        sys.stderr.write(f"qc-sim: rank {rank} of {size}: {type(exc).__name__}: {first}\n")
        sys.stderr.flush()
        # mpiexec forwards each rank's stderr through its proxy; an Abort at once can end
        # the job before the line is through (seen under load: exit 1, stderr empty)
        time.sleep(0.2)
        comm.Abort(1)
        raise  # not reached


# what this rank has sent point-to-point: messages and the bytes of the arrays in them
traffic = {"messages": 0, "bytes": 0}


def _payload_bytes(obj) -> int:
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(_payload_bytes(v) for v in obj.values())
    if isinstance(obj, (tuple, list)):
        return sum(_payload_bytes(v) for v in obj)
    return 8


def exchange(comm, neighbours, outgoing: dict, tag: int) -> dict:
    """Send ``outgoing[r]`` to each rank r in ``neighbours`` (non-blocking) and return what
    each of them sent here: point-to-point with the neighbour ranks only, no collective.
    Counted in :data:`traffic`."""
    traffic["messages"] += len(neighbours)
    traffic["bytes"] += sum(_payload_bytes(outgoing[r]) for r in neighbours)
    requests = [comm.isend(outgoing[r], dest=r, tag=tag) for r in neighbours]
    incoming = {r: comm.recv(source=r, tag=tag) for r in neighbours}
    for request in requests:
        request.wait()
    return incoming


def exchange_arrays(comm, neighbours, outgoing: dict, incoming: dict, tag: int) -> None:
    """Send the contiguous array ``outgoing[r]`` to each rank r in ``neighbours`` and receive
    into the preallocated ``incoming[r]`` (its shape known from the last re-exchange):
    buffer-based, no pickling. With a CUDA-aware MPI library the arrays may be device
    arrays (CuPy), passed without staging through host memory. Counted in :data:`traffic`."""
    from mpi4py import MPI

    traffic["messages"] += len(neighbours)
    traffic["bytes"] += sum(int(outgoing[r].nbytes) for r in neighbours)
    requests = [comm.Irecv(incoming[r], source=r, tag=tag) for r in neighbours]
    requests += [comm.Isend(outgoing[r], dest=r, tag=tag) for r in neighbours]
    MPI.Request.Waitall(requests)


def cuda_aware() -> bool:
    """Whether the MPI library takes device buffers: its own answer where it gives one
    (MPIX_Query_cuda_support, Open MPI and MPICH builds with CUDA), else the environment
    variable QC_SIM_CUDA_AWARE_MPI=1 (for a library known to be CUDA-aware that cannot say,
    e.g. Cray MPICH with MPICH_GPU_SUPPORT_ENABLED=1). The PyPI wheels are not."""
    try:
        from mpi4py import MPI
    except ImportError:
        return False
    query = getattr(MPI, "Query_cuda_support", None)
    if query is not None:
        try:
            return bool(query())
        except Exception:  # noqa: BLE001 - a library without the extension
            return False
    return os.environ.get("QC_SIM_CUDA_AWARE_MPI", "") == "1"


def global_max(comm, value: float) -> float:
    """The largest ``value`` over all ranks (exact: max does not round)."""
    if comm is None:
        return value
    from mpi4py import MPI

    return comm.allreduce(value, op=MPI.MAX)


def global_exact_sum(comm, values) -> float:
    """The exact sum of ``values`` over all ranks, rounded once
    (:class:`~qc_sim.parallel.reduce.ExactSum`): the same bits on any rank count. One
    allreduce of 93 int64 (the sum's fixed-width digits), whatever the rank count."""
    from qc_sim.parallel.reduce import ExactSum

    local = ExactSum().add(values)
    if comm is None:
        return local.value()
    from mpi4py import MPI

    digits = local.digits()
    total = np.empty_like(digits)
    comm.Allreduce(digits, total, op=MPI.SUM)
    return ExactSum.from_digits(total).value()


def barrier(comm) -> None:
    if comm is not None:
        comm.Barrier()


def allgather(comm, obj) -> list:
    """Every rank's ``obj``, in rank order (pickled: for setup data and small arrays);
    ``[obj]`` without a communicator."""
    return [obj] if comm is None else comm.allgather(obj)


def gather_rows(comm, ids, rows, n: int, root: int | None = None):
    """The (n, ...) array whose rows ``ids`` are this rank's ``rows`` and whose other rows
    are the other ranks' (every row owned by one rank): on every rank (``root`` None, one
    allgather) or on ``root`` only (one gather; None elsewhere). No arithmetic, so the rows
    keep their bits. Pickled: for output frames and per-step rows of small models."""
    rows = np.asarray(rows)
    if comm is None:
        parts = [(ids, rows)]
    elif root is None:
        parts = comm.allgather((ids, rows))
    else:
        parts = comm.gather((ids, rows), root=root)
        if parts is None:
            return None
    out = np.empty((n,) + rows.shape[1:], rows.dtype)
    for part_ids, piece in parts:
        out[part_ids] = piece
    return out


def broadcast(comm, obj):
    """Rank 0's ``obj`` on every rank (``obj`` itself without a communicator)."""
    return obj if comm is None else comm.bcast(obj, root=0)
