"""Run under mpiexec by tests/test_mpi.py. ``write``: Langevin dynamics of a Cu crystal on
the launched ranks for 2 x STEPS steps, a checkpoint in part files (one per rank, no gather)
after STEPS, the final state saved by rank 0 for the check. ``resume``: any number of ranks
read that checkpoint, continue STEPS steps and compare with the saved final state, bitwise.

    mpiexec -n 4 python tests/mpi_domain_restart.py write FOLDER STEPS
    mpiexec -n 2 python tests/mpi_domain_restart.py resume FOLDER STEPS

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
from qc_sim.backend import get_device
from qc_sim.geometry import build_crystal, fcc
from qc_sim.io.checkpoint import Checkpoint, read_checkpoint, write_checkpoint_parts
from qc_sim.parallel.decompose import rcb
from qc_sim.potentials.eam import Eam

ROOT = Path(__file__).resolve().parents[1]
DT, SKIN = 0.002, 0.3


def gather_state(comm, run):
    mine = run.owned()
    parts = comm.gather((mine["ids"], mine["x"], mine["v"]), root=0)
    if comm.Get_rank() != 0:
        return None
    ids = np.concatenate([p[0] for p in parts])
    order = np.argsort(ids)
    return (ids[order], np.concatenate([p[1] for p in parts])[order],
            np.concatenate([p[2] for p in parts])[order])


def main() -> int:
    comm = MPI.COMM_WORLD
    mode, folder, steps = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    device = get_device("cpu")
    pot = Eam.from_file(ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy")
    atoms = build_crystal(fcc(3.61), repeats=(6, 6, 6), species=("Cu",), masses=(63.546,))
    thermostat = dynamics.Langevin(900.0, 0.05, 11)
    if mode == "write":
        v0 = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, 1500.0, seed=3)
        step = 0
    else:  # every rank reads the whole checkpoint and takes what its box holds
        cp = read_checkpoint(folder / "run.h5")
        order = np.argsort(np.asarray(atoms.ids))
        atoms.positions[order] = cp.positions
        v0 = np.empty_like(cp.velocities)
        v0[order] = cp.velocities
        step = cp.step
    part = rcb(atoms.positions, np.ones(len(atoms)), comm.Get_size(), atoms.box.lo,
               atoms.box.hi)
    run = DomainDynamics(comm, atoms, v0, pot, device, part, skin=SKIN, thermostat=thermostat,
                         step=step, time=step * DT)
    for _ in range(steps):
        run.step(DT)
    if mode == "write":
        mine = run.owned()
        write_checkpoint_parts(folder / "run.h5", Checkpoint(
            mine["ids"], mine["x"], mine["v"], run.step_count, run.time, "", ""), comm)
        for _ in range(steps):
            run.step(DT)
    final = gather_state(comm, run)
    if comm.Get_rank() != 0:
        return 0
    if mode == "write":
        np.savez(folder / "final.npz", ids=final[0], x=final[1], v=final[2])
        print(f"wrote {comm.Get_size()} parts at step {steps}")
        return 0
    saved = np.load(folder / "final.npz")
    same = (np.array_equal(saved["ids"], final[0]) and np.array_equal(saved["x"], final[1])
            and np.array_equal(saved["v"], final[2]))
    print(f"resumed on {comm.Get_size()} ranks from step {step}: "
          f"{'bitwise' if same else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
