"""Run under mpiexec by tests/test_mpi.py: a shipped coupled case (made small) split over the
ranks by DomainCoupledModel. Prints one line on rank 0 with what the test compares across
rank counts: the patch test, a SHA-256 of the node positions after the run, the energy; with
``serial`` rank 0 also runs the serial CoupledModel and says whether the node forces and the
trajectory are its own, bit for bit.

    mpiexec -n 3 python tests/mpi_coupled.py BACKEND statics|dynamics|periodic [serial]

statics: cases/cu_vacancy_coupled.toml (EAM Cu, bgfc, a vacancy; 16^3 cells) relaxed by
L-BFGS. dynamics: cases/ar_coupled_nve.toml (LJ Ar, 2D, bgfc, the damping band; 40 x 24
cells), 100 steps of velocity Verlet. periodic: a Sutton-Chen Cu slab periodic along z
(padding atoms across the seam), its nodes displaced at random: the node forces only.

tests/test_mpi.py launches it with a timeout (subprocess.run(..., timeout=...)), so a
hang fails the test instead of blocking CI.
"""

import hashlib
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

from qc_sim.atomistic.random import maxwell_boltzmann_velocities
from qc_sim.backend import get_device
from qc_sim.cases.build import build_coupled, build_potential
from qc_sim.cases.schema import parse_case
from qc_sim.coupling.domain import DomainCoupledModel
from qc_sim.coupling.dynamics import CoupledDynamics, handshake_damping, node_masses
from qc_sim.parallel import exact_sum
from qc_sim.solvers import lbfgs
from qc_sim.solvers.lbfgs import lbfgs_two_loop
from qc_sim.units import MVV2E

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"statics": ("cu_vacancy_coupled.toml", "repeats = [24, 24, 24]",
                     "repeats = [16, 16, 16]"),
         "dynamics": ("ar_coupled_nve.toml", "repeats = [60, 36, 1]", "repeats = [40, 24, 1]")}
COSTS = {"atom": 1e-5, "element": 2e-6, "node": 1e-7}  # fixed: the same partition every run


def whole(comm, model, values):
    """Per-node ``values`` of every rank, in node order (the check only)."""
    parts = comm.allgather((model.nodes, np.asarray(values)))
    out = np.zeros((len(model.model.y),) + np.shape(values)[1:])
    for nodes, v in parts:
        out[nodes] = v
    return out


def periodic(comm, device) -> int:
    """The forces of a model periodic along z, gathered, against the serial model's."""
    from qc_sim.coupling import CoupledModel, build_geometry
    from qc_sim.geometry import fcc
    from qc_sim.potentials.eam import Eam

    pot = Eam.from_file(ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy")
    a = 3.61
    g = build_geometry(fcc(a), np.zeros(3), [20 * a, 20 * a, 3 * a], [10 * a, 10 * a, 0.0],
                       2 * a, 1.5 * a, reach=2 * pot.cutoff, periodic=(False, False, True))
    serial = CoupledModel(g, pot, "Cu", "bgfc", device=device, check=False)
    rng = np.random.default_rng(1)
    serial.y = serial.y + 0.05 * rng.normal(size=serial.y.shape) * serial.free[:, None]
    model = DomainCoupledModel(comm, serial, costs=COSTS)
    energy, f = model.evaluate(model.y)
    forces = whole(comm, model, f)
    if comm.Get_rank() == 0:
        same = np.array_equal(forces, serial.evaluate(serial.y)[1])
        digest = hashlib.sha256(np.ascontiguousarray(forces).tobytes()).hexdigest()[:16]
        print(f"periodic, ranks {comm.Get_size()}: energy {energy!r} forces {digest}; serial "
              f"node forces {'bitwise' if same else 'DIFFER'}; imbalance "
              f"{model.imbalance():.3f}")
    return 0


def main() -> int:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    kind = sys.argv[2]
    if kind == "periodic":
        return periodic(comm, get_device(sys.argv[1]))
    name, old, new = SMALL[kind]
    path = ROOT / "cases" / name
    case = parse_case(path.read_text().replace(old, new), path)
    device = get_device(sys.argv[1])
    potential = build_potential(case)
    serial, _ = build_coupled(case, potential, device, check=False)
    model = DomainCoupledModel(comm, serial, costs=COSTS)
    patch = model.check_patch_test()  # I, the far field, three random strains of 1e-3
    e0, f0 = model.evaluate(model.y)
    forces = whole(comm, model, f0)
    if kind == "statics":
        result = lbfgs(model, fmax=case.coupling.fmax, max_steps=2000)
        energy, steps = result.energy, result.steps
    else:
        masses = node_masses(serial, 39.948)
        ids = np.arange(len(serial.y))
        v0 = maxwell_boltzmann_velocities(masses, ids, case.dynamics.temperature,
                                          case.dynamics.seed, dimension=serial.dim,
                                          fixed_mask=~serial.free)[:, : serial.dim]
        damping = handshake_damping(serial, case.coupling.damping)
        md = CoupledDynamics(model, masses[model.nodes], case.dynamics.timestep,
                             damping[model.nodes])
        state = md.run(md.init_state(v0[model.nodes]), 100)
        kinetic = exact_sum(np.concatenate([p for p in comm.allgather(
            (0.5 * MVV2E * masses[model.nodes][:, None] * state.velocities**2).ravel())]))
        energy, steps = state.energy + kinetic, state.step
    y = whole(comm, model, model.y)
    if rank != 0:
        return 0
    digest = hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()[:16]
    ghost = [r["max_ghost_force"] for r in patch]
    line = (f"{kind}, ranks {size}: steps {steps} energy {energy!r} nodes {digest} "
            f"patch test {ghost}; imbalance {model.imbalance():.3f}")
    if "serial" in sys.argv[3:]:
        serial_patch = [r["max_ghost_force"] for r in serial.check_patch_test()]
        line += f"; serial patch test {'bitwise' if serial_patch == ghost else 'DIFFERS'}"
        _, f_serial = serial.evaluate(serial.y)
        line += f", serial node forces {'bitwise' if np.array_equal(forces, f_serial) else 'DIFFER'}"
        if kind == "statics":
            lbfgs_two_loop(serial, fmax=case.coupling.fmax, max_steps=2000)
            line += f", serial relaxation within {np.abs(serial.y - y).max():.3g} Å"
        else:
            md = CoupledDynamics(serial, masses, case.dynamics.timestep, damping)
            md.run(md.init_state(v0), 100)
            line += (f", serial trajectory "
                     f"{'bitwise' if np.array_equal(serial.y, y) else 'DIFFERS'}")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
