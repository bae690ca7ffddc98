"""Region-physics cases ([region] physics = "bone"): every shipped one runs small with a
pinned figure, restarts bitwise from its checkpoint through the CLI, writes what its output
section asks for, and bad input ends with one line and exit status 2."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from qc_sim.io.checkpoint import read_checkpoint
from test_cli import qc_sim

ROOT = Path(__file__).resolve().parents[1]
REGION_CASES = sorted(c for c in (ROOT / "cases").glob("*.toml") if "[region]" in c.read_text())

# the figure after 6 macro steps, from the run of the shipped case (CPU backend): a change
# here means the model, its parameters or the integrator changed. Pins, our own output; the
# independent references are elsewhere: the Komarova cycle against an independent ODE solver
# (tests/test_bone.py), diffusion_particle against Crank's series in the test below (its
# radial grid is within 5.8e-5 of it at step 6), the porous particle against the plain
# particle with its homogenised material set by hand (test_homogenised_microstructure_...)
PINNED = {
    "bone_single_cell.toml": ("bone_mass", 6, 91.55644962, 1e-9),
    "bone_plate_2d.toml": ("compliance", 6, 197.27828467, 1e-8),
    "bone_block_3d.toml": ("compliance", 6, 8707.22605201, 1e-8),
    "diffusion_particle.toml": ("uptake", 6, 0.22074958051, 1e-9),
    "diffusion_porous_particle.toml": ("uptake", 6, 0.21121990278, 1e-8),
    # mean V of the N-version slab at 6 ms; the whole case's far corner P8 activates at
    # 142.6 ms, cardiacFoam's at the same dx 142.9 ms (tests/test_cardiac.py, slow test)
    "cardiac_n_version.toml": ("V_mean", 6, -82.43477973529697, 1e-9),
    # mean V of the stochastic pacemaker sheet at 60 ms (seed 2009); the whole case beats at
    # the single deterministic cell's cycle (333.7 ms) within its noise (tests/test_cardiac.py)
    "cardiac_pacemaker.toml": ("V_mean", 6, -45.50179512937039, 1e-9),
    # drug A's arm at 24 h with the doses the run chose; within 1e-7 of DOP853 on the
    # written-out equations (tests/test_qsp.py::test_doses_chosen_for_the_combination_...)
    "qsp_combination.toml": ("effect_A", 6, 0.55997835259, 1e-9),
    # the FE specimen's nominal stress (MPa) at 1.5 % strain; the 1D law (Shearer's closed
    # toe for the fibrils plus the neo-Hookean matrix in uniaxial stress, UniaxialLaw) gives
    # 1.6060097119 there, 3.5e-13 away (tests/test_tendon.py holds the two to 1e-9)
    "tendon_recruitment.toml": ("stress", 6, 1.6060097119, 1e-9),
    # the grid-mean surface temperature (degC) after 6 days: brentq on each cell's energy
    # balance from its state 6 h before gives the same to 1e-9 (tests/test_melt_ponds.py)
    "melt_ponds_grid.toml": ("surface_temperature", 6, -6.01308761059239, 1e-9),
}


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("case", REGION_CASES, ids=[c.name for c in REGION_CASES])
def test_every_region_case_runs_small_with_pinned_figure(case, tmp_path):
    out = qc_sim("run", case, "--steps", "6", "--backend", "cpu", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = case.read_text()
    table = tmp_path / text.split('thermo_csv = "')[1].split('"')[0]
    rows = _rows(table)
    key, step, value, tol = PINNED[case.name]
    row = next(r for r in rows if int(r["step"]) == step)
    assert float(row[key]) == pytest.approx(value, rel=tol)
    if case.name == "diffusion_particle.toml":
        # Crank (1975) eq. 6.41 at tau = D t / a^2, L = Da = alpha a / D = 100 (a = 5 µm,
        # D = 0.01 µm^2/s, alpha = 0.2 µm/s): the pin lies 5.8e-5 from the series
        from qc_sim.regions.diffusion_analytic import robin_uptake

        tau = 0.01 * float(row["time"]) / 5.0**2
        assert float(row[key]) == pytest.approx(robin_uptake(tau, 100.0), abs=1e-4)


def test_single_cell_csv_columns_and_the_published_cycle(tmp_path):
    case = ROOT / "cases" / "bone_single_cell.toml"
    out = qc_sim("run", case, "--backend", "cpu", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = _rows(tmp_path / "bone_single_cell.csv")
    assert list(rows[0]) == ["step", "time", "osteoclasts", "osteoblasts", "bone_mass"]
    z = np.array([float(r["bone_mass"]) for r in rows])
    t = np.array([float(r["time"]) for r in rows])
    # Komarova et al. (2003) Fig. 2: one cycle, resorption then formation back to the start;
    # minimum 89.79 % near day 12 (tests/test_bone.py checks it against an independent solver)
    assert z[0] == 100.0 and z.min() < 90.5 and 5 < t[np.argmin(z)] < 25
    assert abs(z[-1] - 100.0) < 0.1


@pytest.mark.parametrize("case", REGION_CASES, ids=[c.name for c in REGION_CASES])
def test_region_restart_continues_bitwise(case, tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    whole.mkdir(), part.mkdir()
    text = case.read_text().replace("divisions = [40, 40]", "divisions = [12, 12]")
    text = text.replace('"microstructures/', f'"{ROOT}/cases/microstructures/')
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith(("checkpoint", "thermo_csv", "mesh", "png")))
    text = text.replace("[output]", '[output]\ncheckpoint = "ck.h5"\nthermo_csv = "t.csv"')
    for folder in (whole, part):
        (folder / "case.toml").write_text(text)
    assert qc_sim("run", whole / "case.toml", "--steps", "8", cwd=whole).returncode == 0
    assert qc_sim("run", part / "case.toml", "--steps", "3", cwd=part).returncode == 0
    out = qc_sim("restart", part / "ck.h5", "--steps", "5", cwd=part)
    assert out.returncode == 0, out.stderr
    a, b = read_checkpoint(whole / "ck.h5"), read_checkpoint(part / "ck.h5")
    assert a.kind == b.kind == "region" and a.step == b.step == 8
    assert set(a.fields) == set(b.fields)
    for name in a.fields:
        assert np.array_equal(a.fields[name], b.fields[name], equal_nan=True), name
    ra, rb = _rows(whole / "t.csv"), _rows(part / "t.csv")
    # the restarted run appends the same thermo rows (the first part also ended with step 3)
    assert [r for r in ra if r["step"] != "3"] == [r for r in rb if r["step"] != "3"]
    assert ra[-1] == rb[-1]


def test_plate_writes_xdmf_density_maps_and_png_frames(tmp_path):
    import meshio

    case = ROOT / "cases" / "bone_plate_2d.toml"
    text = case.read_text().replace("divisions = [40, 40]", "divisions = [10, 10]").replace(
        "trajectory_every = 73", "trajectory_every = 2")
    (tmp_path / "case.toml").write_text(text)
    assert qc_sim("run", tmp_path / "case.toml", "--steps", "4", cwd=tmp_path).returncode == 0
    with meshio.xdmf.TimeSeriesReader(str(tmp_path / "bone_plate_2d.xdmf")) as reader:
        points, cells = reader.read_points_cells()
        data = [reader.read_data(k) for k in range(reader.num_steps)]
    assert len(data) == 3 and len(points) == 121
    t, nodes, elements = data[-1]
    assert t == pytest.approx(40.0)
    density = elements["density"][0]
    assert density.shape == (200,) and np.all((density >= 0.01) & (density <= 1.74))
    assert nodes["displacement"].shape == (121, 2)
    # the last frame's values are the state the checkpoint (step 4) holds: the cells'
    # populations, the density rho_ref z / z_ref (0.8 z / 100, clamped), E = C rho^gamma
    # (100 rho^2 MPa), the stimulus, strain energy and displacements, bit for bit
    final = read_checkpoint(tmp_path / "bone_plate_2d.h5")
    assert final.step == 4
    cells_state = final.fields["cells"]
    for k, name in enumerate(("osteoclasts", "osteoblasts", "bone_mass")):
        assert np.array_equal(elements[name][0], cells_state[:, k]), name
    assert np.allclose(density, np.clip(0.8 * cells_state[:, 2] / 100.0, 0.01, 1.74),
                       rtol=1e-15, atol=0)
    assert np.allclose(elements["young_modulus"][0], 100.0 * density**2, rtol=1e-14, atol=0)
    for name in ("stimulus", "strain_energy_density"):
        assert np.array_equal(elements[name][0], final.fields[name]), name
    assert np.array_equal(nodes["displacement"], final.fields["displacement"])
    assert np.abs(nodes["displacement"]).max() > 0  # a loaded plate: values to compare
    frames = sorted((tmp_path / "bone_plate_2d_frames").glob("*.png"))
    assert [f.name for f in frames] == ["density_000000.png", "density_000002.png",
                                        "density_000004.png"]
    assert frames[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diffusion_case_matches_crank_and_chooses_its_model(tmp_path):
    """At D t / a^2 = 0.1 the full (reaction) model's uptake equals Crank's series (The
    Mathematics of Diffusion, ch. 6, sphere with surface evaporation, L = Da) to 1e-4; at a
    Damköhler number 100x larger the reduced model's error (1.16/Da) falls below the
    tolerance and the run switches to it, and matches the constant-surface series."""
    from qc_sim.regions.diffusion_analytic import dirichlet_uptake, robin_uptake

    case = ROOT / "cases" / "diffusion_particle.toml"
    out = qc_sim("run", case, "--backend", "cpu", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "model full: Damköhler number 100," in out.stdout
    final = _rows(tmp_path / "diffusion_particle.csv")[-1]
    assert float(final["time"]) == pytest.approx(250.0)
    assert abs(float(final["uptake"]) - robin_uptake(0.1, 100.0)) < 1e-4
    fast = tmp_path / "fast.toml"
    fast.write_text(case.read_text().replace("alpha = 0.2 ", "alpha = 20.0 "))
    out = qc_sim("run", fast, "--backend", "cpu", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "model reduced: Damköhler number 1e+04," in out.stdout
    final = _rows(tmp_path / "diffusion_particle.csv")[-1]
    assert abs(float(final["uptake"]) - dirichlet_uptake(0.1)) < 1e-4
    assert abs(float(final["uptake"]) - robin_uptake(0.1, 1e4)) < 1e-3  # the tolerance


@pytest.mark.parametrize("suffix", [".vtu", ".msh"])
def test_bone_on_a_mesh_file_equals_the_built_in_block(tmp_path, suffix):
    """Any mesh meshio reads: the block's grid written to a file (VTK, Gmsh) and run as
    geometry "file", clamped on xlo and sheared on xhi, gives the block case's numbers."""
    import meshio

    from qc_sim.regions.bone import grid_mesh

    mesh = grid_mesh((60.0, 20.0, 20.0), (6, 2, 2))
    meshio.write(tmp_path / f"block{suffix}", meshio.Mesh(mesh.nodes, [("tetra", mesh.elements)]),
                 **({"file_format": "gmsh22", "binary": False} if suffix == ".msh" else {}))
    block = (ROOT / "cases" / "bone_block_3d.toml").read_text().replace(
        "divisions = [12, 4, 4]", "divisions = [6, 2, 2]")
    (tmp_path / "block.toml").write_text(block.replace('"bone_block_3d', '"a'))
    from_file = block.replace('geometry = "block"', 'geometry = "file"').replace(
        "divisions = [6, 2, 2]\n", "").replace("size = [60.0, 20.0, 20.0] # mm\n", "")
    from_file = from_file.replace("[bone]\n", f'[bone]\nmesh_file = "block{suffix}"\n'
                                  'fixed_side = "xlo"\nload_side = "xhi"\n'
                                  "traction = [0.0, 0.0, -1.0]\n")
    (tmp_path / "file.toml").write_text(from_file.replace('"bone_block_3d', '"b'))
    for name in ("block", "file"):
        out = qc_sim("run", tmp_path / f"{name}.toml", "--steps", "4", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    a, b = _rows(tmp_path / "a.csv"), _rows(tmp_path / "b.csv")
    assert len(a) == len(b) == 2
    for key in ("mean_density", "compliance"):
        assert float(b[-1][key]) == pytest.approx(float(a[-1][key]), rel=1e-10), key
    wrong = from_file.replace('load_side = "xhi"', 'load_side = "xlo"')
    (tmp_path / "wrong.toml").write_text(wrong)
    out = qc_sim("run", tmp_path / "wrong.toml", cwd=tmp_path)
    assert out.returncode == 2 and "[bone.load_side]" in out.stderr


def test_homogenised_microstructure_sets_the_particle_material(tmp_path):
    """One run: the image is homogenised (the same tensor as qc-sim homogenize), then the
    particle runs with D = D_pore K_eff / eps; equal to the plain particle case run with
    that diffusivity and alpha / eps by hand. An anisotropic microstructure is refused."""
    import json

    case = ROOT / "cases" / "diffusion_porous_particle.toml"
    image = ROOT / "cases" / "microstructures" / "sc_spheres_32.npy"
    micro = json.loads(qc_sim("homogenize", image, "--json").stdout)
    k, eps = micro["effective_tensor"][0][0], micro["porosity"]
    out = qc_sim("run", case, "--backend", "cpu", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"porosity {eps:.4g}" in out.stdout and f"K_eff/K_pore {k:.4g}" in out.stdout
    plain = (ROOT / "cases" / "diffusion_particle.toml").read_text()
    plain = plain.replace("diffusivity = 0.01 ", f"diffusivity = {0.01 * k / eps!r} ")
    plain = plain.replace("alpha = 0.2 ", f"alpha = {0.2 / eps!r} ")
    (tmp_path / "plain.toml").write_text(plain)
    assert qc_sim("run", tmp_path / "plain.toml", "--backend", "cpu", cwd=tmp_path).returncode == 0
    a = _rows(tmp_path / "diffusion_porous_particle.csv")[-1]
    b = _rows(tmp_path / "diffusion_particle.csv")[-1]
    assert float(a["uptake"]) == pytest.approx(float(b["uptake"]), rel=1e-9)
    layered = np.zeros((16, 16, 16), np.int8)
    layered[:, :, ::4] = 1  # solid sheets across z: no path along z
    np.save(tmp_path / "layers.npy", layered)
    (tmp_path / "bad.toml").write_text(case.read_text().replace(
        "microstructures/sc_spheres_32.npy", str(tmp_path / "layers.npy")))
    bad = qc_sim("run", tmp_path / "bad.toml", cwd=tmp_path)
    assert bad.returncode == 2 and "[diffusion.microstructure]" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


BAD = [
    ("[bone]\nrho_min = 1.0\nrho_max = 0.5", "bone.rho_min"),
    ("[bone]\ngamma = -1.0", "bone.gamma"),
    ("[bone]\nC = 0.0", "bone.C"),
    ("[bone]\ngeometry = \"plate\"\ndivisions = [10, 10, 10]", "bone.divisions"),
    ("[bone]\ngeometry = \"plate\"\ndivisions = [10, 12]", "bone.divisions"),
    ("[bone]\ngeometry = \"point\"\nlaw = \"stimulus\"", "bone.law"),
    ("[bone]\ngeometry = \"moon\"", "bone.geometry"),
    ("[bone]\nlaw = \"komarov\"", "bone.law"),
    ("[bone]\nbias_amplitude = 1.5", "bone.bias_amplitude"),
    ("[bone]\ndensity = 3.0", "bone.density"),
    ("[bone]\nsize = [-1.0, 2.0]\ngeometry = \"bar\"", "bone.size"),
    ("", "region.physics"),  # no [bone] section
    ("[bone]\n[lattice]\nkind = \"fcc\"", "lattice"),
]
DIFFUSION_BAD = [
    ("diffusivity = -0.01", "diffusion.diffusivity"),
    ("radius = 0.0", "diffusion.radius"),
    ("model = \"full\"", "diffusion.alpha"),
    ("alpha = 0.1\nc_eq = 0.0", "diffusion.c_eq"),
    ("alpha = 0.1\nprefactor = 1.0", "diffusion.temperature"),
    ("alpha = 0.1\ntolerance = 2.0", "diffusion.tolerance"),
    ("alpha = 0.1\nmass = \"consistent\"", "diffusion.mass"),
    ("alpha = 0.1\ndiscretisation = \"mesh\"\nmesh_spacing = 10.0", "diffusion.mesh_spacing"),
    ("alpha = 0.1\ncells = 1", "diffusion.cells"),
    ("alpha = 0.1\nmodel = \"fast\"", "diffusion.model"),
]


CASES_BAD = ([("bone", extra, key) for extra, key in BAD]
             + [("diffusion", f"[diffusion]\n{extra}", key) for extra, key in DIFFUSION_BAD])


@pytest.mark.parametrize("physics,extra,key", CASES_BAD, ids=[k for _, _, k in CASES_BAD])
def test_bad_region_input_is_one_line_with_status_2(tmp_path, physics, extra, key):
    case = tmp_path / "bad.toml"
    case.write_text(f"[region]\nphysics = \"{physics}\"\nend_time = 10.0\ndt = 1.0\n{extra}\n")
    for command in ("validate", "run"):
        out = qc_sim(command, case, cwd=tmp_path)
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and f"[{key}" in lines[0] and "Traceback" not in out.stderr
