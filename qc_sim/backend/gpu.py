"""The GPU target: kernels compiled by NVRTC through CuPy's RawModule.

One RawModule per kernel file, compiled lazily on first use and cached by CuPy on disk.
Launch: 256 threads a block, a grid covering ``n`` (capped; the kernels use grid-stride loops).
"""

from __future__ import annotations

import numpy as np

from qc_sim.backend import sources

BLOCK = 256
MAX_GRID = 65535 * 8

_SCALAR = {"int": np.int32, "double": np.float64, "int64": np.int64, "uint64": np.uint64}


class GpuKernel:
    def __init__(self, fn, sig: sources.KernelSignature):
        self._fn = fn
        self.signature = sig

    def __call__(self, *args):
        sig = self.signature
        if len(args) != len(sig.args):
            raise TypeError(f"kernel {sig.name} takes {len(sig.args)} arguments, got {len(args)}")
        n = int(args[0])
        if n <= 0:
            return
        cargs = tuple(v if a.pointer else _SCALAR[a.kind](v) for a, v in zip(sig.args, args))
        grid = min((n + BLOCK - 1) // BLOCK, MAX_GRID)
        self._fn((grid,), (BLOCK,), cargs)


class GpuModule:
    """All kernels of one source file, compiled for the current CUDA device, as attributes."""

    def __init__(self, name: str):
        import cupy

        self.name = name
        code = sources.read_source(name)
        self.module = cupy.RawModule(
            code=code, options=("-std=c++17", f"-I{sources.kernel_dir()}"), name_expressions=None
        )
        for sig in sources.signatures(code).values():
            setattr(self, sig.name, GpuKernel(self.module.get_function(sig.name), sig))
