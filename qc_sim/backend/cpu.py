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
import subprocess
import tempfile
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
        self.library = ctypes.CDLL(str(compile_library(name)))
        for sig in sources.signatures(sources.read_source(name)).values():
            setattr(self, sig.name, CpuKernel(getattr(self.library, sig.name), sig))


@lru_cache(maxsize=None)
def _runtime() -> ctypes.CDLL:
    return CpuModule("runtime").library


def set_num_threads(n: int) -> None:
    """Set the OpenMP thread count used by every compiled CPU kernel."""
    lib = _runtime()
    lib.omp_set_num_threads(ctypes.c_int(int(n)))


def get_num_threads() -> int:
    lib = _runtime()
    lib.qc_max_threads.restype = ctypes.c_int
    return int(lib.qc_max_threads())
