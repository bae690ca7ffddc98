"""Jobs that share a directory (issue 31): a run claims every file it will write before any
work, a second job that would write one ends with one line and status 2, a job killed by
SIGKILL blocks nothing, checkpoints record their run, and --resume continues only its own
case's checkpoints."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


from qc_sim.cases.schema import parse_case
from qc_sim.io.checkpoint import read_checkpoint
from qc_sim.io.claims import planned_outputs
from test_restart import qc_sim, write_case

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "qc_sim.cli.main"]


def start(case: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(COMMAND + ["run", str(case)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stepping(proc: subprocess.Popen) -> None:
    """Wait until ``proc`` prints a thermo line past step 0."""
    for line in proc.stdout:
        if line.split() and line.split()[0] == "10":
            return
    raise AssertionError(f"no thermo line: {proc.stderr.read()}")


def test_two_jobs_on_one_checkpoint_name_at_once_the_second_is_refused(tmp_path):
    case = write_case(tmp_path, steps=10_000_000, every=50)
    jobs = [start(case, tmp_path), start(case, tmp_path)]
    try:
        deadline = time.time() + 120
        while all(p.poll() is None for p in jobs) and time.time() < deadline:
            time.sleep(0.05)
        refused = next(p for p in jobs if p.poll() is not None)
        running = next(p for p in jobs if p is not refused)
        out, err = refused.communicate(timeout=60)
        assert refused.returncode == 2, err
        assert out == ""  # ended before any work: not even the run's header
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert err.startswith("qc-sim: error: run.h5: written by another job (host ")
        assert f"pid {running.pid}, run " in err and f"case {case})" in err
        stepping(running)  # the first job runs on, untouched
        running.send_signal(signal.SIGTERM)
        running.communicate(timeout=60)
        assert running.returncode == 143
    finally:
        for p in jobs:
            p.kill()
    cp = read_checkpoint(tmp_path / "run.h5")
    assert cp.writer.endswith(f"pid {running.pid}") and len(cp.run_id) == 12
    assert not list(tmp_path.glob(".*.lock"))  # released at the end of the run


def test_a_job_killed_by_sigkill_blocks_nothing(tmp_path):
    case = write_case(tmp_path, steps=10_000_000, every=20)
    proc = start(case, tmp_path)
    try:
        stepping(proc)
        deadline = time.time() + 60
        while not (tmp_path / "run.h5").exists() and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    lock = tmp_path / ".run.h5.lock"
    assert f'"pid": {proc.pid},' in lock.read_text()  # left behind, but held by no one
    killed = read_checkpoint(tmp_path / "run.h5")
    out = qc_sim("run", case, "--resume", "--steps", "10", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"continuing run {killed.run_id}: case " in out.stdout
    cp = read_checkpoint(tmp_path / "run.h5")
    assert cp.step == killed.step + 10 and cp.run_id == killed.run_id
    assert not lock.exists()


def test_resume_refuses_another_cases_checkpoint_and_old_checkpoints_read(tmp_path):
    import h5py

    mine = write_case(tmp_path, steps=20, every=0)
    assert qc_sim("run", mine, cwd=tmp_path).returncode == 0
    other = tmp_path / "other.toml"
    other.write_text(mine.read_text().replace("temperature = 600.0", "temperature = 700.0"))
    out = qc_sim("run", other, "--resume", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    line = out.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    first = read_checkpoint(tmp_path / "run.h5")
    assert f"run.h5: written by case {mine} (sha256 {first.case_sha256[:12]}" in line
    assert f"not by {other} (sha256 " in line
    # a checkpoint from before runs were recorded: read as an unknown run, and continued
    with h5py.File(tmp_path / "run.h5", "r+") as f:
        del f.attrs["run_id"], f.attrs["writer"]
    assert read_checkpoint(tmp_path / "run.h5").run_id == ""
    out = qc_sim("restart", "run.h5", "--steps", "2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("continuing a run of unknown id")
    assert len(read_checkpoint(tmp_path / "run.h5").run_id) == 12


def test_an_atomistic_run_writes_only_the_files_it_claimed(tmp_path):
    case = write_case(tmp_path, steps=20, every=5)
    case.write_text(case.read_text() + 'trajectory = "traj.h5"\ntrajectory_every = 10\n'
                    'xyz = "traj.xyz"\nthermo_csv = "thermo.csv"\ngsd = "traj.gsd"\n')
    assert qc_sim("run", case, cwd=tmp_path).returncode == 0
    written = {p.name for p in tmp_path.iterdir()} - {"case.toml"}
    planned = {p.name for p in planned_outputs(parse_case(case.read_text(), case))}
    assert written == planned == {"run.h5", "run.h5.1", "run.h5.2", "traj.h5", "traj.xyz",
                                  "thermo.csv", "traj.gsd"}


def _case(name: str, output: str) -> object:
    text = (ROOT / "cases" / name).read_text()
    text = text.split("[output]")[0] + "[output]\n" + output
    return parse_case(text, ROOT / "cases" / name)


def test_the_ranks_of_a_job_claim_disjoint_files():
    atoms = _case("cu_nve.toml", 'checkpoint = "ck.h5"\nkeep = 1\ntrajectory = "t.h5"\n'
                  'thermo_csv = "t.csv"\n')
    names = [[str(p) for p in planned_outputs(atoms, rank, 2)] for rank in (0, 1)]
    assert names[0] == ["ck.h5", "ck.h5.1", "ck.h5.part0", "ck.h5.1.part0", "t.csv", "t.h5",
                        "t.h5.part0"]
    assert names[1] == ["ck.h5.part1", "ck.h5.1.part1", "t.h5.part1"]
    gsd_only = _case("cu_nve.toml", 'gsd = "t.gsd"\n')  # the parts named after the GSD file
    assert [[str(p) for p in planned_outputs(gsd_only, rank, 2)] for rank in (0, 1)] == \
        [["t.gsd", "t.gsd.part0"], ["t.gsd.part1"]]
    coupled = _case("ar_coupled_nve.toml", 'checkpoint = "c.h5"\nkeep = 0\nmesh = "m.xdmf"\n'
                    'gsd = "c.gsd"\n')
    assert [str(p) for p in planned_outputs(coupled)] == ["c.h5", "m.xdmf", "m.xdmf.h5",
                                                          "c.gsd"]
    assert [str(p) for p in planned_outputs(coupled, 1, 3)] == ["c.h5.part1"]  # rank 0 writes
    statics = _case("cu_vacancy_coupled.toml", 'checkpoint = "c.h5"\nmesh = "m.xdmf"\n')
    assert [str(p) for p in planned_outputs(statics)] == ["m.xdmf", "m.xdmf.h5"]
    assert planned_outputs(_case("cu_crack.toml", 'checkpoint = "c.h5"\n')) == []
    step = _case("cu_step_nucleation.toml", 'checkpoint = "band.h5"\n')
    assert [str(p) for p in planned_outputs(step)] == [
        "band.npz", "cu_step_nucleation.json", "cu_step_nucleation.png",
        "cu_step_nucleation_saddle.png"]  # what run_nucleation writes, not an .h5 or a mesh
    assert [str(p) for p in planned_outputs(_case("cu_crack.toml", 'gsd = "k.gsd"\n'))] == \
        ["k.gsd"]
    region = _case("bone_plate_2d.toml", 'checkpoint = "b.h5"\nkeep = 0\npng = "frames"\n')
    assert [str(p) for p in planned_outputs(region)] == ["b.h5", "frames"]


def test_a_two_rank_job_is_refused_by_a_file_of_either_rank(mpiexec, tmp_path):
    """A serial job holds the checkpoint: the 2-rank job on it ends with rank 0's line; a
    serial job holds what would be rank 1's part: the 2-rank job ends with rank 1's line,
    printed once; both before any work, status 2."""
    import os

    case = write_case(tmp_path, steps=10_000_000, every=0)
    holder = tmp_path / "holder.toml"
    holder.write_text(case.read_text().replace('checkpoint = "run.h5"', 'checkpoint = '
                                               '"run.h5.part1"').replace("keep = 2", "keep = 0"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for held, name in ((case, "run.h5"), (holder, "run.h5.part1")):
        proc = start(held, tmp_path)
        try:
            stepping(proc)
            out = subprocess.run([mpiexec, "-n", "2", *COMMAND, "run", str(case)],
                                 capture_output=True, text=True, timeout=120, cwd=tmp_path,
                                 env=env)
        finally:
            proc.kill()
            proc.communicate(timeout=60)
        assert out.returncode == 2 and out.stdout == "", out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert out.stderr.startswith(f"qc-sim: error: {name}: written by another job (host ")
        assert f"pid {proc.pid}, " in out.stderr
