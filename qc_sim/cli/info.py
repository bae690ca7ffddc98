"""``qc-sim info``: version, backends and why any is unavailable, device, compiler, MPI
(library, rank count and the device each rank would use)."""

from __future__ import annotations

import platform
import socket

import numpy as np

from qc_sim import __version__
from qc_sim.backend import available_backends, get_device
from qc_sim.parallel.mpi import library, world


def print_info() -> int:
    comm, rank, size = world()
    here = f"rank {rank}: {socket.gethostname()}, {get_device('auto').describe()}"
    ranks = comm.gather(here, root=0) if comm is not None else [here]
    if rank != 0:
        return 0
    print(f"qc-sim {__version__}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    for name, reason in available_backends().items():
        print(f"backend {name:6s}: {'available' if reason is None else 'unavailable: ' + reason}")
    print(f"auto selects: {get_device('auto').describe()}")
    print(f"mpi: {library()}, {size} rank{'s' if size > 1 else ''}")
    if size > 1:
        for line in ranks:
            print(f"  {line}")
    return 0
