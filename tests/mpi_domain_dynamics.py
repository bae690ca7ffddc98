"""Run under mpiexec by tests/test_mpi.py: NVE or Langevin dynamics of a Cu crystal split
over the ranks (DomainDynamics, with migration and ghost exchange), compared on rank 0 with
the serial run of the same crystal: positions and velocities after STEPS steps, and the
potential and kinetic energies reduced exactly, bitwise. Prints one line; exit status 1 on
any difference.

    mpiexec -n 3 python tests/mpi_domain_dynamics.py BACKEND STEPS nve|langevin [rebalance]

With ``rebalance`` the run starts from a lopsided partition (the atoms of the upper half
weighted four times) and cuts the domain again at the first re-exchange (threshold 1.05).

tests/test_mpi.py launches it with a timeout (subprocess.run(..., timeout=...)), so a
hang fails the test instead of blocking CI.
"""

import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

from qc_sim.atomistic import dynamics
from qc_sim.atomistic.domain import DomainDynamics
from qc_sim.atomistic.random import maxwell_boltzmann_velocities
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.geometry import build_crystal, fcc
from qc_sim.parallel.decompose import rcb
from qc_sim.potentials.eam import Eam

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    device = get_device(sys.argv[1])
    steps, dt, skin = int(sys.argv[2]), 0.002, 0.3
    ensemble = sys.argv[3]
    pot = Eam.from_file(ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy")
    atoms = build_crystal(fcc(3.61), repeats=(6, 6, 6), species=("Cu",), masses=(63.546,))
    v0 = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, 1500.0, seed=3)
    lopsided = "rebalance" in sys.argv[4:]
    cost = np.ones(len(atoms))
    if lopsided:
        cost[atoms.positions[:, 0] > 0.5 * atoms.box.lengths[0]] = 4.0
    part = rcb(atoms.positions, cost, size, atoms.box.lo, atoms.box.hi)
    thermostat = dynamics.Langevin(900.0, 0.05, 11) if ensemble == "langevin" else None
    run = DomainDynamics(comm, atoms, v0, pot, device, part, skin=skin, thermostat=thermostat,
                         rebalance=1.05 if lopsided else 0.0)
    initial = np.bincount(part.owner, minlength=size).tolist()  # before the first cut again
    for _ in range(steps):
        run.step(dt)
    energies = run.energies()  # collective: every rank takes part
    mine = run.owned()
    gathered = comm.gather((mine["ids"], mine["x"], mine["v"]), root=0)  # the check only
    counts = comm.gather((run.exchanges, run.migrated), root=0)
    final = comm.allgather(run.n_owned)
    if rank != 0:
        return 0
    ids = np.concatenate([g[0] for g in gathered])
    x = np.concatenate([g[1] for g in gathered])
    v = np.concatenate([g[2] for g in gathered])
    serial = AtomisticSystem(atoms, pot, device, skin=skin)
    state = dynamics.run(serial, dynamics.init_state(serial, v0), steps, dt, thermostat)
    from qc_sim.parallel import exact_sum
    from qc_sim.units import MVV2E

    result = serial.compute(energy=True, virial=False)
    masses = np.asarray(device.to_host(serial.masses))[:, None]
    serial_energies = (exact_sum(device.to_host(result.site_energy)),
                       exact_sum(0.5 * MVV2E * masses * np.asarray(
                           device.to_host(state.velocities)) ** 2))
    sx = np.asarray(device.to_host(serial.positions))
    sv = np.asarray(device.to_host(state.velocities))
    order, sorder = np.argsort(ids), np.argsort(np.asarray(atoms.ids))
    ok = {"ids": np.array_equal(ids[order], np.asarray(atoms.ids)[sorder]),
          "positions": np.array_equal(x[order], sx[sorder]),
          "velocities": np.array_equal(v[order], sv[sorder]),
          "energies": energies == serial_energies}
    print(f"{ensemble}, ranks {size}, {steps} steps: " + ", ".join(
        f"{k} {'bitwise' if v else 'DIFFER'}" for k, v in ok.items())
        + f"; exchanges {counts[0][0]}, atoms migrated per rank {[c[1] for c in counts]}"
        + (f"; rebalanced {run.rebalances}x, owned {initial} -> {final}" if lopsided else ""))
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
