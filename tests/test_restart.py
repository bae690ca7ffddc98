"""Checkpoints and restarts: bitwise continuation (NVE and Langevin) through the CLI, a run
stopped by SIGTERM, a run killed with SIGKILL while writing, and damaged checkpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qc_sim.io.checkpoint import read_checkpoint

ROOT = Path(__file__).resolve().parents[1]
POTENTIAL = ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy"


def write_case(folder: Path, ensemble="nve", steps=60, every=20) -> Path:
    case = folder / "case.toml"
    case.write_text(f"""
[run]
backend = "cpu"
[lattice]
kind = "fcc"
a = 3.61
species = ["Cu"]
repeats = [4, 4, 4]
[potential]
style = "eam"
file = "{POTENTIAL}"
skin = 0.5
[dynamics]
ensemble = "{ensemble}"
timestep = 0.002
steps = {steps}
temperature = 600.0
thermostat_temperature = 300.0
seed = 9
thermo = 10
[output]
checkpoint = "run.h5"
checkpoint_every = {every}
keep = 2
""")
    return case


def qc_sim(*args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "qc_sim.cli.main", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def same_state(a: Path, b: Path):
    ca, cb = read_checkpoint(a), read_checkpoint(b)
    assert ca.step == cb.step
    assert np.array_equal(ca.ids, cb.ids)
    assert np.array_equal(ca.positions, cb.positions)  # bitwise
    assert np.array_equal(ca.velocities, cb.velocities)


@pytest.mark.parametrize("ensemble", ["nve", "langevin"])
def test_restart_continues_bitwise(tmp_path, ensemble):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    whole.mkdir(), resumed.mkdir()
    case = write_case(whole, ensemble)
    out = qc_sim("run", case, cwd=whole)
    assert out.returncode == 0, out.stderr
    assert read_checkpoint(whole / "run.h5").step == 60
    assert read_checkpoint(whole / "run.h5.2").step == 20  # two previous kept
    (resumed / "from20.h5").write_bytes((whole / "run.h5.2").read_bytes())
    out = qc_sim("restart", "from20.h5", cwd=resumed)
    assert out.returncode == 0, out.stderr
    assert "from step 20" in out.stdout
    same_state(whole / "run.h5", resumed / "run.h5")


def test_sigterm_writes_a_checkpoint_and_the_run_resumes(tmp_path):
    case = write_case(tmp_path, steps=10_000_000, every=0)
    proc = subprocess.Popen([sys.executable, "-m", "qc_sim.cli.main", "run", str(case)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # wait until it is stepping
            if line.split() and line.split()[0] == "10":
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM at step" in out
    cp = read_checkpoint(tmp_path / "run.h5")
    assert cp.step >= 10
    again = qc_sim("restart", "run.h5", "--steps", "10", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert read_checkpoint(tmp_path / "run.h5").step == cp.step + 10


def _kill_inside_a_write(folder, case, tries=10):
    """SIGKILL a run that checkpoints every step the moment its temporary checkpoint file
    (``.run.h5.tmpPID``, written aside and renamed into place) is seen, after two rotations;
    the kill landed inside a write when that file is still there once the process is dead.
    A kill that came just after the rename is tried again on a fresh run."""
    for _ in range(tries):
        for stale in folder.glob("*run.h5*"):
            stale.unlink()
        proc = subprocess.Popen([sys.executable, "-m", "qc_sim.cli.main", "run", str(case)],
                                cwd=folder, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        tmp = f".run.h5.tmp{proc.pid}"
        try:
            deadline = time.time() + 120
            while not (folder / "run.h5.2").exists() and time.time() < deadline:
                time.sleep(0.01)
            while time.time() < deadline and tmp not in os.listdir(folder):
                pass
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        if (folder / tmp).exists():
            return folder / tmp
    pytest.fail(f"no SIGKILL of {tries} landed while a checkpoint was being written")


def test_sigkill_while_writing_leaves_a_good_checkpoint_that_resumes_bitwise(tmp_path):
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    killed.mkdir(), whole.mkdir()
    case = write_case(killed, steps=10_000_000, every=1)  # a checkpoint every step
    torn = _kill_inside_a_write(killed, case)
    assert torn.exists()  # the process died with a checkpoint half written or not yet renamed
    cp = read_checkpoint(killed / "run.h5")  # intact: written aside, renamed into place
    out = qc_sim("restart", "run.h5", "--steps", "6", cwd=killed)
    assert out.returncode == 0, out.stderr
    reference = write_case(whole, steps=cp.step + 6, every=0)
    out = qc_sim("run", reference, cwd=whole)
    assert out.returncode == 0, out.stderr
    same_state(killed / "run.h5", whole / "run.h5")


def test_damaged_checkpoints_are_refused_in_one_line(tmp_path):
    case = write_case(tmp_path)
    assert qc_sim("run", case, cwd=tmp_path).returncode == 0
    good = (tmp_path / "run.h5").read_bytes()
    import h5py

    with h5py.File(tmp_path / "run.h5", "r+") as f:
        f["positions"][0, 0] += 1e-9
    out = qc_sim("restart", "run.h5", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "dataset 'positions' fails its checksum" in out.stderr
    assert "the previous checkpoint is" in out.stderr and "run.h5.1" in out.stderr
    (tmp_path / "run.h5").write_bytes(good[: len(good) // 2])
    out = qc_sim("restart", "run.h5", cwd=tmp_path)
    assert out.returncode == 2 and "not a readable checkpoint" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = qc_sim("restart", "missing.h5", cwd=tmp_path)
    assert out.returncode == 2 and "no such checkpoint" in out.stderr


def test_run_resume_continues_from_the_newest_good_checkpoint(tmp_path):
    """`qc-sim run CASE --resume` (what a requeued batch job runs): without a checkpoint it
    starts; with one it continues bitwise; a damaged newest one is passed over for the
    previous one."""
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    whole.mkdir(), resumed.mkdir()
    assert qc_sim("run", write_case(whole), "--resume", cwd=whole).returncode == 0  # fresh
    case = write_case(resumed)
    assert qc_sim("run", case, "--steps", "40", cwd=resumed).returncode == 0
    out = qc_sim("run", case, "--resume", cwd=resumed)
    assert out.returncode == 0 and "resuming from run.h5" in out.stderr, out.stderr
    same_state(whole / "run.h5", resumed / "run.h5")
    # the newest checkpoint damaged: the previous one (step 40) is used, with a note
    assert qc_sim("run", case, "--steps", "40", cwd=resumed).returncode == 0
    (resumed / "run.h5").write_bytes((resumed / "run.h5").read_bytes()[:500])
    out = qc_sim("run", case, "--resume", cwd=resumed)
    assert out.returncode == 0, out.stderr
    assert "passing over run.h5" in out.stderr and "resuming from run.h5.1" in out.stderr
    same_state(whole / "run.h5", resumed / "run.h5")


TRAJECTORIES = ('trajectory = "traj.h5md"\ngsd = "traj.gsd"\nxyz = "traj.xyz"\n'
                'trajectory_every = 10\n')


def same_trajectories(a: Path, b: Path, xyz=True, stem="traj"):
    """The H5MD, GSD and (``xyz``) XYZ trajectories ``STEM.*`` in folders ``a`` and ``b``
    hold the same frames: every H5MD dataset, every chunk of every GSD frame as
    ``gsd.hoomd`` reads it, the XYZ text."""
    import gsd.hoomd
    import h5py

    with h5py.File(a / f"{stem}.h5md", "r") as fa, h5py.File(b / f"{stem}.h5md", "r") as fb:
        names = []
        fa.visit(lambda n: names.append(n) if isinstance(fa[n], h5py.Dataset) else None)
        assert "particles/trajectory/position/value" in names
        for name in names:
            assert np.array_equal(fa[name][()], fb[name][()]), name
    with gsd.hoomd.open(str(a / f"{stem}.gsd")) as ga, \
            gsd.hoomd.open(str(b / f"{stem}.gsd")) as gb:
        assert len(ga) == len(gb)
        for fa, fb in zip(ga, gb):
            assert fa.configuration.step == fb.configuration.step
            assert np.array_equal(fa.configuration.box, fb.configuration.box)
            assert list(fa.particles.types) == list(fb.particles.types)
            for name in ("typeid", "position", "velocity", "image"):
                assert np.array_equal(getattr(fa.particles, name),
                                      getattr(fb.particles, name)), name
            assert fa.log.keys() == fb.log.keys()
            for name in fa.log:
                assert np.array_equal(fa.log[name], fb.log[name]), name
    if xyz:
        assert (a / f"{stem}.xyz").read_bytes() == (b / f"{stem}.xyz").read_bytes()


def test_a_restart_continues_its_trajectories(tmp_path):
    """A restart appends to the H5MD, GSD and XYZ trajectories of its run: from a run cut
    short at step 25 (frames 0, 10, 20 kept, none written at 25) and from step 20 of a run
    whose files already reach step 60 (its frames from step 20 on dropped, written again),
    the files end as those of the uninterrupted run, frame for frame (the XYZ byte for
    byte)."""
    import gsd.hoomd

    whole, cut, again = tmp_path / "whole", tmp_path / "cut", tmp_path / "again"
    for folder in (whole, cut, again):
        folder.mkdir()
        case = write_case(folder)  # 60 steps, checkpoints every 20
        case.write_text(case.read_text() + TRAJECTORIES)
    assert qc_sim("run", whole / "case.toml", cwd=whole).returncode == 0
    out = qc_sim("run", cut / "case.toml", "--steps", "25", cwd=cut)
    assert out.returncode == 0, out.stderr
    with gsd.hoomd.open(str(cut / "traj.gsd")) as f:
        assert [frame.configuration.step for frame in f] == [0, 10, 20]
    out = qc_sim("restart", "run.h5", "--steps", "35", cwd=cut)
    assert out.returncode == 0 and "from step 25" in out.stdout, out.stderr
    same_trajectories(cut, whole)
    assert qc_sim("run", again / "case.toml", cwd=again).returncode == 0
    out = qc_sim("restart", "run.h5.2", cwd=again)  # step 20: the frames from 20 on again
    assert out.returncode == 0 and "from step 20" in out.stdout, out.stderr
    same_trajectories(again, whole)
    with gsd.hoomd.open(str(again / "traj.gsd")) as f:
        assert [frame.configuration.step for frame in f] == [0, 10, 20, 30, 40, 50, 60]
