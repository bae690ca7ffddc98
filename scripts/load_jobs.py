#!/usr/bin/env python
"""Many qc-sim jobs at once, in separate directories and in one shared directory (issue 31):
every job must either finish with the files of the same job run alone, bit for bit, or be
refused before any work with exit status 2 and one line; nothing of another job may be
overwritten, and a job killed by SIGKILL must block nothing.

The jobs (small and short edits of the shipped cases: atomistic EAM copper, the coupled 2D
argon model in dynamics, the bone plate region; serial and on 2 MPI ranks), all started at
once unless said otherwise:

    own directories   atoms_serial, atoms_2rank, coupled_serial_killed, region_2rank,
                      atoms_2rank_killed, region_serial_killed
    shared/           sweep_t300, sweep_t600 (serial) and sweep_t900 (2 ranks): three
                      temperatures of one atomistic case, all naming run.h5, traj.h5 and
                      thermo.csv: one goes on, the other two are refused;
                      shared_coupled_killed and shared_region with names of their own;
                      late_traj_clash (its own checkpoint, but traj.h5), started once the
                      sweep is running; late_mesh_clash (2 ranks, its own checkpoint, but
                      the mesh of shared_coupled_killed), started once that one runs;
                      late_resume_other_case (run --resume of another case naming
                      shared_region's checkpoint), started once shared_region has ended

A job marked killed is sent SIGKILL (its whole process group: mpiexec and every rank) once
it has written two checkpoints, and then requeued as ``qc-sim run CASE --resume``. Each job
that finishes is run again alone, uninterrupted, in a directory of its own, and every file
it wrote is compared: checkpoints by their state (ids, positions, velocities, fields, step,
time, case text: bitwise), HDF5 files dataset by dataset, text files byte for byte (a
killed and resumed job: its checkpoints only, since its trajectory, CSV and mesh frames
start again at the restart). Every file left in a shared directory must belong to a job
that finished; no lock file may be left behind.

``--experiments`` also runs issue 31's two experiments: three copies of cases/cu_nve.toml
(300 steps, checkpoint run.h5 every 20 steps) started at once in one directory, with and
without ``trajectory = "traj.h5"``, against the same case run alone.

    python scripts/load_jobs.py [--experiments] [--out scripts/results/load_jobs_cpu_2core_epyc.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))
from bench_md import commit, machine  # noqa: E402

from qc_sim.cases.schema import parse_case  # noqa: E402
from qc_sim.io.checkpoint import read_checkpoint  # noqa: E402
from qc_sim.io.claims import planned_outputs  # noqa: E402

POTENTIAL = ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy"
QC_SIM = [sys.executable, "-m", "qc_sim.cli.main"]
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
    shutil.which("mpiexec")


def atoms_case(cells, steps, temperature, every, checkpoint="run.h5", trajectory="traj.h5",
               csv="thermo.csv") -> str:
    lines = [f'checkpoint = "{checkpoint}"', f"checkpoint_every = {every}", "keep = 2",
             f"trajectory_every = {every}", 'progress = "never"']
    if trajectory:
        lines.append(f'trajectory = "{trajectory}"')
    if csv:
        lines.append(f'thermo_csv = "{csv}"')
    return f"""[run]
backend = "cpu"
[lattice]
kind = "fcc"
a = 3.61
species = ["Cu"]
repeats = [{cells}, {cells}, {cells}]
[potential]
style = "eam"
file = "{POTENTIAL}"
skin = 0.5
[dynamics]
ensemble = "langevin"
timestep = 0.002
steps = {steps}
temperature = {temperature}
thermostat_temperature = {temperature}
seed = 11
thermo = {every}
[output]
""" + "\n".join(lines) + "\n"


def _edit(text: str, pairs) -> str:
    for old, new in pairs:
        if old not in text:
            raise SystemExit(f"load_jobs: '{old}' not in the shipped case any more")
        text = text.replace(old, new)
    return text


def coupled_case(steps, every, checkpoint="ar_coupled.h5", mesh="ar_coupled.xdmf") -> str:
    text = (ROOT / "cases" / "ar_coupled_nve.toml").read_text()
    return _edit(text, [("repeats = [60, 36, 1]", "repeats = [40, 24, 1]"),
                        ("steps = 2000", f"steps = {steps}"),
                        ("thermo = 100", f"thermo = {every}"),
                        ("backend = \"auto\"", "backend = \"cpu\""),
                        ('checkpoint = "ar_coupled.h5"', f'checkpoint = "{checkpoint}"'),
                        ("checkpoint_every = 500", f"checkpoint_every = {every}"),
                        ('mesh = "ar_coupled.xdmf"', f'mesh = "{mesh}"'),
                        # the jobs write the files they did before the case named trajectories
                        ('gsd = "ar_coupled.gsd"', '# gsd'),
                        ('trajectory = "ar_coupled.h5md"', '# trajectory'),
                        ("trajectory_every = 100", f"trajectory_every = {every}")])


def region_case(steps, every, name="bone_plate_2d") -> str:
    text = (ROOT / "cases" / "bone_plate_2d.toml").read_text()
    return _edit(text, [("end_time = 3650.0", f"end_time = {10.0 * steps}"),
                        ("divisions = [40, 40]", "divisions = [20, 20]"),
                        ("thermo = 50", f"thermo = {every}"),
                        ('thermo_csv = "bone_plate_2d.csv"', f'thermo_csv = "{name}.csv"'),
                        ('mesh = "bone_plate_2d.xdmf"', f'mesh = "{name}.xdmf"'),
                        ('png = "bone_plate_2d_frames"\n', ""),
                        ("trajectory_every = 73", f"trajectory_every = {every}"),
                        ('checkpoint = "bone_plate_2d.h5"', f'checkpoint = "{name}.h5"'),
                        ("checkpoint_every = 100", f"checkpoint_every = {every}")])


@dataclass
class Job:
    name: str
    kind: str  # atoms, coupled, region
    folder: str  # relative to the work directory
    text: str
    ranks: int = 1
    kill: bool = False
    after: list = field(default_factory=list)  # start once these print a header or end
    after_exit: list = field(default_factory=list)  # start once these have ended
    kill_after: list = field(default_factory=list)  # kill only once these have ended
    resume: bool = False  # started as run --resume
    expect: str = "either"  # what the plan expects: finished, refused or either
    # filled in while it runs
    proc: subprocess.Popen | None = None
    attempts: list = field(default_factory=list)
    started: float = 0.0
    killed_at_step: int | None = None
    killed_run: str = ""
    survivors: list = field(default_factory=list)

    @property
    def case_file(self) -> str:
        return f"{self.name}.toml"

    def command(self, resume=False):
        base = QC_SIM + ["run", self.case_file] + (["--resume"] if resume or self.resume
                                                   else [])
        return ([MPIEXEC, "-n", str(self.ranks)] + base) if self.ranks > 1 else base

    def case(self, where: Path):
        return parse_case(self.text, where / self.case_file)

    def outputs(self, where: Path):
        case = self.case(where)
        names = []
        for rank in range(self.ranks):
            names += [p for p in planned_outputs(case, rank, self.ranks) if p not in names]
        return names


def plan() -> list[Job]:
    return [
        Job("atoms_serial", "atoms", "atoms_serial", atoms_case(4, 1500, 600.0, 300)),
        Job("atoms_2rank", "atoms", "atoms_2rank", atoms_case(6, 500, 600.0, 100), ranks=2),
        Job("coupled_serial_killed", "coupled", "coupled_serial_killed",
            coupled_case(1500, 100), kill=True),
        Job("region_2rank", "region", "region_2rank", region_case(150, 25), ranks=2),
        Job("atoms_2rank_killed", "atoms", "atoms_2rank_killed",
            atoms_case(6, 800, 900.0, 100, trajectory="", csv=""), ranks=2, kill=True),
        Job("region_serial_killed", "region", "region_serial_killed", region_case(200, 20),
            kill=True),
        Job("sweep_t300", "atoms", "shared", atoms_case(4, 1500, 300.0, 300)),
        Job("sweep_t600", "atoms", "shared", atoms_case(4, 1500, 600.0, 300)),
        Job("sweep_t900", "atoms", "shared", atoms_case(6, 500, 900.0, 100), ranks=2),
        Job("shared_coupled_killed", "coupled", "shared",
            coupled_case(2000, 100, "coupled.h5", "coupled.xdmf"), kill=True,
            kill_after=["late_mesh_clash"], expect="finished"),
        Job("shared_region", "region", "shared", region_case(150, 25, "bone"),
            expect="finished"),
        Job("late_traj_clash", "atoms", "shared",
            atoms_case(4, 300, 450.0, 100, checkpoint="late.h5", csv=""),
            after=["sweep_t300", "sweep_t600", "sweep_t900"], expect="refused"),
        Job("late_mesh_clash", "coupled", "shared",
            coupled_case(300, 100, "late_coupled.h5", "coupled.xdmf"), ranks=2,
            after=["shared_coupled_killed"], expect="refused"),
        Job("late_resume_other_case", "region", "shared",
            region_case(150, 25, "bone").replace("load = 2.0", "load = 2.5"),
            after_exit=["shared_region"], resume=True, expect="refused"),
    ]


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def launch(job: Job, work: Path, logs: Path, resume=False) -> None:
    k = len(job.attempts)
    out = open(logs / f"{job.name}.{k}.out", "w")
    err = open(logs / f"{job.name}.{k}.err", "w")
    job.proc = subprocess.Popen(job.command(resume), cwd=work / job.folder, stdout=out,
                                stderr=err, env=_env(), start_new_session=True)
    job.started = time.perf_counter()
    words = (["mpiexec", "-n", str(job.ranks)] if job.ranks > 1 else []) + \
        ["qc-sim", "run", job.case_file] + (["--resume"] if resume or job.resume else [])
    job.attempts.append({"command": " ".join(words), "out": out.name, "err": err.name,
                         "rc": None, "seconds": None})
    out.close(), err.close()


def header(job: Job) -> bool:
    """Whether the current attempt has printed its run header (it holds its claims)."""
    text = Path(job.attempts[-1]["out"]).read_text() if job.attempts else ""
    return "qc-sim run " in text or "qc-sim restart " in text


def session_members(sid: int) -> list[int]:
    """The live processes of session ``sid`` (a job started in a session of its own: the
    process, or mpiexec, its proxy, which takes a process group of its own, and the ranks)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def kill_job(job: Job) -> None:
    """SIGKILL to every process of the job at once, as a lost node would end them."""
    for pid in session_members(job.proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    job.proc.wait()


def newest(where: Path, name: str, keep: int):
    """The newest readable checkpoint NAME, NAME.1, ... (a job killed in the middle of a
    rotation on ranks leaves its newest set as NAME.1)."""
    from qc_sim.errors import InputError

    for candidate in [name] + [f"{name}.{k}" for k in range(1, keep + 1)]:
        try:
            return read_checkpoint(where / candidate)
        except InputError:
            continue
    return None


def run_all(jobs: list[Job], work: Path, logs: Path, deadline_s: float) -> None:
    by_name = {j.name: j for j in jobs}
    pending = list(jobs)
    start = time.perf_counter()

    def ended(name):
        j = by_name[name]
        return bool(j.attempts) and j.proc is not None and j.proc.poll() is not None and \
            not (j.kill and j.killed_at_step is not None and len(j.attempts) == 1)

    while True:
        for job in list(pending):
            if all(by_name[n].attempts and (header(by_name[n]) or by_name[n].proc.poll()
                                            is not None) for n in job.after) and \
                    all(ended(n) for n in job.after_exit):
                launch(job, work, logs)
                pending.remove(job)
        running = False
        for job in jobs:
            if job.proc is None:
                continue
            rc = job.proc.poll()
            if rc is None:
                running = True
                if (job.kill and job.killed_at_step is None and header(job)
                        and all(ended(n) for n in job.kill_after)):
                    output = job.case(work / job.folder).output
                    if (work / job.folder / f"{output.checkpoint}.1").exists():
                        kill_job(job)
                        time.sleep(0.2)
                        job.survivors = session_members(job.proc.pid)
                        cp = newest(work / job.folder, output.checkpoint, output.keep)
                        job.killed_at_step, job.killed_run = cp.step, cp.run_id
                        a = job.attempts[-1]
                        a["rc"], a["seconds"] = job.proc.returncode, \
                            round(time.perf_counter() - job.started, 2)
                        launch(job, work, logs, resume=True)  # requeued
                        running = True
                continue
            a = job.attempts[-1]
            if a["rc"] is None:
                a["rc"], a["seconds"] = rc, round(time.perf_counter() - job.started, 2)
        if not running and not pending:
            return
        if time.perf_counter() - start > deadline_s:
            for job in jobs:
                if job.proc is not None and job.proc.poll() is None:
                    kill_job(job)
                    job.attempts[-1]["rc"] = "timed out"
            return
        time.sleep(0.05)


def same_checkpoint(a: Path, b: Path) -> str | None:
    """None when the two checkpoints hold the same state bit for bit, else what differs."""
    ca, cb = read_checkpoint(a), read_checkpoint(b)
    for name in ("step", "time", "case_text", "kind"):
        if getattr(ca, name) != getattr(cb, name):
            return name
    for name in ("ids", "positions", "velocities"):
        x, y = getattr(ca, name), getattr(cb, name)
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            return name
    if set(ca.fields) != set(cb.fields):
        return "fields"
    for name in ca.fields:
        x, y = np.asarray(ca.fields[name]), np.asarray(cb.fields[name])
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            return f"fields/{name}"
    return None


def same_hdf5(a: Path, b: Path) -> str | None:
    import h5py

    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names = []
        fa.visit(lambda n: names.append(n) if isinstance(fa[n], h5py.Dataset) else None)
        other = []
        fb.visit(lambda n: other.append(n) if isinstance(fb[n], h5py.Dataset) else None)
        if sorted(names) != sorted(other):
            return "datasets"
        for n in names:
            x, y = fa[n][()], fb[n][()]
            if np.asarray(x).tobytes() != np.asarray(y).tobytes():
                return n
    return None


def compare(job: Job, here: Path, alone: Path, checkpoints_only: bool) -> dict:
    """Every file ``job`` claims, as left in ``here`` and as its run alone left it."""
    case = job.case(here)
    cks = set()
    if case.output.checkpoint:
        c = case.output.checkpoint
        cks = {c} | {f"{c}.{k}" for k in range(1, case.output.keep + 1)}
    checked, differ = [], {}
    for path in job.outputs(here):
        name = str(path)
        if ".part" in name:  # read with their index
            continue
        if name not in cks and checkpoints_only:
            continue
        a, b = here / name, alone / name
        if not b.exists():
            if a.exists():
                differ[name] = "not written by the job run alone"
            continue
        if not a.exists():
            differ[name] = "missing"
            continue
        if name in cks:
            why = same_checkpoint(a, b)
        elif b.is_dir():
            why = None if sorted(p.name for p in a.iterdir()) == \
                sorted(p.name for p in b.iterdir()) else "frames"
        elif name.endswith((".h5", ".xdmf.h5")):
            why = same_hdf5(a, b)
        else:
            why = None if a.read_bytes() == b.read_bytes() else "bytes"
        checked.append(name)
        if why:
            differ[name] = why
    return {"compared": checked, "differ": differ}


def verdict(job: Job, work: Path, alone_root: Path) -> dict:
    out = {"job": job.name, "kind": job.kind, "ranks": job.ranks, "folder": job.folder,
           "planned": job.expect, "attempts": []}
    for a in job.attempts:
        entry = {"command": a["command"], "rc": a["rc"], "seconds": a["seconds"]}
        stdout, stderr = Path(a["out"]).read_text(), Path(a["err"]).read_text()
        entry["stderr_lines"] = len(stderr.strip().splitlines())
        if a["rc"] == 2:
            entry["line"] = stderr.strip()
        if "continuing " in stdout:
            entry["continuing"] = next(line for line in stdout.splitlines()
                                       if line.startswith("continuing "))
        entry["traceback"] = "Traceback" in stderr
        out["attempts"].append(entry)
    last = job.attempts[-1]
    stdout, stderr = Path(last["out"]).read_text(), Path(last["err"]).read_text()
    if job.killed_at_step is not None:
        out["killed"] = {"signal": "SIGKILL", "newest_checkpoint_step": job.killed_at_step,
                         "run": job.killed_run, "processes_left": job.survivors}
    if last["rc"] == 2:
        one = len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
        clash = "written by another job (host " in stderr or "--resume continues only" in stderr
        out["outcome"] = "refused" if one and clash and stdout == "" else "FAILED"
        return out
    if last["rc"] != 0:
        out["outcome"] = "FAILED"
        return out
    if job.killed_at_step is not None and f"continuing run {job.killed_run}:" not in stdout:
        out["outcome"] = "FAILED"
        out["why"] = "the resumed run does not name the killed run"
        return out
    alone = alone_root / job.name
    alone.mkdir(parents=True)
    (alone / job.case_file).write_text(job.text)
    command = [MPIEXEC, "-n", str(job.ranks)] + QC_SIM + ["run", job.case_file] \
        if job.ranks > 1 else QC_SIM + ["run", job.case_file]
    t0 = time.perf_counter()
    solo = subprocess.run(command, cwd=alone, capture_output=True, text=True, env=_env(),
                          timeout=300)
    out["alone_seconds"] = round(time.perf_counter() - t0, 2)
    if solo.returncode != 0:
        out["outcome"] = "FAILED"
        out["why"] = f"alone: exit {solo.returncode}: {solo.stderr.strip()[-300:]}"
        return out
    result = compare(job, work / job.folder, alone, job.killed_at_step is not None)
    out.update(result)
    out["outcome"] = "finished, bitwise" if result["compared"] and not result["differ"] \
        else "FAILED"
    return out


def leftovers(jobs: list[Job], work: Path, results: list[dict]) -> dict:
    """Files in each folder that no finished job claims, and lock files left behind."""
    finished = {r["job"] for r in results if r["outcome"].startswith("finished")}
    report = {}
    for folder in sorted({j.folder for j in jobs}):
        where = work / folder
        owned = {j.case_file for j in jobs if j.folder == folder}
        for j in jobs:
            if j.folder == folder and j.name in finished:
                owned |= {str(p) for p in j.outputs(where)}
        stray, locks, aside = [], [], []
        for p in sorted(where.iterdir()):
            if p.name.endswith(".lock"):
                locks.append(p.name)
            elif p.name.startswith(".") and ".tmp" in p.name:
                aside.append(p.name)  # a checkpoint being written aside when killed
            elif p.name not in owned and not any(p.name.startswith(f"{o}.part")
                                                 for o in owned):
                stray.append(p.name)
        report[folder] = {"files_of_no_finished_job": stray, "lock_files": locks,
                          "written_aside_when_killed": aside}
    return report


def experiment(work: Path, trajectory: bool) -> dict:
    """Issue 31's experiment: three copies of cases/cu_nve.toml (300 steps) at once in one
    directory, checkpoint run.h5 every 20 steps (and traj.h5), against the case alone."""
    text = (ROOT / "cases" / "cu_nve.toml").read_text()
    text = _edit(text, [("steps = 1000", "steps = 300"),
                        ('file = "potentials/', f'file = "{ROOT / "cases" / "potentials"}/')])
    text = text.split("\n[output]")[0]  # the case's own trajectories: not in the experiment
    text += '\n[output]\ncheckpoint = "run.h5"\ncheckpoint_every = 20\n'
    if trajectory:
        text += 'trajectory = "traj.h5"\n'
    name = "with_trajectory" if trajectory else "checkpoint_only"
    shared, alone = work / name / "shared", work / name / "alone"
    shared.mkdir(parents=True), alone.mkdir(parents=True)
    procs = []
    for k in (1, 2, 3):
        (shared / f"copy{k}.toml").write_text(text)
    for k in (1, 2, 3):
        procs.append(subprocess.Popen(QC_SIM + ["run", f"copy{k}.toml"], cwd=shared,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=_env()))
    jobs = []
    for k, p in enumerate(procs, 1):
        out, err = p.communicate(timeout=600)
        jobs.append({"job": f"copy{k}", "rc": p.returncode, "pid": p.pid,
                     "stderr": err.strip(), "stdout_lines": len(out.splitlines()),
                     "traceback": "Traceback" in err})
    (alone / "copy.toml").write_text(text)
    solo = subprocess.run(QC_SIM + ["run", "copy.toml"], cwd=alone, capture_output=True,
                          text=True, env=_env(), timeout=600)
    differ, compared = {}, []
    for n in ["run.h5", "run.h5.1", "run.h5.2"] + (["traj.h5"] if trajectory else []):
        why = same_checkpoint(shared / n, alone / n) if n.startswith("run") else \
            same_hdf5(shared / n, alone / n)
        compared.append(n)
        if why:
            differ[n] = why
    winners = [j for j in jobs if j["rc"] == 0]
    refused = [j for j in jobs if j["rc"] == 2 and j["stdout_lines"] == 0
               and len(j["stderr"].splitlines()) == 1 and not j["traceback"]]
    ok = len(winners) == 1 and len(refused) == 2 and solo.returncode == 0 and not differ
    return {"trajectory": trajectory, "jobs": jobs, "compared_with_alone": compared,
            "differ": differ, "ok": ok}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", help="folder for the runs (default: a new temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--experiments", action="store_true", help="also issue 31's experiments")
    p.add_argument("--deadline", type=float, default=300.0, help="seconds before the jobs "
                   "still running are killed and counted as failed")
    p.add_argument("--out", help="also write the JSON to this file")
    args = p.parse_args()
    if MPIEXEC is None:
        raise SystemExit("load_jobs: no mpiexec (pip install -e '.[mpi]')")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="qc_load_jobs_"))
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    jobs = plan()
    for job in jobs:
        (work / job.folder).mkdir(parents=True, exist_ok=True)
        (work / job.folder / job.case_file).write_text(job.text)
    t0 = time.perf_counter()
    try:
        run_all(jobs, work, logs, args.deadline)
    except BaseException:
        for job in jobs:
            if job.proc is not None and job.proc.poll() is None:
                kill_job(job)
        raise
    concurrent = time.perf_counter() - t0
    results = [verdict(job, work, work / "alone") for job in jobs]
    for r in results:
        if r["planned"] != "either" and not r["outcome"].startswith(r["planned"]):
            r["outcome"] = f"FAILED (planned {r['planned']}, got {r['outcome']})"
    folders = leftovers(jobs, work, results)
    counts = {}
    for r in results:
        key = "finished, bitwise" if r["outcome"].startswith("finished") else r["outcome"]
        counts[key] = counts.get(key, 0) + 1
    summary = {"jobs": len(jobs), "processes_at_start": sum(j.ranks for j in jobs
                                                            if not j.after and not
                                                            j.after_exit),
               "outcomes": counts,
               "killed_and_resumed": sum(1 for r in results if "killed" in r),
               "concurrent_phase_s": round(concurrent, 1),
               "all_ok": all(not r["outcome"].startswith("FAILED") for r in results)
               and all(not f["files_of_no_finished_job"] and not f["lock_files"]
                       for f in folders.values())
               and all(not r.get("killed", {}).get("processes_left") for r in results)}
    report = {"machine": machine(), "commit": commit(), "summary": summary,
              "folders": folders, "jobs": results}
    if args.experiments:
        report["issue_experiments"] = [experiment(work / "experiments", t)
                                       for t in (True, False)]
        summary["all_ok"] = summary["all_ok"] and all(e["ok"] for e in
                                                      report["issue_experiments"])
    summary["total_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if summary["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
