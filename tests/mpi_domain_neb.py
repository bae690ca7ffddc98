"""Run under mpiexec by tests/test_mpi.py: the vacancy migration barrier of Cu by a 5-image
climbing NEB over the ranks (end points relaxed by FIRE on a DomainModel, inner images spread
over rank partitions by DomainBand). Prints one line on rank 0: the barrier, the steps and a
SHA-256 of the relaxed band, which the test compares across rank counts; with ``serial``
rank 0 also runs the serial Band of AtomisticSystems from the same end points and prints the
difference of the barriers.

    mpiexec -n 3 python tests/mpi_domain_neb.py BACKEND [serial]

tests/test_mpi.py launches it with a timeout (subprocess.run(..., timeout=...)), so a
hang fails the test instead of blocking CI.
"""

import hashlib
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

from qc_sim.atomistic.domain_model import DomainModel
from qc_sim.atomistic.domain_neb import DomainBand, whole_positions
from qc_sim.atomistic.replicas import batch_energy_forces
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.geometry import build_crystal, fcc
from qc_sim.parallel.decompose import rcb
from qc_sim.potentials.eam import Eam
from qc_sim.solvers import fire
from qc_sim.solvers.neb import Band, interpolate, run_neb

ROOT = Path(__file__).resolve().parents[1]
SKIN = 0.3


def end_points():
    """The crystal with a vacancy at site A, and B (a nearest neighbour of A) moved into A."""
    atoms = build_crystal(fcc(3.61), repeats=(4, 4, 4), species=("Cu",), masses=(63.546,))
    centre = 0.5 * (np.asarray(atoms.box.lo) + np.asarray(atoms.box.hi))
    a = int(np.argmin(np.linalg.norm(atoms.positions - centre, axis=1)))
    d = np.linalg.norm(atoms.positions - atoms.positions[a], axis=1)
    d[a] = np.inf
    b = int(np.argmin(d))
    site_a = atoms.positions[a].copy()
    keep = np.ones(len(atoms), bool)
    keep[a] = False
    b -= int(b > a)  # B's row once A is gone
    atoms = atoms.select(keep)
    final = atoms.positions.copy()
    final[b] = site_a
    return atoms, atoms.positions.copy(), final


def main() -> int:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    device = get_device(sys.argv[1])
    pot = Eam.from_file(ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy")
    atoms, initial, final = end_points()
    relaxed = []
    for x in (initial, final):
        image = atoms.select(np.ones(len(atoms), bool))
        image.positions = x
        part = rcb(x, np.ones(len(atoms)), size, atoms.box.lo, atoms.box.hi)
        model = DomainModel(comm, image, pot, device, part, skin=SKIN)
        fire(model, fmax=1e-4, max_steps=2000).check()
        relaxed.append(whole_positions(model, atoms.ids))
    images = [relaxed[0], *interpolate(relaxed[0], relaxed[1], 3), relaxed[1]]
    band = DomainBand(comm, atoms, pot, device, images, k=0.5, climb=True, skin=SKIN)
    result = run_neb(band, fmax=0.01, max_steps=1000)
    x = np.concatenate([np.asarray(device.to_host(y)) for y in band.image_dofs()])
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
    if rank != 0:
        return 0
    line = (f"ranks {size}: converged {result.converged} steps {result.steps} barrier "
            f"{result.barrier!r} band {digest} partitions {max(band.group_of_image) + 1}")
    if "serial" in sys.argv[2:]:
        systems = []
        for y in images:
            image = atoms.select(np.ones(len(atoms), bool))
            image.positions = y
            systems.append(AtomisticSystem(image, pot, device, skin=SKIN))
        serial = run_neb(Band(systems, k=0.5, climb=True, evaluate_batch=batch_energy_forces),
                         fmax=0.01, max_steps=1000)
        line += (f"; serial Band: steps {serial.steps} barrier {serial.barrier!r}, "
                 f"difference {abs(serial.barrier - result.barrier):.3g} eV")
    print(line)
    return 0 if result.converged else 1


if __name__ == "__main__":
    sys.exit(main())
