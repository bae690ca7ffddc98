"""Region cases on MPI ranks (qc_sim.simulation.region with a communicator), launched as
``mpiexec -n N`` subprocesses with a timeout: a small Komarova bone plate and the two
diffusion cases (the second homogenises its microstructure first, its cell problems spread
over the ranks) print the serial thermo lines and end in the serial state, bit for bit, on
1, 2, 3 and 4 ranks, and so does ``qc-sim homogenize`` of the image; the plate's XDMF from 3 ranks is the serial one and meshio reads it; a
checkpoint written in parts by 3 ranks restarts on 2 bitwise; a mesh with fewer elements
than ranks is refused with one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_mpi import ROOT, launch

PLATE = """[region]
physics = "bone"
end_time = 100.0
dt = 10.0
thermo = 2

[bone]
law = "komarova"
geometry = "plate"
divisions = [{n}, {n}]
size = [100.0, 100.0]
load = 2.0
density = 0.8

[output]
thermo_csv = "plate.csv"
mesh = "plate.xdmf"
png = "frames"
trajectory_every = 10
checkpoint = "plate.h5"
checkpoint_every = 5
"""

CASES = ("plate.toml", "diffusion_particle.toml", "diffusion_porous_particle.toml",
         "microstructures/sc_spheres_32.npy")
CHECKPOINTS = {"plate.toml": "plate.h5", "diffusion_particle.toml": "diffusion_particle.h5"}


def _folder(path: Path) -> Path:
    path.mkdir()
    (path / "plate.toml").write_text(PLATE.format(n=8))
    for name in CASES[1:3]:
        shutil.copy(ROOT / "cases" / name, path / name)
    shutil.copytree(ROOT / "cases" / "microstructures", path / "microstructures")
    return path


def _by_case(stdout: str) -> dict:
    """Each case's thermo lines (the lines that start with a step number); for the image,
    the effective tensor and tortuosity of its JSON (written with repr: every bit)."""
    out, case = {}, None
    for line in stdout.splitlines():
        if line.startswith("== ") and not line.startswith("== status"):
            case = line[3:]
            out[case] = []
        elif case and case.endswith(".npy") and line.startswith("{"):
            result = json.loads(line)
            out[case] = [result["effective_tensor"], result["tortuosity"]]
        elif case and line.strip()[:1].isdigit():
            out[case].append(line)
    return out


def _fields(path):
    from qc_sim.io.checkpoint import read_checkpoint

    cp = read_checkpoint(path)
    return cp.step, cp.fields


def _same_fields(a, b):
    assert sorted(a) == sorted(b)
    for name in a:  # the same bits (NaN included)
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
        assert a[name].tobytes() == b[name].tobytes(), name


@pytest.fixture(scope="module")
def region_runs(mpiexec, tmp_path_factory):
    """The three cases run on 1 (no mpiexec), 2, 3 and 4 ranks: {ranks: (stdout, folder)}."""
    runs = {}
    for ranks in (1, 2, 3, 4):
        folder = _folder(tmp_path_factory.mktemp("regions") / f"n{ranks}")
        command = [sys.executable, ROOT / "tests" / "mpi_region_cases.py", folder, *CASES]
        out = (launch(mpiexec, ranks, *command, timeout=300) if ranks > 1 else
               subprocess.run(list(map(str, command)), capture_output=True, text=True,
                              timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1")))
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.count("== status 0") == len(CASES), out.stdout + out.stderr
        runs[ranks] = (out.stdout, folder)
    return runs


def test_region_cases_print_the_serial_lines_and_state_on_one_to_four_ranks(region_runs):
    serial = _by_case(region_runs[1][0])
    assert [len(serial[c]) for c in CASES] == [6, 11, 11, 2]
    for ranks in (2, 3, 4):
        stdout, folder = region_runs[ranks]
        assert _by_case(stdout) == serial, ranks
        assert f"on {ranks} MPI ranks (imbalance" in stdout
        for case, name in CHECKPOINTS.items():
            step, fields = _fields(folder / name)
            assert (folder / f"{name}.part{ranks - 1}").is_file()
            want_step, want = _fields(region_runs[1][1] / name)
            assert step == want_step
            _same_fields(fields, want)
        for csv in ("plate.csv", "diffusion_particle.csv", "diffusion_porous_particle.csv"):
            assert (folder / csv).read_text() == (region_runs[1][1] / csv).read_text()
        assert sorted(p.name for p in (folder / "frames").iterdir()) == \
            ["density_000000.png", "density_000010.png"]


def test_the_mesh_output_of_three_ranks_is_the_serial_one(region_runs):
    from meshio import xdmf

    series = []
    for ranks in (1, 3):
        reader = xdmf.TimeSeriesReader(str(region_runs[ranks][1] / "plate.xdmf"))
        points, cells = reader.read_points_cells()
        steps = [reader.read_data(k) for k in range(reader.num_steps)]
        series.append((points, cells[0].data, steps))
    (p1, c1, s1), (p3, c3, s3) = series
    assert np.array_equal(p1, p3) and np.array_equal(c1, c3) and len(s1) == len(s3) == 2
    for (t1, nodes1, cells1), (t3, nodes3, cells3) in zip(s1, s3):
        assert t1 == t3 and sorted(cells1) == sorted(cells3)
        for name in cells1:
            assert np.array_equal(cells1[name][0], cells3[name][0]), name
        for name in nodes1:
            assert np.array_equal(nodes1[name], nodes3[name]), name


def test_a_region_checkpoint_from_three_ranks_restarts_on_two_bitwise(mpiexec, region_runs,
                                                                     tmp_path):
    halfway = region_runs[3][1] / "plate.h5.1"  # written in 3 parts at step 5
    assert _fields(halfway)[0] == 5
    out = launch(mpiexec, 2, sys.executable, "-m", "qc_sim.cli.main", "restart", halfway,
                 cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checkpoint plate.h5 (2 parts) at step 10" in out.stdout
    serial_lines = _by_case(region_runs[1][0])["plate.toml"]
    assert [line for line in out.stdout.splitlines() if line.strip()[:1].isdigit()] == \
        serial_lines[-3:]
    step, fields = _fields(tmp_path / "plate.h5")
    assert step == 10
    _same_fields(fields, _fields(region_runs[1][1] / "plate.h5")[1])


def test_a_mesh_with_fewer_elements_than_ranks_is_refused_with_one_line(mpiexec,
                                                                        tmp_path):
    (tmp_path / "tiny.toml").write_text(PLATE.format(n=1))
    out = launch(mpiexec, 3, sys.executable, "-m", "qc_sim.cli.main", "run", "tiny.toml",
                 cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "3 MPI ranks for a bone region of 2 entities" in lines[0]
    assert "Traceback" not in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bone_single_cell", "bone_plate_2d", "bone_block_3d",
                                  "diffusion_particle", "diffusion_porous_particle"])
def test_every_shipped_region_case_prints_the_serial_lines_on_three_ranks(mpiexec,
                                                                          name, tmp_path):
    """The shipped region cases whole, serially and on 3 ranks: the same thermo lines and
    CSV (every bit, written with repr)."""
    shutil.copytree(ROOT / "cases", tmp_path / "cases")
    runs = {}
    for ranks in (1, 3):
        folder = tmp_path / f"n{ranks}"
        folder.mkdir()
        command = [sys.executable, "-m", "qc_sim.cli.main", "run",
                   tmp_path / "cases" / f"{name}.toml"]
        out = (launch(mpiexec, ranks, *command, timeout=600, cwd=folder) if ranks > 1 else
               subprocess.run(list(map(str, command)), capture_output=True, text=True,
                              timeout=600, cwd=folder, env=dict(os.environ,
                                                                OMP_NUM_THREADS="1")))
        assert out.returncode == 0, out.stdout + out.stderr
        runs[ranks] = [line for line in out.stdout.splitlines() if line.strip()[:1].isdigit()]
        assert runs[ranks]
    assert runs[3] == runs[1]
    assert (tmp_path / "n3" / f"{name}.csv").read_text() == \
        (tmp_path / "n1" / f"{name}.csv").read_text()
