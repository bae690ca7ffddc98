"""Choosing the backend once, and the Device object that everything else receives.

``auto`` picks the GPU if CuPy sees a CUDA device, else the CPU-compiled kernels if a C++
compiler is found, else NumPy. The choice comes from an argument, else ``QC_SIM_BACKEND``,
else ``auto``. A forced backend that cannot run raises :class:`BackendUnavailable` with a
one-line reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType

import numpy as np

from qc_sim.errors import BackendUnavailable

BACKENDS = ("auto", "gpu", "cpu", "numpy")


@lru_cache(maxsize=None)
def _gpu_reason() -> str | None:
    """None if a CUDA device is usable through CuPy, else why not."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install 'qc-sim[gpu-cuda12]' or '[gpu-cuda13]')"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "CuPy sees no CUDA device"
    except Exception as exc:  # CUDA driver missing or broken: any CUDA error means no GPU
        return f"CuPy sees no CUDA device ({type(exc).__name__}: {exc})"
    return None


@lru_cache(maxsize=None)
def _cpu_reason() -> str | None:
    from qc_sim.backend import cpu

    if cpu.compiler() is None:
        return "no C++ compiler found (set CXX or install g++)"
    try:
        cpu.CpuModule("runtime")
    except BackendUnavailable as exc:
        return str(exc)
    return None


def available_backends() -> dict[str, str | None]:
    """For each concrete backend, None if usable here, else the reason it is not."""
    return {"gpu": _gpu_reason(), "cpu": _cpu_reason(), "numpy": None}


@dataclass(frozen=True)
class Device:
    """Where a run's arrays live and how its kernels run.

    ``name`` is ``gpu``, ``cpu`` or ``numpy``; ``xp`` is the array module (CuPy or NumPy);
    ``compiled`` says whether kernels exist (False only for the NumPy reference backend).
    """

    name: str
    xp: ModuleType = field(repr=False)

    @property
    def compiled(self) -> bool:
        return self.name != "numpy"

    def kernels(self, source: str):
        """The kernels of ``kernels/<source>.cu`` compiled for this device (cached)."""
        if not self.compiled:
            raise BackendUnavailable("the numpy backend runs no kernels")
        return _module(self.name, source)

    def asarray(self, a, dtype=None):
        return self.xp.ascontiguousarray(self.xp.asarray(a, dtype=dtype))

    def to_host(self, a) -> np.ndarray:
        if self.name == "gpu":
            return self.xp.asnumpy(a)  # host arrays pass through
        return np.asarray(a)

    def synchronize(self) -> None:
        if self.name == "gpu":
            self.xp.cuda.get_current_stream().synchronize()

    def describe(self) -> str:
        if self.name == "gpu":
            index = self.xp.cuda.Device().id
            props = self.xp.cuda.runtime.getDeviceProperties(index)
            return f"gpu {index} ({props['name'].decode()})"
        if self.name == "cpu":
            from qc_sim.backend import cpu

            plan = cpu.thread_plan()
            threads = plan.summary() if plan.mpi else f"{cpu.get_num_threads()} OpenMP threads"
            return f"cpu ({threads}, {cpu.compiler()})"
        return "numpy (reference)"


@lru_cache(maxsize=None)
def _module(backend: str, source: str):
    if backend == "gpu":
        from qc_sim.backend.gpu import GpuModule

        return GpuModule(source)
    from qc_sim.backend.cpu import CpuModule

    return CpuModule(source)


# what MPI launchers and Slurm call a process's rank among the ranks of its node
LOCAL_RANK_VARIABLES = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK",
                        "MV2_COMM_WORLD_LOCAL_RANK", "PMI_LOCAL_RANK", "SLURM_LOCALID")


def gpu_index(count: int) -> int:
    """The CUDA device this process uses among the ``count`` it sees: ``QC_SIM_GPU`` if set,
    else the node-local MPI rank modulo ``count`` (one GPU per rank; ranks beyond the GPUs
    share them round-robin), else 0."""
    forced = os.environ.get("QC_SIM_GPU", "").strip()
    if forced:
        if not forced.isdigit() or int(forced) >= count:
            raise BackendUnavailable(f"QC_SIM_GPU={forced!r} names no device: CuPy sees "
                                     f"{count} (0 to {count - 1})")
        return int(forced)
    for var in LOCAL_RANK_VARIABLES:
        value = os.environ.get(var, "").strip()
        if value.isdigit():
            return int(value) % count
    return 0


@lru_cache(maxsize=None)
def get_device(name: str | None = None) -> Device:
    """Resolve a backend name (None: ``QC_SIM_BACKEND`` or ``auto``) to a :class:`Device`."""
    name = (name or os.environ.get("QC_SIM_BACKEND") or "auto").lower()
    if name not in BACKENDS:
        raise BackendUnavailable(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    reasons = available_backends()
    if name == "auto":
        name = next(b for b in ("gpu", "cpu", "numpy") if reasons[b] is None)
    elif reasons[name] is not None:
        raise BackendUnavailable(f"backend '{name}' is unavailable: {reasons[name]}")
    if name == "gpu":
        import cupy

        cupy.cuda.Device(gpu_index(cupy.cuda.runtime.getDeviceCount())).use()
        return Device("gpu", cupy)
    return Device(name, np)
