"""The CPU target: kernels compiled by the system C++ compiler, called through ctypes.

Each kernel file is compiled once per (source, header, compiler, flags, CPU) hash into a
cache folder (``QC_SIM_CACHE`` or ``~/.cache/qc-sim``) with OpenMP over the outer loop,
written under a temporary name and renamed into place, so concurrent processes (MPI ranks,
parallel tests) never load a half-written library.
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from qc_sim.backend import sources
from qc_sim.errors import BackendUnavailable

FLAGS = ("-O3", "-march=native", "-fopenmp", "-fPIC", "-shared", "-std=c++17", "-x", "c++")

_CTYPES = {"int": ctypes.c_int, "double": ctypes.c_double, "int64": ctypes.c_longlong,
           "uint64": ctypes.c_ulonglong}
_DTYPES = {"int": np.int32, "double": np.float64, "int64": np.int64, "uint64": np.uint64}


def compiler() -> str | None:
    """The C++ compiler to use (``CXX``, else c++, g++ or clang++), or None."""
    for cand in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    return None


@lru_cache(maxsize=None)
def _compiler_id(cxx: str) -> str:
    """The compiler's identity in the kernel cache's key: its resolved path, size and
    modification time (a new or upgraded compiler changes them), read without starting it
    (``c++ --version`` cost every process 10-30 ms)."""
    try:
        real = Path(cxx).resolve()
        st = real.stat()
        return f"{real} {st.st_size} {st.st_mtime_ns}"
    except OSError:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
        return out.stdout.splitlines()[0] if out.stdout else cxx


def _cpu_id() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_dir() -> Path:
    base = os.environ.get("QC_SIM_CACHE") or Path.home() / ".cache" / "qc-sim"
    path = Path(base) / "kernels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def compile_library(name: str) -> Path:
    """Compile ``kernels/<name>.cu`` for the CPU (once per hash) and return the library path."""
    cxx = compiler()
    if cxx is None:
        raise BackendUnavailable("backend 'cpu' needs a C++ compiler (set CXX or install g++)")
    key = sources.source_hash(name, " ".join((_compiler_id(cxx), *FLAGS, _cpu_id())))
    lib = cache_dir() / f"{name}-{key}.so"
    if lib.is_file():
        return lib
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=lib.parent)
    os.close(fd)
    src = sources.kernel_dir() / f"{name}.cu"
    cmd = [cxx, *FLAGS, f"-I{sources.kernel_dir()}", str(src), "-o", tmp]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise BackendUnavailable(f"compiling kernels/{name}.cu failed: {proc.stderr.strip()[:2000]}")
    os.replace(tmp, lib)
    return lib


class CpuKernel:
    """A compiled kernel: call it with its arguments (``n`` first) as NumPy arrays and scalars."""

    def __init__(self, fn, sig: sources.KernelSignature):
        self._fn = fn
        self.signature = sig
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p if a.pointer else _CTYPES[a.kind] for a in sig.args]

    def __call__(self, *args):
        sig = self.signature
        if len(args) != len(sig.args):
            raise TypeError(f"kernel {sig.name} takes {len(sig.args)} arguments, got {len(args)}")
        if int(args[0]) <= 0:
            return
        cargs = []
        for a, v in zip(sig.args, args):
            if a.pointer:
                if v.dtype != _DTYPES[a.kind] or not v.flags.c_contiguous:
                    raise TypeError(f"kernel {sig.name}: argument {a.name} must be a contiguous "
                                    f"{np.dtype(_DTYPES[a.kind]).name} array, got {v.dtype}")
                cargs.append(v.ctypes.data)
            else:
                cargs.append(v)
        self._fn(*cargs)


class CpuModule:
    """All kernels of one source file, compiled for the CPU, as attributes."""

    def __init__(self, name: str):
        self.name = name
        if name != "runtime":
            _runtime()  # the thread count is set before any kernel can run
        self.library = ctypes.CDLL(str(compile_library(name)))
        for sig in sources.signatures(sources.read_source(name)).values():
            setattr(self, sig.name, CpuKernel(getattr(self.library, sig.name), sig))


@lru_cache(maxsize=None)
def _runtime() -> ctypes.CDLL:
    """The runtime library, loaded once; on loading it takes the thread plan's count (the
    OpenMP runtime's own default is every core of the machine, whatever the MPI ranks)."""
    lib = CpuModule("runtime").library
    lib.qc_max_threads.restype = ctypes.c_int
    plan = thread_plan()
    if plan.source != "OMP_NUM_THREADS":  # the OpenMP runtime has read that one itself
        lib.omp_set_num_threads(ctypes.c_int(plan.threads))
    return lib


def set_num_threads(n: int, source: str = "set_num_threads") -> None:
    """Set the OpenMP thread count used by every compiled CPU kernel (on every rank alike:
    the thread plan takes ``n`` for all of them); ``source`` names the setting in the
    oversubscription warning."""
    global _plan
    lib = _runtime()
    lib.omp_set_num_threads(ctypes.c_int(int(n)))
    _plan = thread_plan().with_threads(int(n), source)


def get_num_threads() -> int:
    return int(_runtime().qc_max_threads())


# ---- how many threads: the default never oversubscribes the cores ----------------------

def affinity() -> frozenset:
    """The cores this process may run on (its affinity mask)."""
    try:
        return frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return frozenset(range(os.cpu_count() or 1))


def env_threads() -> int | None:
    """The thread count ``OMP_NUM_THREADS`` asks for (its first level), or None if unset."""
    text = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value > 0 else None


def default_threads(mask, node_masks) -> int:
    """The default OpenMP threads of a rank whose affinity mask is ``mask`` on a node whose
    ranks have ``node_masks`` (this rank's among them): its cores shared among the ranks
    whose masks overlap it (every rank on the node unless the launcher binds them to cores
    of their own), at least 1."""
    sharing = max(1, sum(1 for m in node_masks if set(m) & set(mask)))
    return max(1, len(mask) // sharing)


@dataclass(frozen=True)
class RankThreads:
    """One rank's place: its node (host name, world rank of the node's first rank), the
    ranks on that node, the cores they may use together (the union of their affinity
    masks) and this rank's OpenMP threads."""

    host: str
    node: int
    ranks_on_node: int
    node_cores: int
    threads: int


def _range(values) -> str:
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


@dataclass(frozen=True)
class ThreadPlan:
    """The OpenMP threads of every rank (one entry serially) and which setting chose this
    rank's: ``[run] threads``, ``OMP_NUM_THREADS``, ``set_num_threads`` or ``default``."""

    ranks: tuple
    rank: int
    source: str

    @property
    def threads(self) -> int:
        return self.ranks[self.rank].threads

    @property
    def mpi(self) -> bool:
        return len(self.ranks) > 1

    def with_threads(self, n: int, source: str) -> "ThreadPlan":
        return ThreadPlan(tuple(replace(r, threads=n) for r in self.ranks), self.rank, source)

    def nodes(self) -> dict:
        """{node: (host, ranks, cores, [threads of each of its ranks])}"""
        out = {}
        for r in self.ranks:
            out.setdefault(r.node, (r.host, r.ranks_on_node, r.node_cores, []))[3].append(
                r.threads)
        return out

    def summary(self) -> str:
        """'2 ranks per node x 1 OpenMP thread per rank on 2 cores' (ranges where nodes or
        ranks differ); serially 'N OpenMP threads'."""
        t = _range([r.threads for r in self.ranks])
        if not self.mpi:
            return f"{t} OpenMP thread{'' if t == '1' else 's'}"
        nodes = self.nodes().values()
        n = _range([v[1] for v in nodes])
        return (f"{n} rank{'' if n == '1' else 's'} per node x {t} OpenMP "
                f"thread{'' if t == '1' else 's'} per rank on {_range([v[2] for v in nodes])} "
                "cores per node")

    def warning(self) -> str | None:
        """One line when the threads of the ranks on a node exceed its cores, naming the
        setting to change; None otherwise."""
        over = [v for v in self.nodes().values() if sum(v[3]) > v[2]]
        if not over:
            return None
        host, ranks, cores, threads = max(over, key=lambda v: sum(v[3]) / v[2])
        fit = max(1, cores // ranks)
        if self.mpi:
            t = _range(threads)
            where = (f"{ranks} ranks x {t} OpenMP thread{'' if t == '1' else 's'} on node {host} "
                     f"exceed its {cores} cores")
        else:
            where = (f"{threads[0]} OpenMP threads exceed the {cores} cores of this process's "
                     "affinity mask")
        default = "the cores shared out among the ranks" if self.mpi else "one per core"
        if self.source == "[run] threads":
            fix = f"set [run] threads = {fit} in the case (or 0: {default})"
        elif self.source == "OMP_NUM_THREADS":
            fix = f"set OMP_NUM_THREADS={fit} (or unset it: {default})"
        elif self.source == "set_num_threads":
            fix = f"call set_num_threads({fit})"
        else:  # the default gives one thread a rank: too many ranks
            fix = f"run at most {cores} ranks per node"
        return f"qc-sim: warning: {where}, which slows every thread down: {fix}"


_plan: ThreadPlan | None = None


def _serial_plan() -> ThreadPlan:
    cores = len(affinity())
    env = env_threads()
    me = RankThreads(socket.gethostname(), 0, 1, cores, env or cores)
    return ThreadPlan((me,), 0, "OMP_NUM_THREADS" if env else "default")


def thread_plan() -> ThreadPlan:
    """This process's plan: the one :func:`configure_threads` made, else the serial one
    (``OMP_NUM_THREADS``, else every core of the affinity mask)."""
    global _plan
    if _plan is None:
        _plan = _serial_plan()
    return _plan


def node_masks(comm, mask) -> tuple[list[frozenset], int, int]:
    """Collective over ``comm``: the CPU affinity masks of the ranks on this rank's node
    (an MPI shared-memory split of ``comm``), in node-rank order; this rank's index among
    them; and the world rank of the node's first rank (the node's name in ``comm``)."""
    from mpi4py import MPI

    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        masks = [frozenset(m) for m in node.allgather(sorted(mask))]
        lead = node.bcast(comm.Get_rank(), root=0)
        return masks, node.Get_rank(), lead
    finally:
        node.Free()


def configure_threads(comm=None) -> ThreadPlan:
    """Choose the default thread count of every rank of ``comm`` (collective): the cores of
    this rank's affinity mask shared among the ranks on its node whose masks overlap it (all
    of them unless the launcher binds ranks to cores), at least 1; serially the cores of the
    mask. ``OMP_NUM_THREADS`` wins over this default, a case's ``[run] threads`` over both
    (:func:`set_num_threads`). Applied now if the runtime is loaded, else when it loads."""
    global _plan
    if comm is None or comm.Get_size() == 1:
        _plan = _serial_plan()
    else:
        mask = affinity()
        masks, _, lead = node_masks(comm, mask)
        env = env_threads()
        me = RankThreads(socket.gethostname(), lead, len(masks), len(frozenset().union(*masks)),
                         env or default_threads(mask, masks))
        _plan = ThreadPlan(tuple(comm.allgather(me)), comm.Get_rank(),
                           "OMP_NUM_THREADS" if env else "default")
    if _runtime.cache_info().currsize and _plan.source != "OMP_NUM_THREADS":
        _runtime().omp_set_num_threads(ctypes.c_int(_plan.threads))
    return _plan


def thread_warning() -> str | None:
    """The oversubscription warning of the current plan, or None."""
    return thread_plan().warning()
