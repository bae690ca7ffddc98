"""Run under mpiexec by tests/test_statics.py: the clamped Cu vacancy of
scripts/bench_statics.py (Mishin Cu, a small cube) split over the ranks (DomainModel) and
relaxed by lbfgs_line_search. Prints one line on rank 0: steps, evaluations, the energy
and a SHA-256 of the relaxed positions in global-id order, which the test compares across
rank counts.

    mpiexec -n 3 python tests/mpi_statics_relax.py CELLS POTENTIAL_FILE
"""

import hashlib
import sys

import numpy as np
from mpi4py import MPI

from qc_sim.atomistic.domain_model import DomainModel
from qc_sim.backend import get_device
from qc_sim.coupling.reference import clamped_crystal
from qc_sim.geometry import fcc
from qc_sim.parallel.decompose import rcb
from qc_sim.potentials.eam import Eam
from qc_sim.solvers.lbfgs import lbfgs_line_search

A = 3.6149250663890298


def main() -> int:
    comm = MPI.COMM_WORLD
    cells, path = int(sys.argv[1]), sys.argv[2]
    pot = Eam.from_file(path)
    device = get_device("cpu")
    atoms, fixed = clamped_crystal(fcc(A), np.zeros(3), np.full(3, cells * A), 2 * pot.cutoff,
                                   "Cu", [np.full(3, cells / 2 * A)])
    x = atoms.positions
    part = rcb(x, np.ones(len(atoms)), comm.Get_size(), x.min(axis=0), x.max(axis=0))
    model = DomainModel(comm, atoms, pot, device, part, skin=0.5, fixed=fixed)
    result = lbfgs_line_search(model, fmax=1e-5, max_steps=500)
    gathered = comm.gather((model.ids, np.asarray(device.to_host(model.owned_positions))),
                           root=0)
    if comm.Get_rank() == 0:
        ids = np.concatenate([g[0] for g in gathered])
        x = np.concatenate([g[1] for g in gathered])[np.argsort(ids)]
        digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
        print(f"converged {result.converged} steps {result.steps} evaluations "
              f"{result.evaluations} energy {result.energy!r} positions {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
