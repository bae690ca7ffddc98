"""``qc-sim run`` of a coupled case with dynamics: thermo, energy conservation, mesh fields
as XDMF (read back by meshio), checkpoints of the nodes that restart bitwise."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from qc_sim.io.checkpoint import read_checkpoint
from test_restart import qc_sim

CASE = """
[run]
backend = "cpu"
[lattice]
kind = "triangular"
a = 3.816
species = ["Ar"]
repeats = [24, 14, 1]
periodic = [false, false, false]
[potential]
style = "lj"
epsilon = 0.0104
sigma = 3.4
cutoff = 8.5
[dynamics]
timestep = 0.004
steps = 120
temperature = 20.0
thermo = 20
seed = 3
[coupling]
method = "bgfc"
core_radius = 3.0
width = 2.0
solve = "dynamics"
damping = {damping}
[output]
checkpoint = "run.h5"
checkpoint_every = 40
mesh = "mesh.xdmf"
trajectory_every = 40
thermo_csv = "thermo.csv"
"""


def test_coupled_dynamics_conserves_energy_and_writes_mesh_fields(tmp_path):
    import meshio

    case = tmp_path / "case.toml"
    case.write_text(CASE.format(damping=0.0))
    out = qc_sim("run", case, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "thermo.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == list(range(0, 121, 20))
    e = np.array([float(r["etotal_eV"]) for r in rows])
    # the velocities are drawn and the thermo counts over one d (N_free - 1) dof: exactly the
    # set temperature at step 0, as atomistic runs print theirs (test_random)
    assert float(rows[0]["temperature_K"]) == pytest.approx(20.0, rel=1e-12)
    # bgfc conserves energy: the drift against the kinetic energy (not the cohesive total,
    # 53 times larger here); reached 4.84e-4 of ke0 over 120 steps (9.1e-6 of the total)
    ke0 = float(rows[0]["ke_eV"])
    assert np.abs(e - e[0]).max() < 6e-4 * ke0
    with meshio.xdmf.TimeSeriesReader(str(tmp_path / "mesh.xdmf")) as reader:
        points, cells = reader.read_points_cells()
        steps = [reader.read_data(k) for k in range(reader.num_steps)]
    assert np.allclose([t for t, _, _ in steps], [0.0, 0.16, 0.32, 0.48], rtol=1e-12)
    final = read_checkpoint(tmp_path / "run.h5")
    assert final.kind == "coupled" and final.step == 120
    t, nodes, elements = steps[-1]
    assert np.allclose(nodes["displacement"],
                       final.positions - final.fields["reference_nodes"], atol=1e-12)
    assert set(np.unique(nodes["zone"])) == {0, 1, 2}
    # the element fields against the checkpoint's nodes: F of each linear triangle, and the
    # first Piola-Kirchhoff stress by a lattice sum written here (LJ, triangular lattice)
    tri = cells[0].data
    assert np.array_equal(points[:, :2], final.fields["reference_nodes"])
    F = _triangle_gradients(points[:, :2], final.positions, tri)
    assert np.allclose(elements["deformation_gradient"][0].reshape(-1, 2, 2), F,
                       rtol=0, atol=1e-12)
    P = elements["stress"][0].reshape(-1, 2, 2)  # 2x2 first Piola-Kirchhoff per triangle
    expected = _lj_triangular_stress(F, a=3.816, epsilon=0.0104, sigma=3.4, cutoff=8.5)
    assert np.abs(P - expected).max() < 1e-10 * np.abs(expected).max()
    assert np.abs(expected).max() > 1e-5  # the run strained the mesh: a stress to compare
    assert np.array_equal(nodes["velocity"], final.velocities)


def _triangle_gradients(X, y, tri):
    """F = dy/dX of each linear triangle (e, 2, 2)."""
    dX = np.stack([X[tri[:, 1]] - X[tri[:, 0]], X[tri[:, 2]] - X[tri[:, 0]]], axis=-1)
    dy = np.stack([y[tri[:, 1]] - y[tri[:, 0]], y[tri[:, 2]] - y[tri[:, 0]]], axis=-1)
    return dy @ np.linalg.inv(dX)


def _lj_triangular_stress(F, a, epsilon, sigma, cutoff):
    """P = sum_R phi'(r) (F R) (x) R / (2 r Omega_0) over the triangular lattice's vectors R
    with r = |F R| inside the cutoff, Omega_0 = sqrt(3) a^2 / 2 (Cauchy-Born, per area)."""
    k = np.arange(-6, 7)
    i, j = (g.ravel() for g in np.meshgrid(k, k))
    R = np.stack([a * (i + 0.5 * j), a * np.sqrt(3) / 2 * j], axis=1)
    R = R[(i != 0) | (j != 0)]
    x = np.einsum("eab,mb->ema", F, R)
    r = np.linalg.norm(x, axis=-1)
    dphi = 4 * epsilon * (-12 * sigma**12 / r**13 + 6 * sigma**6 / r**7)
    dphi[r >= cutoff] = 0.0
    omega = np.sqrt(3) / 2 * a * a
    return np.einsum("em,ema,mb->eab", dphi / r, x, R) / (2 * omega)


def test_coupled_dynamics_restarts_bitwise_and_damps(tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    for folder in (whole, part):
        folder.mkdir()
        (folder / "case.toml").write_text(CASE.format(damping=2.0))
    assert qc_sim("run", whole / "case.toml", cwd=whole).returncode == 0
    assert qc_sim("run", part / "case.toml", "--steps", "40", cwd=part).returncode == 0
    assert read_checkpoint(part / "run.h5").step == 40
    out = qc_sim("restart", part / "run.h5", cwd=part)
    assert out.returncode == 0, out.stderr
    a, b = read_checkpoint(whole / "run.h5"), read_checkpoint(part / "run.h5")
    assert a.step == b.step == 120
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.velocities, b.velocities)
    with open(whole / "thermo.csv") as fh:
        rows = list(csv.DictReader(fh))
    e = [float(r["etotal_eV"]) for r in rows]
    assert e[-1] < e[0] - 1e-3  # the handshake band takes energy out


def test_a_coupled_checkpoint_of_another_mesh_is_refused(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text(CASE.format(damping=0.0))
    assert qc_sim("run", case, "--steps", "1", cwd=tmp_path).returncode == 0
    import h5py

    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint

    cp = read_checkpoint(tmp_path / "run.h5")
    cp.fields["reference_nodes"] = cp.fields["reference_nodes"] + 0.1
    write_checkpoint(tmp_path / "bad.h5", Checkpoint(**{**cp.__dict__}), keep=0)
    with h5py.File(tmp_path / "bad.h5", "r") as f:
        assert f.attrs["kind"] == "coupled"
    out = qc_sim("restart", tmp_path / "bad.h5", cwd=tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "nodes are not those" in out.stderr
