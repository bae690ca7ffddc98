"""Run under mpiexec by tests/test_mpi.py: FIRE or L-BFGS relaxation of a vacancy in a Cu crystal split
over the ranks (DomainModel: owned atoms, ghosts from their owners, exact reductions).
Prints one line on rank 0: the step count, the energy and a SHA-256 of the relaxed positions
in global-id order, which the test compares across rank counts; with ``serial`` rank 0 also
relaxes the same crystal as one AtomisticSystem (by the same algorithm, with NumPy's dot
products) and prints the largest difference.

    mpiexec -n 3 python tests/mpi_domain_relax.py BACKEND fire|lbfgs [serial]

tests/test_mpi.py launches it with a timeout (subprocess.run(..., timeout=...)), so a
hang fails the test instead of blocking CI.
"""

import hashlib
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

from qc_sim.atomistic.domain_model import DomainModel
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.geometry import build_crystal, fcc
from qc_sim.parallel.decompose import rcb
from qc_sim.potentials.eam import Eam
from qc_sim.solvers import fire, lbfgs
from qc_sim.solvers.lbfgs import lbfgs_two_loop

ROOT = Path(__file__).resolve().parents[1]


def vacancy_crystal():
    atoms = build_crystal(fcc(3.61), repeats=(5, 5, 5), species=("Cu",), masses=(63.546,))
    centre = 0.5 * (np.asarray(atoms.box.lo) + np.asarray(atoms.box.hi))
    keep = np.ones(len(atoms), bool)
    keep[np.argmin(np.linalg.norm(atoms.positions - centre, axis=1))] = False
    atoms = atoms.select(keep)
    rng = np.random.default_rng(5)  # a rattled start, so the relaxation has work to do
    atoms.positions = atoms.positions + rng.normal(0.0, 0.03, atoms.positions.shape)
    return atoms


def main() -> int:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    device = get_device(sys.argv[1])
    minimise = {"fire": fire, "lbfgs": lbfgs}[sys.argv[2]]
    pot = Eam.from_file(ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy")
    atoms = vacancy_crystal()
    part = rcb(atoms.positions, np.ones(len(atoms)), size, atoms.box.lo, atoms.box.hi)
    model = DomainModel(comm, atoms, pot, device, part, skin=0.05)
    result = minimise(model, fmax=1e-4, max_steps=3000)
    x = np.asarray(device.to_host(model.owned_positions))
    gathered = comm.gather((model.ids, x), root=0)  # the check only
    rebuilds = comm.gather(model.rebuilds, root=0)
    if rank != 0:
        return 0
    ids = np.concatenate([g[0] for g in gathered])
    x = np.concatenate([g[1] for g in gathered])[np.argsort(ids)]
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
    line = (f"{sys.argv[2]}, ranks {size}: converged {result.converged} steps {result.steps} energy "
            f"{result.energy!r} positions {digest} ghost choices {rebuilds}")
    if "serial" in sys.argv[3:]:
        serial = AtomisticSystem(atoms, pot, device, skin=0.05)
        plain = {fire: fire, lbfgs: lbfgs_two_loop}[minimise](serial, fmax=1e-4,
                                                              max_steps=3000)
        sx = np.asarray(device.to_host(serial.positions))[np.argsort(atoms.ids)]
        line += (f"; one AtomisticSystem: steps {plain.steps} energy {plain.energy!r} "
                 f"largest position difference {np.abs(sx - x).max():.3g}")
    print(line)
    return 0 if result.converged else 1


if __name__ == "__main__":
    sys.exit(main())
