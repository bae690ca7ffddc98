"""Homogenisation (the periodic cell problem) against exact results and published ones.

References for the numbers below:
- laminate: arithmetic mean along the layers, harmonic mean across (Wiener 1912; Milton
  2002, *The Theory of Composites*, sec. 9.1); exact for the voxel finite volumes with
  harmonic face conductances and for P1 elements conforming to the layers;
- checkerboard: K_eff = sqrt(k1 k2) in 2D (Keller 1964, J. Math. Phys. 5, 548; Dykhne
  1970, Sov. Phys. JETP 32, 63);
- bounds: Hashin & Shtrikman 1962 (J. Appl. Phys. 33, 3125) for isotropic composites, and
  their anisotropic form on the trace (Lurie & Cherkaev 1984, Proc. R. Soc. Edinb. A 99,
  71; Murat & Tartar 1985; Milton 2002, ch. 23), attained by laminates;
- square array of circular cylinders: Rayleigh's multipole formula as truncated by Perrins,
  McKenzie & McPhedran 1979 (Proc. R. Soc. A 369, 207):
  K/k_m = 1 - 2f / (T + f - 0.305827 f^4 T / (T^2 - 1.402958 f^8) - 0.013362 f^8),
  T = (1 + s) / (1 - s), s = k_cyl / k_m. For insulating cylinders at f = 0.5 it gives
  0.324657, the reciprocal (Keller 1964) of the 3.080 of their perfectly conducting table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math

import numpy as np
import pytest

from qc_sim.errors import InputError
from qc_sim.regions.base import Region
from qc_sim.regions.homogenization import (HomogenizationRegion, homogenize_file,
                                           homogenize_image, homogenize_mesh, to_json)
from qc_sim.regions.homogenization_graph import periodic_clusters
from qc_sim.regions.homogenization_mesh import periodic_disk_mesh, periodic_mesh


def tensor(result):
    return np.array(result["effective_tensor"])


def box_cells(n: int, d: int):
    """Points ((n+1)^d, d) of the unit box and its simplices: two triangles per square,
    six tetrahedra (Kuhn) per cube; not yet periodic (the upper faces have their own
    nodes), as a mesh file would hold them."""
    grid = np.stack(np.meshgrid(*[np.arange(n + 1)] * d, indexing="ij"), -1).reshape(-1, d)
    number = lambda c: np.ravel_multi_index(tuple(c.T), (n + 1,) * d)  # noqa: E731
    cells = np.stack(np.meshgrid(*[np.arange(n)] * d, indexing="ij"), -1).reshape(-1, d)
    simplices = []
    for order in itertools.permutations(range(d)):
        corner, path = np.zeros(d, int), [np.zeros(d, int)]
        for axis in order:
            corner = corner.copy()
            corner[axis] = 1
            path.append(corner)
        simplices.append(np.stack([number(cells + c) for c in path], axis=1))
    return grid / n, np.concatenate(simplices)


def element_layer(mesh, n):
    """Index of the x-layer (0 .. n-1) of each element of a box mesh of side n."""
    centroid = mesh.element_coordinates(mesh.nodes).mean(axis=1)
    return np.floor(centroid[:, 0] * n).astype(int) % n


# --- laminates: exact ------------------------------------------------------------------

LAYERS = np.array([0, 1, 1, 2, 0, 2, 2, 1])  # phase of each x-layer
VALUES = [1.0, 3.0, 0.5]
K_LAYER = np.array(VALUES)[LAYERS]
ARITHMETIC, HARMONIC = K_LAYER.mean(), 1.0 / np.mean(1.0 / K_LAYER)


@pytest.mark.parametrize("shape", [(8, 5), (8, 4, 3)])
@pytest.mark.parametrize("solver", ["amg", "jacobi"])
def test_voxel_laminate_is_arithmetic_along_and_harmonic_across(shape, solver):
    image = np.broadcast_to(LAYERS.reshape((-1,) + (1,) * (len(shape) - 1)), shape).copy()
    result = homogenize_image(image, VALUES, solver=solver, backend="numpy")
    expected = np.diag([HARMONIC] + [ARITHMETIC] * (len(shape) - 1))
    np.testing.assert_allclose(tensor(result), expected, rtol=1e-9, atol=1e-12)
    assert result["porosity"] == pytest.approx(np.mean(LAYERS == 0))
    assert result["solver"]["residual"] <= 1e-8


@pytest.mark.parametrize("d", [2, 3])
def test_mesh_laminate_exact_and_read_back_through_meshio(d, tmp_path, meshio):
    n = len(LAYERS)
    points, simplices = box_cells(n, d)
    mesh = periodic_mesh(points, simplices)
    phases = LAYERS[element_layer(mesh, n)]
    result = homogenize_mesh(mesh, phases, VALUES)
    expected = np.diag([HARMONIC] + [ARITHMETIC] * (d - 1))
    np.testing.assert_allclose(tensor(result), expected, rtol=1e-9, atol=1e-12)

    # the same mesh as a file, its upper-face nodes separate: folded back by the reader
    unfolded = np.floor(points[simplices].mean(axis=1)[:, 0] * n).astype(int)
    cell_type = "triangle" if d == 2 else "tetra"
    path = tmp_path / "laminate.vtu"
    xyz = np.column_stack([points, np.zeros(len(points))]) if d == 2 else points
    meshio.write(path, meshio.Mesh(xyz, [(cell_type, simplices)],
                                   cell_data={"phase": [LAYERS[unfolded]]}))
    from_file = homogenize_file(path, VALUES)
    np.testing.assert_allclose(tensor(from_file), expected, rtol=1e-9, atol=1e-12)


def test_laminate_attains_the_anisotropic_hashin_shtrikman_bounds():
    image = np.broadcast_to(np.array([0, 0, 1, 0, 1, 1, 1, 0])[:, None], (8, 3)).copy()
    k1, k2 = 1.0, 7.0
    lower, upper = trace_bounds(tensor(homogenize_image(image, [k1, k2])), k1, k2, 0.5)
    assert lower == pytest.approx(0.0, abs=1e-9) and upper == pytest.approx(0.0, abs=1e-9)


# --- checkerboard: Keller-Dykhne -------------------------------------------------------

def test_checkerboard_converges_to_the_geometric_mean():
    k1, k2 = 1.0, 4.0
    errors = []
    for n in (16, 32, 64, 128):
        half = n // 2
        image = np.zeros((n, n), int)
        image[:half, :half] = image[half:, half:] = 1
        K = tensor(homogenize_image(image, [k1, k2]))
        np.testing.assert_allclose(K, K[0, 0] * np.eye(2), atol=1e-9)  # isotropic
        errors.append(abs(K[0, 0] / math.sqrt(k1 * k2) - 1.0))
    # measured: 2.75%, 1.23%, 0.54%, 0.24% (order ~1.17; corner singularities)
    assert all(b < 0.6 * a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.01


# --- Hashin-Shtrikman bounds for random microstructures ---------------------------------

def trace_bounds(K, k1, k2, f2):
    """Slack (<= 0 inside) of the lower and upper trace bounds for phases k1 < k2 of
    fractions 1 - f2, f2 (Lurie-Cherkaev, Murat-Tartar; Hashin-Shtrikman when isotropic)."""
    d, f1 = len(K), 1.0 - f2
    eye = np.eye(d)
    lower = f2 * np.trace(np.linalg.inv(K - k1 * eye)) - (d / (k2 - k1) + f1 / k1)
    upper = f1 * np.trace(np.linalg.inv(k2 * eye - K)) - (d / (k2 - k1) - f2 / k2)
    return lower, upper


def hashin_shtrikman(k1, k2, f2, d):
    f1 = 1.0 - f2
    return (k1 + f2 / (1.0 / (k2 - k1) + f1 / (d * k1)),
            k2 + f1 / (1.0 / (k1 - k2) + f2 / (d * k2)))


def random_two_phase(shape, fraction, seed, smoothing):
    from scipy import ndimage

    field = np.random.default_rng(seed).standard_normal(shape)
    if smoothing:
        field = ndimage.gaussian_filter(field, smoothing, mode="wrap")
    return (field > np.quantile(field, 1.0 - fraction)).astype(int)


@pytest.mark.parametrize("shape,fraction,smoothing,contrast", [
    ((96, 96), 0.5, 0.0, 10.0), ((96, 96), 0.3, 2.0, 10.0), ((96, 96), 0.6, 3.0, 0.05),
    ((28, 28, 28), 0.3, 1.5, 10.0), ((28, 28, 28), 0.5, 0.0, 0.1)])
def test_random_microstructures_lie_within_the_hashin_shtrikman_bounds(
        shape, fraction, smoothing, contrast):
    image = random_two_phase(shape, fraction, seed=len(shape) + int(10 * fraction),
                             smoothing=smoothing)
    f2 = float(image.mean())
    K = tensor(homogenize_image(image, [1.0, contrast]))
    k1, k2, f_high = (1.0, contrast, f2) if contrast > 1 else (contrast, 1.0, 1.0 - f2)
    lower, upper = trace_bounds(K, k1, k2, f_high)
    assert lower < 0 and upper < 0
    eigen = np.linalg.eigvalsh(K)
    harmonic = 1.0 / ((1 - f_high) / k1 + f_high / k2)
    arithmetic = (1 - f_high) * k1 + f_high * k2
    assert np.all((eigen > harmonic) & (eigen < arithmetic))  # Wiener
    hs_low, hs_high = hashin_shtrikman(k1, k2, f_high, len(shape))
    assert hs_low < eigen.mean() < hs_high


# --- square array of cylinders: Perrins, McKenzie & McPhedran (1979) --------------------

def perrins(f, s):
    t = (1.0 + s) / (1.0 - s)
    return 1.0 - 2.0 * f / (t + f - 0.305827 * f**4 * t / (t * t - 1.402958 * f**8)
                            - 0.013362 * f**8)


def test_perrins_formula_reproduces_their_perfectly_conducting_value():
    # insulating cylinders at f = 0.5 are the reciprocal of perfectly conducting ones (Keller
    # 1964); Perrins et al. tabulate 3.080 for the latter
    assert 1.0 / perrins(0.5, 0.0) == pytest.approx(3.080, abs=5e-4)


@pytest.mark.parametrize("fraction,ratio", [(0.5, 0.0), (0.4, 10.0)])
def test_square_array_of_cylinders_matches_perrins_on_a_conforming_mesh(fraction, ratio):
    reference = perrins(fraction, ratio)
    radius = math.sqrt(fraction / math.pi)
    errors = []
    for h in (0.04, 0.02, 0.01):
        mesh, phases = periodic_disk_mesh(radius, h)
        K = tensor(homogenize_mesh(mesh, phases, [1.0, ratio]))
        assert abs(K[0, 1]) < 1e-3 * K[0, 0]
        errors.append(abs(0.5 * (K[0, 0] + K[1, 1]) / reference - 1.0))
    # measured (0.5, 0): 0.53%, 0.13%, 0.031%; (0.4, 10): 5e-5, 2e-5, 3e-6 (O(h^2): the
    # inscribed polygon's missing area)
    assert errors[-1] < 0.005 and errors[-1] < errors[0], errors


def test_square_array_of_cylinders_voxel_sequence_converges():
    reference = perrins(0.5, 0.0)
    radius = math.sqrt(0.5 / math.pi)
    errors = []
    for n in (64, 128, 256):
        x = (np.arange(n) + 0.5) / n
        inside = (x[:, None] - 0.5) ** 2 + (x[None, :] - 0.5) ** 2 < radius**2
        errors.append(abs(tensor(homogenize_image(inside.astype(int), [1.0, 0.0]))[0, 0]
                          / reference - 1.0))
    # measured: 2.5%, 1.6%, 0.61% (staircase boundary: first order)
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.01, errors


# --- the tensor ---------------------------------------------------------------------------

def test_tensor_is_symmetric_positive_definite_with_off_diagonal_terms():
    from scipy import ndimage

    field = np.random.default_rng(5).standard_normal((24, 20, 16))
    field = ndimage.gaussian_filter(field, (3.0, 1.0, 2.0), mode="wrap")
    image = (field > np.median(field)).astype(int)  # phases 0 (k = 1), 1 (k = 0.02)
    result = homogenize_image(image, [1.0, 0.02])
    K = tensor(result)
    off = np.abs(K - np.diag(np.diag(K))).max()
    assert off > 1e-3 * np.abs(K).max()  # so symmetry says something
    assert np.abs(K - K.T).max() < 1e-7 * np.abs(K).max()
    assert result["solver"]["asymmetry"] < 1e-7
    assert np.all(np.linalg.eigvalsh(0.5 * (K + K.T)) > 0)


def test_stencil_solver_agrees_with_amg():
    """pyamg runs on the CPU whatever the default backend (on a GPU machine too); the
    matrix-free Jacobi-PCG on NumPy and, where there is one, on the GPU."""
    from qc_sim.backend.device import available_backends

    image = random_two_phase((20, 18, 16), 0.45, seed=3, smoothing=1.5)
    amg = tensor(homogenize_image(image, [1.0, 0.0], solver="amg", backend="cpu"))
    for backend in ("numpy", "gpu"):
        if available_backends()[backend] is not None:
            continue
        jacobi = tensor(homogenize_image(image, [1.0, 0.0], solver="jacobi", backend=backend))
        np.testing.assert_allclose(jacobi, amg, rtol=1e-6, atol=1e-9)


# --- percolation ----------------------------------------------------------------------

def test_axis_without_a_percolating_path_has_infinite_tortuosity():
    image = np.ones((12, 10, 9), int)
    image[::4, :, :] = 0  # pore sheets normal to x, separated by insulating solid
    image[2, 3, 3] = 0  # a closed pore
    result = homogenize_image(image)  # default for a 0/1 image: pores 1, solid 0
    assert result["percolating"] == [False, True, True]
    assert result["effective_tensor"][0] == [0.0, 0.0, 0.0]
    assert math.isinf(result["tortuosity"][0])
    eps = (3 * 90 + 1) / image.size
    assert result["porosity"] == pytest.approx(eps)
    # sheets of 3 * 90 voxels carry D0 = 1 along y and z: tau = eps / (270 / N)
    for axis in (1, 2):
        assert result["effective_tensor"][axis][axis] == pytest.approx(270 / image.size)
        assert result["tortuosity"][axis] == pytest.approx(eps * image.size / 270)
    assert "axis x" in result["notes"][0] and "infinite" in result["notes"][0]
    data = json.loads(to_json(result))
    assert data["tortuosity"][0] is None and data["percolating"][0] is False


def test_disconnected_clusters_each_count_and_closed_pores_carry_nothing():
    image = np.ones((10, 12), int)
    image[:, 2] = image[:, 7] = 0  # two separate channels along x
    image[4, 4] = image[5, 10] = 0  # closed pores
    result = homogenize_image(image)
    assert result["solver"]["unknowns"] == 2 * 10 - 2  # one anchor per channel, no pores
    np.testing.assert_allclose(tensor(result), [[20 / 120, 0], [0, 0]], atol=1e-12)
    assert result["tortuosity"][0] == pytest.approx((22 / 120) / (20 / 120))
    assert result["percolating"] == [True, False]


def test_a_loop_winding_twice_around_the_cell_percolates():
    # rows t cover x = 2t, 2t+1, 2t+2 (mod 8): a chain of L = 24 unit conductances whose
    # unwrapped ends differ by W = (16, 8), so K = W W^T / (L N^2), rank one. A test of
    # whether the doubled cell is connected would call this loop non-percolating along x.
    n = 8
    image = np.ones((n, n), int)
    for t in range(n):
        for dx in range(3):
            image[(2 * t + dx) % n, t] = 0
    result = homogenize_image(image)
    w = np.array([16.0, 8.0])
    np.testing.assert_allclose(tensor(result), np.outer(w, w) / (24 * n * n), atol=1e-10)
    assert result["percolating"] == [True, True]


def test_periodic_clusters_winding_detection():
    # node 0 -- node 1 inside the cell, node 1 -- node 0's image one period up along y:
    # one cluster percolating along y only; node 2 alone; nodes 3, 4 joined without winding
    labels, percolating = periodic_clusters(
        5, [0, 1, 3], [1, 0, 4], [[0, 0], [0, 1], [0, 0]])
    assert labels[0] == labels[1] and len(set(labels.tolist())) == 3
    assert percolating[labels[0]].tolist() == [False, True]
    assert not percolating[labels[2]].any() and not percolating[labels[3]].any()


def test_mesh_with_insulating_matrix_percolates_nowhere():
    mesh, phases = periodic_disk_mesh(0.3, 0.05)
    result = homogenize_mesh(mesh, phases, [0.0, 1.0])
    assert result["percolating"] == [False, False]
    assert all(math.isinf(t) for t in result["tortuosity"])
    assert result["effective_tensor"] == [[0.0, 0.0], [0.0, 0.0]]


# --- the region interface ---------------------------------------------------------------

def test_region_exports_and_reimports_phase_values():
    image = np.broadcast_to(LAYERS[:, None], (8, 4)).copy()
    region = HomogenizationRegion(image, VALUES)
    assert isinstance(region, Region) and region.stable_time_step() == math.inf
    np.testing.assert_allclose(region.exports()["effective_tensor"],
                               np.diag([HARMONIC, ARITHMETIC]), rtol=1e-9)
    saved = region.state_fields()
    region.imports({"phase_values": [1.0, 1.0, 1.0]})
    np.testing.assert_allclose(region.exports()["effective_tensor"], np.eye(2), rtol=1e-9)
    region.load_state_fields(saved)
    assert region.thermo()["K_xx"] == pytest.approx(HARMONIC)
    assert region.entity_costs().sum() == image.size


# --- command line and bad input ---------------------------------------------------------

def namespace(path, **kw):
    return argparse.Namespace(input=str(path), phase_values=kw.get("phase_values"),
                              json=kw.get("json", False), backend=kw.get("backend"),
                              solver=None, tol=1e-8, phase_key=None)


def test_cli_json_and_table(tmp_path, capsys):
    from qc_sim.cli.homogenize import add_parser, run_homogenize

    image = np.ones((6, 6), int)
    image[::3, :] = 0
    path = tmp_path / "stripes.npy"
    np.save(path, image)
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["homogenize", str(path), "--json", "--phase-values", "2,0"])
    assert run_homogenize(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"effective_tensor", "porosity", "tortuosity", "percolating"} <= set(data)
    assert data["tortuosity"] == [None, 1.0] and data["percolating"] == [False, True]
    assert data["effective_tensor"][1][1] == pytest.approx(2.0 / 3.0)
    assert run_homogenize(namespace(path)) == 0
    table = capsys.readouterr().out
    assert "porosity" in table and "inf" in table and "note: axis x" in table


@pytest.mark.parametrize("make,values,message", [
    (lambda: np.zeros(5, int), None, "2D or 3D"),
    (lambda: np.zeros((2, 2, 2, 2), int), None, "2D or 3D"),
    (lambda: np.array([[0, 1], [2, 0]]), "1,0", "no conductivity given for phase 2"),
    (lambda: np.array([[0, 1], [1, 0]]), "1,-2", "phase 1"),
    (lambda: np.array([[0, 1], [1, 0]]), "1,x", "not a number"),
    (lambda: np.array([[0.5, 1], [1, 0]]), None, "whole numbers"),
    (lambda: np.array([[0, 1], [1, 0]]), "0,0", "zero conductivity"),
])
def test_bad_voxel_input_raises_input_error(tmp_path, make, values, message):
    from qc_sim.cli.homogenize import run_homogenize

    path = tmp_path / "bad.npy"
    np.save(path, make())
    with pytest.raises(InputError, match=message):
        run_homogenize(namespace(path, phase_values=values))


def test_unreadable_and_non_periodic_files_raise_input_error(tmp_path, meshio):
    from qc_sim.cli.homogenize import run_homogenize

    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not numpy at all")
    with pytest.raises(InputError, match="cannot read"):
        run_homogenize(namespace(garbage))
    with pytest.raises(InputError, match="no such file"):
        run_homogenize(namespace(tmp_path / "missing.npy"))
    junk_mesh = tmp_path / "junk.vtu"
    junk_mesh.write_text("<VTKFile>broken")
    with pytest.raises(InputError, match="cannot read the mesh"):
        run_homogenize(namespace(junk_mesh))
    # a box mesh whose upper x face was nudged: no partners on the opposite face
    points, simplices = box_cells(4, 2)
    points[np.isclose(points[:, 1], 1.0), 0] *= 0.9
    path = tmp_path / "skew.vtu"
    meshio.write(path, meshio.Mesh(np.column_stack([points, np.zeros(len(points))]),
                                   [("triangle", simplices)],
                                   cell_data={"phase": [np.zeros(len(simplices), int)]}))
    with pytest.raises(InputError, match="not periodic"):
        run_homogenize(namespace(path))
