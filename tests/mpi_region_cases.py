"""Run under mpiexec by tests/test_mpi_regions.py (and without it, for the one-rank run):
``qc-sim run`` of several region cases in one process, so that one launch covers them all
(``qc-sim homogenize --json`` of an argument that ends in .npy).

    mpiexec -n 3 python tests/mpi_region_cases.py FOLDER CASE [CASE ...]

Each case runs in FOLDER (its [output] files land there); before each, rank 0 prints
``== CASE``, and after it ``== status N``. tests/test_mpi_regions.py launches it with a
timeout (subprocess.run(..., timeout=...)), so a hang fails the test instead of blocking CI.
"""

import os
import sys

from qc_sim.cli.main import main
from qc_sim.parallel.mpi import world

if __name__ == "__main__":
    folder, cases = sys.argv[1], sys.argv[2:]
    os.chdir(folder)
    _, rank, _ = world()
    for case in cases:
        if rank == 0:
            print(f"== {case}", flush=True)
        status = main(["homogenize", case, "--json"] if case.endswith(".npy") else
                      ["run", case])
        if rank == 0:
            print(f"== status {status}", flush=True)
