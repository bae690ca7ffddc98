"""Output files: H5MD trajectories in the layout the H5MD 1.1 specification requires, and
the thermo table as CSV."""

from __future__ import annotations

import csv

import h5py
import numpy as np
import pytest

from qc_sim.io.checkpoint import read_checkpoint
from test_restart import qc_sim, write_case


def test_h5md_trajectory_and_thermo_csv(tmp_path):
    case = write_case(tmp_path, steps=40, every=0)
    case.write_text(case.read_text().replace('keep = 2', 'keep = 2\ntrajectory = "traj.h5"\n'
                                             'trajectory_every = 10\nthermo_csv = "thermo.csv"'))
    out = qc_sim("run", case, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    with h5py.File(tmp_path / "traj.h5", "r") as f:
        # H5MD 1.1: the h5md group with version, author and creator
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert "name" in f["h5md/author"].attrs
        assert {"name", "version"} <= set(f["h5md/creator"].attrs)
        # particles/<group>/box: dimension, boundary, edges
        box = f["particles/all/box"]
        assert box.attrs["dimension"] == 3
        assert [b.decode() if isinstance(b, bytes) else b for b in box.attrs["boundary"]] == \
            ["periodic"] * 3
        assert np.allclose(box["edges/value"][()], 4 * 3.61)
        assert box["edges/value"].shape == (5, 3)
        # time-dependent elements: step, time, value
        for name in ("position", "image", "velocity"):
            element = f["particles/all"][name]
            assert list(element["step"][()]) == [0, 10, 20, 30, 40]
            assert np.allclose(element["time"][()], 0.002 * element["step"][()])
            assert element["value"].shape == (5, 256, 3)
        x = f["particles/all/position/value"][-1]
        image = f["particles/all/image/value"][-1]
        ids = f["particles/all/id"][()]
        assert np.all((x >= 0) & (x < 4 * 3.61))
    final = read_checkpoint(tmp_path / "run.h5")
    order = np.argsort(ids)
    assert np.allclose((x + image * 4 * 3.61)[order], final.positions, atol=1e-12)
    with open(tmp_path / "thermo.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [0, 10, 20, 30, 40]
    e0 = float(rows[0]["etotal_eV"])
    assert abs(float(rows[-1]["etotal_eV"]) - e0) < 1e-4 * abs(e0)  # NVE


def test_h5md_trajectory_reads_back_in_mdanalysis(tmp_path, mdanalysis):
    """MDAnalysis (a tool users open H5MD with) reads frames, times, box and velocities."""
    MDAnalysis = mdanalysis

    case = write_case(tmp_path, steps=20, every=0)
    case.write_text(case.read_text().replace('keep = 2', 'keep = 2\ntrajectory = "traj.h5"\n'
                                             'trajectory_every = 10'))
    assert qc_sim("run", case, cwd=tmp_path).returncode == 0
    universe = MDAnalysis.Universe.empty(256, trajectory=True)
    universe.load_new(str(tmp_path / "traj.h5"), format="H5MD")
    assert len(universe.trajectory) == 3
    with h5py.File(tmp_path / "traj.h5", "r") as f:
        x = f["particles/all/position/value"][()]
        v = f["particles/all/velocity/value"][()]
    for k, ts in enumerate(universe.trajectory):
        assert ts.time == pytest.approx(0.002 * 10 * k)  # ps
        assert np.allclose(ts.dimensions, [4 * 3.61] * 3 + [90] * 3)
        assert np.allclose(ts.positions, x[k], atol=1e-5)  # MDAnalysis keeps float32
        assert np.allclose(ts.velocities, v[k], atol=1e-4)


def test_extended_xyz_reads_back_in_ase_and_matches_the_h5md(tmp_path):
    import ase.io

    case = write_case(tmp_path, steps=20, every=0)
    case.write_text(case.read_text().replace('keep = 2', 'keep = 2\ntrajectory = "traj.h5"\n'
                                             'trajectory_every = 10\nxyz = "traj.xyz"'))
    assert qc_sim("run", case, cwd=tmp_path).returncode == 0
    frames = ase.io.read(tmp_path / "traj.xyz", index=":", format="extxyz")
    assert [f.info["Step"] for f in frames] == [0, 10, 20]
    with h5py.File(tmp_path / "traj.h5", "r") as f:
        ids = f["particles/all/id"][()]
        x = f["particles/all/position/value"][()] + f["particles/all/image/value"][()] * 4 * 3.61
        v = f["particles/all/velocity/value"][()]
    order = np.argsort(ids)
    for k, frame in enumerate(frames):
        assert list(frame.arrays["id"]) == sorted(ids)
        assert set(frame.get_chemical_symbols()) == {"Cu"}
        assert np.allclose(frame.cell.lengths(), 4 * 3.61) and frame.pbc.all()
        assert np.allclose(frame.positions, x[k][order], atol=1e-12)  # unwrapped
        assert np.array_equal(frame.arrays["velo"], v[k][order])  # repr round-trips exactly


def test_progress_bar_on_request_and_not_in_a_batch_log(tmp_path):
    case = write_case(tmp_path, steps=40, every=0)
    plain = qc_sim("run", case, cwd=tmp_path)  # stderr is a pipe: no bar
    assert plain.returncode == 0 and "step" not in plain.stderr
    case.write_text(case.read_text().replace('keep = 2', 'keep = 2\nprogress = "always"'))
    shown = qc_sim("run", case, cwd=tmp_path)
    assert shown.returncode == 0
    assert "step 40/40 100.0%" in shown.stderr
    assert "\x1b[K" in shown.stderr  # the bar redraws its line in place


def test_plot_thermo_draws_the_csv(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "plot_thermo.py"
    table = tmp_path / "t.csv"
    table.write_text("step,time_ps,pe_eV,ke_eV,etotal_eV,temperature_K,pressure_bar,fmax_eV_A\n"
                     "0,0.0,-10.0,1.0,-9.0,300.0,0.0,0.0\n10,0.02,-9.5,0.5,-9.0,150.0,0.0,0.1\n")
    out = subprocess.run([sys.executable, str(script), str(table)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    png = Path(out.stdout.strip())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "none.csv")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_xdmf_is_valid_xml_whose_datasets_exist_and_meshio_reads_it(tmp_path):
    import xml.etree.ElementTree as ET

    import meshio

    from qc_sim.continuum.mesh import delaunay_mesh, lattice_points
    from qc_sim.geometry import bcc
    from qc_sim.io.xdmf import write_xdmf

    a = 2.855
    mesh = delaunay_mesh(lattice_points(bcc(a), (0, 0, 0), (6 * a,) * 3, (2 * a,) * 3,
                                        (4 * a,) * 3))
    u = np.random.default_rng(0).normal(0, 0.01, mesh.nodes.shape)
    stress = np.random.default_rng(1).normal(0, 1, (len(mesh.elements), 3, 3))
    zone = np.arange(mesh.n_nodes) % 3
    xdmf, h5 = write_xdmf(tmp_path / "body.xdmf", mesh,
                          [(0.0, {"displacement": u, "zone": zone}, {"stress": stress}),
                           (0.5, {"displacement": 2 * u, "zone": zone}, {"stress": stress})])
    root = ET.parse(xdmf).getroot()
    items = root.iter("DataItem")
    with h5py.File(h5, "r") as f:
        for item in items:
            file, dataset = item.text.strip().split(":")
            assert file == h5.name and dataset in f
            dims = tuple(int(d) for d in item.attrib["Dimensions"].split())
            assert f[dataset].shape == dims or f[dataset].shape == dims[:1]
    with meshio.xdmf.TimeSeriesReader(xdmf) as reader:
        points, cells = reader.read_points_cells()
        assert np.allclose(points, mesh.nodes)
        assert cells[0].type == "tetra" and len(cells[0].data) == len(mesh.elements)
        t, point_data, cell_data = reader.read_data(1)
        assert t == 0.5 and np.allclose(point_data["displacement"], 2 * u)
