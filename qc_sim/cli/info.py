"""``qc-sim info``: version, backends and why any is unavailable, device, compiler."""

from __future__ import annotations

import platform

import numpy as np

from qc_sim import __version__
from qc_sim.backend import available_backends, get_device


def print_info() -> int:
    print(f"qc-sim {__version__}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    for name, reason in available_backends().items():
        print(f"backend {name:6s}: {'available' if reason is None else 'unavailable: ' + reason}")
    print(f"auto selects: {get_device('auto').describe()}")
    try:
        import mpi4py
        from mpi4py import MPI

        print(f"mpi: mpi4py {mpi4py.__version__}, {MPI.Get_library_version().splitlines()[0]}")
    except ImportError:
        print("mpi: mpi4py not installed (pip install 'qc-sim[mpi]')")
    return 0
