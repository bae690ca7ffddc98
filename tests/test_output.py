"""Output files: the trajectories opened with the tools the README names for them, as their
users open them (MDAnalysis ``Universe("traj.h5md")``, OVITO ``import_file("traj.gsd")`` and
``import_file("traj.xyz")``, ASE ``read``), frames, particles, ids, positions and box compared
with what was written; H5MD in the layout the H5MD 1.1 specification requires; the thermo
table as CSV; the XDMF mesh read back by meshio."""

from __future__ import annotations

import csv
from pathlib import Path

import h5py
import numpy as np
import pytest

from qc_sim.cases.schema import load_case
from qc_sim.io.checkpoint import read_checkpoint
from test_restart import qc_sim, write_case

ROOT = Path(__file__).resolve().parents[1]
L = 4 * 3.61  # the box of write_case's crystal, Å


def short_run(folder, steps=20, every=10, output=""):
    """write_case's 256 Cu atoms run ``steps`` NVE steps with frames every ``every`` and the
    ``[output]`` lines ``output``."""
    case = write_case(folder, steps=steps, every=0)
    case.write_text(case.read_text().replace(
        "keep = 2", f"keep = 2\ntrajectory_every = {every}\n{output}"))
    out = qc_sim("run", case, cwd=folder)
    assert out.returncode == 0, out.stderr
    return case


def h5md_frames(path):
    """(steps, times, ids, unwrapped positions, velocities, box edges) of an H5MD file."""
    with h5py.File(path, "r") as f:
        g = f["particles/trajectory"]
        x = g["position/value"][()] + g["image/value"][()] * g["box/edges/value"][()][:, None]
        return (g["position/step"][()], g["position/time"][()], g["id"][()], x,
                g["velocity/value"][()], g["box/edges/value"][()])


def ovito_frames(ovito_io, path):
    """What OVITO's import_file reads from ``path``, frame by frame: (Timestep, ids,
    positions, velocities, cell matrix (3, 4), type names, the data collection)."""
    pipeline = ovito_io.import_file(str(path))
    frames = []
    for k in range(pipeline.source.num_frames):
        data = pipeline.compute(k)
        p = data.particles
        frames.append((data.attributes["Timestep"] if "Timestep" in data.attributes
                       else data.attributes["Step"], np.asarray(p.identifiers[...]),
                       np.asarray(p.positions[...]),
                       np.zeros((p.count, 3)) if p.velocities is None  # GSD: all 0, left out
                       else np.asarray(p.velocities[...]),
                       np.asarray(data.cell[...]), [t.name for t in p.particle_types.types],
                       data))
    return frames


def periodic_image(data):
    """OVITO's Periodic Image property (absent where every image is 0: GSD leaves out a
    chunk that holds its default)."""
    if "Periodic Image" in data.particles:
        return np.asarray(data.particles["Periodic Image"][...])
    return np.zeros((data.particles.count, 3), int)


def test_h5md_trajectory_and_thermo_csv(tmp_path):
    short_run(tmp_path, steps=40, output='trajectory = "traj.h5md"\nthermo_csv = "thermo.csv"')
    with h5py.File(tmp_path / "traj.h5md", "r") as f:
        # H5MD 1.1: the h5md group with version, author and creator
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert "name" in f["h5md/author"].attrs
        assert {"name", "version"} <= set(f["h5md/creator"].attrs)
        # particles/<group>/box: dimension, boundary, edges (the group named as MDAnalysis
        # names its own, which its minimal topology looks for)
        box = f["particles/trajectory/box"]
        assert box.attrs["dimension"] == 3
        assert [b.decode() if isinstance(b, bytes) else b for b in box.attrs["boundary"]] == \
            ["periodic"] * 3
        assert np.allclose(box["edges/value"][()], L)
        assert box["edges/value"].shape == (5, 3)
        # time-dependent elements: step, time, value
        for name in ("position", "image", "velocity"):
            element = f["particles/trajectory"][name]
            assert list(element["step"][()]) == [0, 10, 20, 30, 40]
            assert np.allclose(element["time"][()], 0.002 * element["step"][()])
            assert element["value"].shape == (5, 256, 3)
        x = f["particles/trajectory/position/value"][-1]
        image = f["particles/trajectory/image/value"][-1]
        ids = f["particles/trajectory/id"][()]
        assert np.all((x >= 0) & (x < L))
    final = read_checkpoint(tmp_path / "run.h5")
    order = np.argsort(ids)
    assert np.allclose((x + image * L)[order], final.positions, atol=1e-12)
    with open(tmp_path / "thermo.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [0, 10, 20, 30, 40]
    e0, ke0 = float(rows[0]["etotal_eV"]), float(rows[0]["ke_eV"])
    drift = max(abs(float(r["etotal_eV"]) - e0) for r in rows)
    print(f"NVE drift over 40 steps: {drift / ke0:.2e} of ke0, {drift / abs(e0):.2e} of e0")
    # NVE, against the kinetic energy (the total is 44 times it): reached 8.55e-4
    assert drift < 2e-3 * ke0


def test_h5md_opens_in_mdanalysis_by_its_name(tmp_path, mdanalysis):
    """``MDAnalysis.Universe("traj.h5md")``, no topology and no format named: frames, times,
    box, positions and velocities as written; the atoms in id order (MDAnalysis' indices
    are the ids)."""
    short_run(tmp_path, output='trajectory = "traj.h5md"')
    steps, times, ids, x, v, edges = h5md_frames(tmp_path / "traj.h5md")
    with h5py.File(tmp_path / "traj.h5md", "r") as f:
        folded = f["particles/trajectory/position/value"][()]
    universe = mdanalysis.Universe(str(tmp_path / "traj.h5md"))
    assert universe.atoms.n_atoms == 256 and len(universe.trajectory) == 3 == len(steps)
    assert np.array_equal(ids, universe.atoms.indices)
    for k, ts in enumerate(universe.trajectory):
        assert ts.time == pytest.approx(times[k]) == pytest.approx(0.002 * 10 * k)  # ps
        assert np.allclose(ts.dimensions, list(edges[k]) + [90] * 3)
        assert np.allclose(ts.positions, folded[k], atol=1e-5)  # MDAnalysis keeps float32
        assert np.allclose(ts.velocities, v[k], atol=1e-4)


def test_gsd_and_extended_xyz_open_in_ovito_as_written(tmp_path, ovito_io):
    """``ovito.io.import_file`` of the GSD and the extended XYZ trajectory of one run: the
    frames and steps, the particle count, ids, types, positions (GSD's box is centred on the
    origin: our positions are OVITO's plus the Periodic Image times the box plus the
    ``box_center`` attribute), velocities and cell of the H5MD file of the same run."""
    short_run(tmp_path, output='trajectory = "traj.h5md"\ngsd = "traj.gsd"\nxyz = "traj.xyz"')
    steps, times, ids, x, v, edges = h5md_frames(tmp_path / "traj.h5md")
    order = np.argsort(ids)
    gsd = ovito_frames(ovito_io, tmp_path / "traj.gsd")
    assert len(gsd) == len(steps) == 3
    for k, (step, pid, pos, vel, cell, types, data) in enumerate(gsd):
        assert step == steps[k] and data.attributes["time"] == pytest.approx(times[k])
        assert types == ["Cu"] and np.array_equal(pid, ids[order])
        image = periodic_image(data)
        centre = np.asarray(data.attributes["box_center"])
        assert np.allclose(pos + image * edges[k] + centre, x[k][order], atol=1e-5)  # float32
        assert np.allclose(vel, v[k][order], atol=1e-5 * np.abs(v).max())
        assert np.allclose(cell[:, :3], np.diag(edges[k])) and np.allclose(cell[:, 3], -L / 2)
        assert data.cell.pbc == (True, True, True)
    xyz = ovito_frames(ovito_io, tmp_path / "traj.xyz")
    assert len(xyz) == 3
    for k, (step, pid, pos, vel, cell, types, data) in enumerate(xyz):
        assert step == steps[k] and types == ["Cu"] and np.array_equal(pid, ids[order])
        assert np.allclose(pos, x[k][order], atol=1e-12)  # unwrapped, full precision
        assert np.allclose(vel, v[k][order], atol=1e-12)
        assert np.allclose(cell[:, :3], np.diag(edges[k])) and np.allclose(cell[:, 3], 0.0)


@pytest.mark.parametrize("name", ["cu_nve.toml", "ar_coupled_nve.toml"])
def test_the_shipped_cases_default_trajectories_open_in_ovito_and_mdanalysis(
        name, tmp_path, ovito_io, mdanalysis):
    """The trajectories an atomistic and a coupled shipped case write as shipped (run cut
    short): OVITO opens the GSD one, MDAnalysis the H5MD one, each by its name alone, with
    the particles, ids and positions of each other. The coupled model's particles are its
    atoms (blended and padding) and its nodes that are not atoms (type "node"), with the
    blend weight and zone of the geometry, the nodes where the checkpoint has them."""
    steps = {"cu_nve.toml": 20, "ar_coupled_nve.toml": 100}[name]
    case = ROOT / "cases" / name
    out = qc_sim("run", case, "--steps", steps, "--backend", "cpu", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    spec = load_case(case)
    assert spec.output.gsd.endswith(".gsd") and spec.output.trajectory.endswith(".h5md")
    frames, _, ids, x, v, edges = h5md_frames(tmp_path / spec.output.trajectory)
    assert list(frames) == list(range(0, steps + 1, 100))
    gsd = ovito_frames(ovito_io, tmp_path / spec.output.gsd)
    assert [f[0] for f in gsd] == list(frames)
    order = np.argsort(ids)
    for k, (step, pid, pos, vel, cell, types, data) in enumerate(gsd):
        assert np.array_equal(pid, ids[order])
        image = periodic_image(data)
        wrapped = pos + image * edges[k] + np.asarray(data.attributes["box_center"])
        assert np.allclose(wrapped, x[k][order], atol=2e-5 * np.abs(x).max())  # float32
    universe = mdanalysis.Universe(str(tmp_path / spec.output.trajectory))
    assert universe.atoms.n_atoms == len(ids) and len(universe.trajectory) == len(frames)
    if name == "cu_nve.toml":
        assert types == ["Cu"] and len(ids) == 4000
        return
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_coupled, build_potential

    assert types == ["Ar", "node"]
    g = build_coupled(spec, build_potential(spec), get_device("numpy"), check=False)[0].geometry
    na = len(g.atom_sites)
    typeid = np.asarray(data.particles.particle_types[...])
    assert np.array_equal(typeid, (pid >= na).astype(typeid.dtype))
    beta = np.asarray(data.particles["blend_weight"][...])
    zone = np.asarray(data.particles["zone"][...])
    assert np.array_equal(beta[:na], g.atom_beta)
    assert np.array_equal(zone[:na] == 3, g.atom_beta == 0)  # padding: interpolated or a node
    assert np.array_equal(zone[:na][g.atom_beta > 0], g.node_zone[g.atom_node[g.atom_beta > 0]])
    nodes = pid[na:] - na
    assert np.array_equal(beta[na:], g.node_beta[nodes])
    assert np.array_equal(zone[na:], g.node_zone[nodes])
    final = read_checkpoint(tmp_path / spec.output.checkpoint)  # the node positions, step 100
    assert final.step == steps
    assert np.allclose(pos[na:, :2] + np.asarray(data.attributes["box_center"])[:2],
                       final.positions[nodes], atol=2e-5 * np.abs(x).max())
    assert np.all(pos[:, 2] == 0) and data.cell.is2D


def test_a_coupled_static_solve_writes_its_relaxed_atoms_and_nodes(tmp_path, ovito_io,
                                                                  mdanalysis):
    """The shipped edge dislocation dipole run small (a static solve): one frame, step 0, of
    its relaxed atoms and nodes, which OVITO opens from the GSD file the case names and
    MDAnalysis from an H5MD file of the same frame."""
    text = (ROOT / "cases" / "ar_edge_dipole.toml").read_text()
    for old, new in (("repeats = [120, 70, 1]", "repeats = [40, 30, 1]"),
                     ("dipole_planes = 12 ", "dipole_planes = 4 "),
                     ("core_radius = 8.0 ", "core_radius = 3.0 "), ("fmax = 1e-4", "fmax = 1e-2"),
                     ('gsd = "ar_edge_dipole.gsd"',
                      'gsd = "ar_edge_dipole.gsd"\ntrajectory = "dipole.h5md"')):
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "dipole.toml").write_text(text)
    out = qc_sim("run", tmp_path / "dipole.toml", "--backend", "cpu", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    steps, _, ids, x, _, edges = h5md_frames(tmp_path / "dipole.h5md")
    assert list(steps) == [0]
    (step, pid, pos, vel, cell, types, data), = ovito_frames(ovito_io,
                                                             tmp_path / "ar_edge_dipole.gsd")
    assert step == 0 and types == ["Ar", "node"] and np.array_equal(pid, np.sort(ids))
    assert np.allclose(pos + np.asarray(data.attributes["box_center"]), x[0][np.argsort(ids)],
                       atol=2e-5 * np.abs(x).max())
    assert np.all(vel == 0) and data.cell.is2D
    assert mdanalysis.Universe(str(tmp_path / "dipole.h5md")).atoms.n_atoms == len(ids)


def test_extended_xyz_reads_back_in_ase_and_matches_the_h5md(tmp_path):
    import ase.io

    short_run(tmp_path, output='trajectory = "traj.h5md"\nxyz = "traj.xyz"')
    frames = ase.io.read(tmp_path / "traj.xyz", index=":", format="extxyz")
    assert [f.info["Step"] for f in frames] == [0, 10, 20]
    _, _, ids, x, v, _ = h5md_frames(tmp_path / "traj.h5md")
    order = np.argsort(ids)
    for k, frame in enumerate(frames):
        assert list(frame.arrays["id"]) == sorted(ids)
        assert set(frame.get_chemical_symbols()) == {"Cu"}
        assert np.allclose(frame.cell.lengths(), L) and frame.pbc.all()
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
