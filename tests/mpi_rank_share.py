"""Run under mpiexec by tests/test_mpi.py: each rank computes the forces and site energies
of the atoms it owns (RCB partition, ghosts within reach, EAM's F'(rho) from their owners)
and rank 0 compares them, and the exactly merged total energy, with a serial evaluation of the same displaced crystal. Prints
one line; exit status 1 if anything differs in a single bit.

    mpiexec -n 3 python tests/mpi_rank_share.py BACKEND eam|lj

tests/test_mpi.py launches it with a timeout (subprocess.run(..., timeout=...)), so a
hang fails the test instead of blocking CI.
"""

import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

from qc_sim.atomistic.domain import RankShare
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.geometry import build_crystal, fcc
from qc_sim.parallel import ExactSum, exact_sum
from qc_sim.parallel.decompose import rcb
from qc_sim.potentials import lennard_jones
from qc_sim.potentials.eam import Eam

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    device = get_device(sys.argv[1])
    if sys.argv[2] == "eam":
        pot = Eam.from_file(ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy")
        atoms = build_crystal(fcc(3.61), repeats=(6, 6, 6), species=("Cu",), masses=(63.546,))
    else:
        pot = lennard_jones(0.0104, 3.4, 8.5)
        atoms = build_crystal(fcc(5.26), repeats=(5, 5, 5), species=("Ar",), masses=(39.948,))
    rng = np.random.default_rng(4)  # the same displaced crystal on every rank
    atoms.positions[:] += rng.normal(0.0, 0.08, atoms.positions.shape)
    part = rcb(atoms.positions, np.ones(len(atoms)), size, atoms.box.lo, atoms.box.hi)
    share = RankShare(comm, atoms, pot, device, part)
    ids, forces, energies = share.compute()
    partials = comm.gather(ExactSum().add(energies), root=0)  # a few hundred bins each
    gathered = comm.gather((ids, forces, energies), root=0)  # the check only
    if rank != 0:
        return 0
    total = ExactSum()
    for p in partials:
        total.merge(p)
    ids = np.concatenate([g[0] for g in gathered])
    f = np.concatenate([g[1] for g in gathered])
    e = np.concatenate([g[2] for g in gathered])
    serial = AtomisticSystem(atoms, pot, device, skin=0.5).compute(energy=True, virial=False)
    sf = np.asarray(device.to_host(serial.forces))
    se = np.asarray(device.to_host(serial.site_energy))
    order, sorder = np.argsort(ids), np.argsort(np.asarray(atoms.ids))
    ok = {"ids": np.array_equal(ids[order], np.asarray(atoms.ids)[sorder]),
          "forces": np.array_equal(f[order], sf[sorder]),
          "site_energies": np.array_equal(e[order], se[sorder]),
          "total_energy": total.value() == exact_sum(se)}
    owned = np.bincount(part.owner, minlength=size)
    print(f"ranks {size}: " + ", ".join(f"{k} {'bitwise' if v else 'DIFFER'}"
                                        for k, v in ok.items())
          + f"; owned atoms per rank {owned.tolist()}, ghost reach {share.reach:.2f} Å")
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
