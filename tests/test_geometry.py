"""Geometry: lattices, oriented cells, the crystal builder, random alloys and regions.

Every neighbour count below comes from an all-pairs minimum-image computation on a built
periodic crystal (Box.minimum_image), not from the lattice's own nearest_neighbor_distance.
"""

from __future__ import annotations

import numpy as np
import pytest

from qc_sim.geometry import (
    Atoms,
    Block,
    Cylinder,
    HalfSpace,
    Sphere,
    bcc,
    build_crystal,
    cut,
    fcc,
    keep,
    oriented_cell,
    random_alloy,
    simple_cubic,
    tag,
    triangular,
)
from qc_sim.geometry.lattice import period

A = 3.61  # Cu-like lattice constant, Å
S2, S3, S6 = np.sqrt(2.0), np.sqrt(3.0), np.sqrt(6.0)
INF = np.inf

LATTICES = {"fcc": fcc, "bcc": bcc, "sc": simple_cubic}

# First three neighbour shells of the bulk lattices: (radius / a, number of sites).
BULK_SHELLS = {
    "fcc": [(1 / S2, 12), (1.0, 6), (np.sqrt(1.5), 24)],
    "bcc": [(S3 / 2, 8), (1.0, 6), (S2, 12)],
    "sc": [(1.0, 6), (S2, 12), (S3, 8)],
}

ORIENTATIONS = [
    [[1, -1, 0], [1, 1, -2], [1, 1, 1]],
    [[1, 0, 0], [0, 1, 1], [0, -1, 1]],
    [[1, 1, 0], [-1, 1, 0], [0, 0, 1]],
    [[1, 1, 2], [-1, 1, 0], [-1, -1, 1]],
    [[2, -1, -1], [0, 1, -1], [1, 1, 1]],
    [[1, -1, 0], [-1, -1, 2], [-1, -1, -1]],
    [[0, 0, 1], [1, 0, 0], [0, 1, 0]],
    [[-1, 1, 0], [0, 0, 1], [1, 1, 0]],
    [[3, 1, 0], [-1, 3, 0], [0, 0, 1]],
    [[1, 2, 3], [-1, -1, 1], [5, -4, 1]],
    [[2, 0, 0], [0, 2, 2], [0, -3, 3]],  # not reduced: same cell as [100],[011],[0-11]
]

# Periods (in units of a) of reduced Miller directions: fcc, bcc, sc.
PERIODS = {
    (1, 0, 0): (1.0, 1.0, 1.0),
    (1, 1, 0): (1 / S2, S2, S2),
    (1, 1, 1): (S3, S3 / 2, S3),
    (1, 1, 2): (S6 / 2, S6, S6),
    (3, 1, 0): (np.sqrt(10) / 2, np.sqrt(10), np.sqrt(10)),
    (1, 2, 3): (np.sqrt(14) / 2, np.sqrt(14), np.sqrt(14)),
}


def pair_distances(atoms: Atoms) -> np.ndarray:
    """(n, n) minimum-image distances; the diagonal is set to inf."""
    x = atoms.positions
    d = atoms.box.minimum_image(x[None, :, :] - x[:, None, :])
    r = np.sqrt(np.einsum("ijk,ijk->ij", d, d))
    np.fill_diagonal(r, np.inf)
    return r


def neighbour_rows(atoms: Atoms, rmax: float) -> list[np.ndarray]:
    """Per atom, the sorted distances of all neighbours within rmax (plus round-off)."""
    r = pair_distances(atoms)
    return [np.sort(row[row <= rmax * (1 + 1e-9)]) for row in r]


def expected_row(name: str, a: float) -> np.ndarray:
    return np.concatenate([np.full(n, s * a) for s, n in BULK_SHELLS[name]])


# ---------------------------------------------------------------------------------------------
# 1. sites per conventional cell, nearest neighbours
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, sites, nn_over_a, coordination", [
    ("fcc", 4, 1 / S2, 12),
    ("bcc", 2, S3 / 2, 8),
    ("sc", 1, 1.0, 6),
])
def test_cubic_sites_and_nearest_neighbours(name, sites, nn_over_a, coordination):
    lat = LATTICES[name](A)
    assert len(lat.basis) == sites
    assert len(build_crystal(lat, (1, 1, 1))) == sites
    assert lat.atomic_volume == pytest.approx(A**3 / sites, rel=1e-12)
    assert lat.nearest_neighbor_distance == pytest.approx(nn_over_a * A, rel=1e-12)

    atoms = build_crystal(lat, (3, 3, 3))
    assert len(atoms) == 27 * sites
    r = pair_distances(atoms)
    rmin = r.min(axis=1)
    np.testing.assert_allclose(rmin, nn_over_a * A, rtol=1e-12)
    counts = np.sum(np.abs(r - nn_over_a * A) < 1e-9 * A, axis=1)
    assert np.all(counts == coordination)


def test_triangular_sites_and_nearest_neighbours():
    a = 2.5
    lat = triangular(a)
    assert len(lat.basis) == 2
    assert lat.dimension == 2
    assert lat.atomic_volume == pytest.approx(a * a * S3 / 2, rel=1e-12)  # area per site
    assert lat.nearest_neighbor_distance == pytest.approx(a, rel=1e-12)

    atoms = build_crystal(lat, (3, 3, 1))
    assert len(atoms) == 18
    r = pair_distances(atoms)
    np.testing.assert_allclose(r.min(axis=1), a, rtol=1e-12)
    assert np.all(np.sum(np.abs(r - a) < 1e-9 * a, axis=1) == 6)
    # second shell (6 sites at a*sqrt(3)) needs a box wider than 2*sqrt(3)*a: 4a x 3*sqrt(3)a
    r = pair_distances(build_crystal(lat, (4, 3, 1)))
    assert np.all(np.sum(np.abs(r - a) < 1e-9 * a, axis=1) == 6)
    assert np.all(np.sum(np.abs(r - a * S3) < 1e-9 * a, axis=1) == 6)
    assert np.all(np.sum((r > 1.01 * a) & (r < 0.99 * a * S3), axis=1) == 0)


# ---------------------------------------------------------------------------------------------
# 2. oriented cells
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("direction", list(PERIODS))
def test_periods_along_miller_directions(direction):
    for k, name in enumerate(("fcc", "bcc", "sc")):
        lat = LATTICES[name](A)
        assert period(lat, direction) == pytest.approx(PERIODS[direction][k] * A, rel=1e-12)
        # a multiple or a reversed direction has the same period
        assert period(lat, [-2 * v for v in direction]) == pytest.approx(
            PERIODS[direction][k] * A, rel=1e-12)


@pytest.mark.parametrize("name", ["fcc", "bcc", "sc"])
def test_oriented_cell_known_lengths(name):
    lat = LATTICES[name](A)
    k = ("fcc", "bcc", "sc").index(name)
    _, L = oriented_cell(lat, [[1, -1, 0], [1, 1, -2], [1, 1, 1]])
    np.testing.assert_allclose(
        L, [PERIODS[(1, 1, 0)][k] * A, PERIODS[(1, 1, 2)][k] * A, PERIODS[(1, 1, 1)][k] * A],
        rtol=1e-12)
    _, L = oriented_cell(lat, [[1, 1, 0], [-1, 1, 0], [0, 0, 1]])
    np.testing.assert_allclose(L, [PERIODS[(1, 1, 0)][k] * A] * 2 + [A], rtol=1e-12)
    x, L = oriented_cell(lat)
    np.testing.assert_allclose(L, [A, A, A], rtol=0)
    np.testing.assert_allclose(x, lat.basis[np.lexsort(lat.basis.T)] * A, atol=0)


def test_oriented_cell_fcc_111_numbers():
    x, L = oriented_cell(fcc(A), [[1, -1, 0], [1, 1, -2], [1, 1, 1]])
    assert len(x) == 6  # 1.5 a^3 / (a^3 / 4)
    # three (111) layers, a/sqrt(3) apart, two sites each
    np.testing.assert_allclose(np.unique(np.round(x[:, 2], 9)), [0, A / S3, 2 * A / S3],
                               atol=1e-12)


@pytest.mark.parametrize("orientation", ORIENTATIONS, ids=lambda o: str(o).replace(" ", ""))
@pytest.mark.parametrize("name", ["fcc", "bcc", "sc"])
def test_oriented_cell_is_the_bulk_crystal(name, orientation):
    lat = LATTICES[name](A)
    x, L = oriented_cell(lat, orientation)

    # size: one site per atomic volume
    n_expected = np.prod(L) / lat.atomic_volume
    assert abs(n_expected - round(n_expected)) < 1e-9
    assert len(x) == round(n_expected)
    # inside [0, L), sorted by z, then y, then x
    assert np.all(x >= 0) and np.all(x < L)
    key = np.round(x / 1e-6).astype(np.int64)
    assert np.array_equal(np.lexsort((key[:, 0], key[:, 1], key[:, 2])), np.arange(len(x)))
    # each site, rotated back, is a lattice site (fractional part equals a basis vector)
    dirs = np.asarray(orientation, float)
    rot = dirs / np.linalg.norm(dirs, axis=1)[:, None]
    frac = (x @ rot) @ np.linalg.inv(lat.cell)
    frac = frac - np.floor(frac + 1e-9)
    match = np.all(np.abs(frac[:, None, :] - lat.basis[None, :, :]) < 1e-9, axis=2)
    assert np.all(match.sum(axis=1) == 1)
    # the cell length along each axis is a lattice period of that direction
    for d, length in zip(orientation, L):
        assert length == pytest.approx(period(lat, d), rel=1e-12)

    # periodic crystal with box > 2 * third-shell radius on every axis
    r3 = BULK_SHELLS[name][2][0] * A
    repeats = tuple(int(np.floor(2.2 * r3 / length)) + 1 for length in L)
    atoms = build_crystal(lat, repeats, orientation=orientation)
    assert np.all(atoms.box.lengths > 2 * r3)
    assert len(atoms) == len(x) * np.prod(repeats)
    reference = neighbour_rows(build_crystal(lat, (4, 4, 4)), r3)[0]
    np.testing.assert_allclose(reference, expected_row(name, A), rtol=1e-12)
    rows = neighbour_rows(atoms, r3)
    assert all(len(row) == len(reference) for row in rows)
    np.testing.assert_allclose(np.array(rows), np.broadcast_to(reference, (len(rows),
                                                                           len(reference))),
                               rtol=1e-9)
    coordination = np.sum(pair_distances(atoms) <= lat.nearest_neighbor_distance * (1 + 1e-9),
                          axis=1)
    assert np.all(coordination == BULK_SHELLS[name][0][1])


@pytest.mark.parametrize("bad, message", [
    ([[1, 1, 0], [1, 0, 0], [0, 0, 1]], "not orthogonal"),
    ([[1, -1, 0], [1, 1, -2], [1, 1, 0]], "not orthogonal"),
    ([[1, 0, 0], [0, 0, 1], [0, 1, 0]], "left-handed"),
    ([[1, -1, 0], [1, 1, -2], [-1, -1, -1]], "left-handed"),
    ([[1, 0.5, 0], [0, 1, 0], [0, 0, 1]], "three integers"),
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.2]], "three integers"),
    ([[0, 0, 0], [0, 1, 0], [0, 0, 1]], "not all zero"),
    ([[1, 0], [0, 1, 0], [0, 0, 1]], "three integers"),
    ([[1, 0, 0], [0, 1, 0]], "three Miller directions"),
])
def test_oriented_cell_rejects_bad_orientations(bad, message):
    for lat in (fcc(A), bcc(A), simple_cubic(A)):
        with pytest.raises(ValueError, match=message):
            oriented_cell(lat, bad)
        with pytest.raises(ValueError, match=message):
            build_crystal(lat, orientation=bad)


def test_triangular_takes_no_orientation_but_the_identity():
    x, lengths = oriented_cell(triangular(2.5), [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    x0, lengths0 = oriented_cell(triangular(2.5))
    assert np.array_equal(x, x0) and np.array_equal(lengths, lengths0)
    with pytest.raises(ValueError, match="fixed orientation"):
        oriented_cell(triangular(2.5), [[0, 1, 0], [-1, 0, 0], [0, 0, 1]])


# ---------------------------------------------------------------------------------------------
# 3. build_crystal
# ---------------------------------------------------------------------------------------------

def test_build_crystal_numbering_box_and_masses():
    atoms = build_crystal(fcc(A), (2, 3, 4), species=("Cu",))
    n = 4 * 2 * 3 * 4
    assert len(atoms) == n == 96
    assert np.array_equal(atoms.ids, np.arange(n))
    assert atoms.ids.dtype == np.int64
    assert np.all(atoms.types == 0)
    assert atoms.species == ("Cu",)
    np.testing.assert_array_equal(atoms.masses, [63.546])
    np.testing.assert_array_equal(atoms.atom_masses, np.full(n, 63.546))
    assert atoms.box.lo == (0.0, 0.0, 0.0)
    np.testing.assert_allclose(atoms.box.hi, (2 * A, 3 * A, 4 * A), rtol=1e-15)
    assert atoms.box.periodic == (True, True, True)
    assert atoms.dimension == 3
    assert atoms.velocities is None and atoms.tags == {}

    # within a cell: sorted z, y, x; cells: x fastest, z slowest
    h = A / 2
    expected = {0: (0, 0, 0), 1: (h, h, 0), 2: (h, 0, h), 3: (0, h, h),
                4: (A, 0, 0), 5: (A + h, h, 0), 8: (0, A, 0), 12: (A, A, 0),
                24: (0, 0, A), 27: (0, h, A + h), 95: (A + 0, 2 * A + h, 3 * A + h)}
    for i, p in expected.items():
        np.testing.assert_allclose(atoms.positions[i], p, atol=1e-12)
    cell = np.arange(n) // 4
    cell_index = np.stack([cell % 2, (cell // 2) % 3, cell // 6], axis=1)
    cell_x, _ = oriented_cell(fcc(A))
    np.testing.assert_allclose(atoms.positions, cell_index * A + np.tile(cell_x, (24, 1)),
                               atol=1e-12)
    assert np.all(np.diff(cell // 6) >= 0)
    lo, hi = np.asarray(atoms.box.lo), np.asarray(atoms.box.hi)
    assert np.all(atoms.positions >= lo) and np.all(atoms.positions < hi)


def test_build_crystal_origin_and_periodic_flags():
    base = build_crystal(bcc(2.87), (3, 2, 2))
    shifted = build_crystal(bcc(2.87), (3, 2, 2), origin=(1.5, -2.0, 10.0),
                            periodic=(True, False, True))
    assert len(base) == len(shifted) == 24
    np.testing.assert_allclose(shifted.positions - base.positions,
                               np.tile([1.5, -2.0, 10.0], (24, 1)), atol=1e-12)
    assert shifted.box.lo == (1.5, -2.0, 10.0)
    np.testing.assert_allclose(shifted.box.hi, (1.5 + 3 * 2.87, -2.0 + 2 * 2.87,
                                                10.0 + 2 * 2.87), rtol=1e-15)
    assert shifted.box.periodic == (True, False, True)
    assert np.array_equal(shifted.ids, np.arange(24))


def test_build_crystal_oriented_box():
    atoms = build_crystal(fcc(A), (2, 1, 3), orientation=[[1, -1, 0], [1, 1, -2], [1, 1, 1]])
    assert len(atoms) == 6 * 6
    np.testing.assert_allclose(atoms.box.hi, (2 * A / S2, A * S6 / 2, 3 * A * S3), rtol=1e-12)
    assert atoms.box.volume == pytest.approx(36 * A**3 / 4, rel=1e-12)


def test_species_masses():
    assert build_crystal(fcc(A)).masses.tolist() == [1.0]  # generic "X"
    assert build_crystal(fcc(A), species=("Ni",)).masses.tolist() == [58.6934]
    assert build_crystal(fcc(A), species=("Cu",), masses=[60.0]).masses.tolist() == [60.0]
    assert build_crystal(fcc(A), species=("Qq",), masses=(12.5,)).masses.tolist() == [12.5]
    with pytest.raises(ValueError, match="not chemical elements"):
        build_crystal(fcc(A), species=("Qq",))
    with pytest.raises(ValueError, match="masses must be positive"):
        build_crystal(fcc(A), species=("Cu",), masses=[0.0])
    with pytest.raises(ValueError, match="1 species but 2 masses"):
        build_crystal(fcc(A), species=("Cu",), masses=[1.0, 2.0])
    with pytest.raises(ValueError, match="random_alloy"):
        build_crystal(fcc(A), species=("Cu", "Ni"))


@pytest.mark.parametrize("repeats", [(0, 1, 1), (1, -1, 1), (1, 1)])
def test_build_crystal_rejects_bad_repeats(repeats):
    with pytest.raises(ValueError, match="repeats"):
        build_crystal(fcc(A), repeats)


def test_build_crystal_triangular_2d():
    a = 2.5
    atoms = build_crystal(triangular(a), (4, 3, 1), periodic=(True, True, True))
    assert len(atoms) == 24
    assert atoms.dimension == 2
    assert np.all(atoms.positions[:, 2] == 0.0)
    assert atoms.box.periodic == (True, True, False)  # z forced open
    assert atoms.box.lo == (0.0, 0.0, -a / 2)
    np.testing.assert_allclose(atoms.box.hi, (4 * a, 3 * a * S3, a / 2), rtol=1e-15)
    np.testing.assert_allclose(atoms.positions[:3], [[0, 0, 0], [a / 2, a * S3 / 2, 0],
                                                     [a, 0, 0]], atol=1e-12)
    open_x = build_crystal(triangular(a), (4, 3, 1), periodic=(False, True, False))
    assert open_x.box.periodic == (False, True, False)
    with pytest.raises(ValueError, match=r"repeats \(nx, ny, 1\)"):
        build_crystal(triangular(a), (2, 2, 2))


# ---------------------------------------------------------------------------------------------
# 4. random_alloy
# ---------------------------------------------------------------------------------------------

@pytest.fixture()
def cu108():
    return build_crystal(fcc(A), (3, 3, 3), species=("Cu",))


def test_random_alloy_counts_and_copies(cu108):
    base_pos = cu108.positions.copy()
    alloy = random_alloy(cu108, ("Cu", "Ni"), (0.7, 0.3), seed=11)
    # 0.7 * 108 = 75.6, 0.3 * 108 = 32.4 -> 76 / 32
    assert np.bincount(alloy.types, minlength=2).tolist() == [76, 32]
    assert alloy.types.dtype == np.int32
    assert alloy.species == ("Cu", "Ni")
    np.testing.assert_array_equal(alloy.masses, [63.546, 58.6934])
    assert np.count_nonzero(alloy.atom_masses == 58.6934) == 32
    np.testing.assert_array_equal(alloy.positions, base_pos)
    np.testing.assert_array_equal(alloy.ids, np.arange(108))
    assert alloy.positions is not cu108.positions and alloy.ids is not cu108.ids
    assert alloy.box == cu108.box and alloy.dimension == 3
    assert np.all(cu108.types == 0)  # the input is untouched
    # the permutation is PCG64(seed)'s, as documented
    reference = np.random.Generator(np.random.PCG64(11)).permutation(
        np.repeat(np.arange(2, dtype=np.int32), [76, 32]))
    np.testing.assert_array_equal(alloy.types, reference)


@pytest.mark.parametrize("fractions, counts", [
    ((0.5, 0.5), [54, 54]),
    ((0.3, 0.7), [32, 76]),
    ((3, 7), [32, 76]),  # fractions are normalised
    ((0.5, 0.3, 0.2), [54, 32, 22]),  # 54, 32.4, 21.6
    ((1.0, 0.0), [108, 0]),
    ((0.995, 0.005), [107, 1]),  # 107.46, 0.54
])
def test_random_alloy_exact_counts(cu108, fractions, counts):
    species = ("Cu", "Ni", "Al")[: len(fractions)]
    alloy = random_alloy(cu108, species, fractions, seed=3)
    assert np.bincount(alloy.types, minlength=len(counts)).tolist() == counts


def test_random_alloy_largest_remainder_rule():
    # 10 atoms, 0.14/0.14/0.72 -> 1.4, 1.4, 7.2: floors 1, 1, 7 and the one leftover atom goes
    # to the largest remainder (0.4, first in order), not to the largest fraction.
    atoms = build_crystal(simple_cubic(1.0), (10, 1, 1))
    alloy = random_alloy(atoms, ("Cu", "Ni", "Al"), (0.14, 0.14, 0.72), seed=0)
    assert np.bincount(alloy.types, minlength=3).tolist() == [2, 1, 7]
    # 3 atoms, 0.18/0.22/0.6 -> 0.54, 0.66, 1.8: plain rounding would give 1 + 1 + 2 = 4 atoms;
    # floors 0, 0, 1 plus the two largest remainders (0.8, 0.66) give 0, 1, 2.
    three = build_crystal(simple_cubic(1.0), (3, 1, 1))
    alloy = random_alloy(three, ("Cu", "Ni", "Al"), (0.18, 0.22, 0.6), seed=0)
    assert np.bincount(alloy.types, minlength=3).tolist() == [0, 1, 2]


def test_random_alloy_seed(cu108):
    a1 = random_alloy(cu108, ("Cu", "Ni"), (0.7, 0.3), seed=42)
    a2 = random_alloy(cu108, ("Cu", "Ni"), (0.7, 0.3), seed=42)
    a3 = random_alloy(cu108, ("Cu", "Ni"), (0.7, 0.3), seed=43)
    np.testing.assert_array_equal(a1.types, a2.types)
    assert np.count_nonzero(a1.types != a3.types) > 10
    assert np.bincount(a3.types).tolist() == [76, 32]


def test_random_alloy_masses_and_errors(cu108):
    alloy = random_alloy(cu108, ("A", "B"), (0.5, 0.5), seed=1, masses=(10.0, 20.0))
    np.testing.assert_array_equal(alloy.masses, [10.0, 20.0])
    assert alloy.atom_masses.sum() == pytest.approx(54 * 10.0 + 54 * 20.0)
    with pytest.raises(ValueError, match="not chemical elements"):
        random_alloy(cu108, ("A", "B"), (0.5, 0.5), seed=1)
    with pytest.raises(ValueError, match="one non-negative fraction"):
        random_alloy(cu108, ("Cu", "Ni"), (1.0,), seed=1)
    with pytest.raises(ValueError, match="one non-negative fraction"):
        random_alloy(cu108, ("Cu", "Ni"), (1.2, -0.2), seed=1)
    with pytest.raises(ValueError, match="one non-negative fraction"):
        random_alloy(cu108, ("Cu", "Ni"), (0.0, 0.0), seed=1)


# ---------------------------------------------------------------------------------------------
# 5. regions
# ---------------------------------------------------------------------------------------------

def test_sphere_contains():
    s = Sphere((1.0, -2.0, 0.5), 2.0)
    pts = np.array([[1, -2, 0.5], [3, -2, 0.5], [1, -2, -1.5], [1 + 1.2, -2 + 1.6, 0.5],
                    [3 + 1e-6, -2, 0.5], [2.5, -0.5, 0.5], [1, 0.0001, 0.5]])
    assert s.contains(pts).tolist() == [True, True, True, True, False, False, False]


def test_block_contains():
    b = Block((0.0, 0.0, 0.0), (1.0, 2.0, 3.0))
    pts = np.array([[0, 0, 0], [1, 2, 3], [0.5, 1, 1.5], [1, 0, 3], [1 + 1e-7, 1, 1],
                    [0.5, -1e-7, 1], [0.5, 1, 3.5]])
    assert b.contains(pts).tolist() == [True, True, True, True, False, False, False]
    slab = Block((-INF, -INF, 0.0), (INF, INF, 1.0))
    assert slab.contains([[1e9, -1e9, 0.5], [0, 0, 1.0], [0, 0, 1.01]]).tolist() == \
        [True, True, False]


def test_cylinder_contains():
    c = Cylinder((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), 1.0)  # infinite
    pts = [[1, 0, 100], [0.6, -0.8, -50], [0, 0, 0], [1.01, 0, 0], [0.75, 0.75, 0]]
    assert c.contains(pts).tolist() == [True, True, True, False, False]
    capped = Cylinder((1.0, 1.0, 1.0), (0.0, 0.0, 5.0), 1.0, lo=0.0, hi=2.0)
    pts = [[1, 1, 1], [1, 1, 3], [2, 1, 2], [1, 1, 3.01], [1, 1, 0.99], [2.01, 1, 2]]
    assert capped.contains(pts).tolist() == [True, True, True, False, False, False]
    oblique = Cylinder((0.0, 0.0, 0.0), (1.0, 1.0, 0.0), 1.0)
    pts = [[5, 5, 0], [S2 / 2, -S2 / 2, 0], [0, 0, 1], [3, 3, 1], [0, 0, 1.1], [1, -1, 0]]
    assert oblique.contains(pts).tolist() == [True, True, True, True, False, False]


def test_halfspace_contains():
    h = HalfSpace((0.0, 0.0, 1.0), (0.0, 0.0, 3.0))  # z <= 1
    assert h.contains([[5, 5, 1], [0, 0, -10], [0, 0, 1.0001]]).tolist() == [True, True, False]
    oblique = HalfSpace((1.0, 0.0, 0.0), (1.0, 1.0, 0.0))  # x + y <= 1
    pts = [[0, 1, 7], [0.5, 0.5, 0], [0, 0, 0], [1, 0.1, 0], [2, -0.5, 0]]
    assert oblique.contains(pts).tolist() == [True, True, True, False, False]


def test_region_combinators():
    a = Sphere((0.0, 0.0, 0.0), 1.0)
    b = Block((0.0, -5.0, -5.0), (5.0, 5.0, 5.0))
    #       a only       both         b only      neither       both (on b's face)
    pts = [[-0.5, 0, 0], [0.5, 0, 0], [3, 0, 0], [-3, 0, 0], [0, 0, 0]]
    assert (a | b).contains(pts).tolist() == [True, True, True, False, True]
    assert (a & b).contains(pts).tolist() == [False, True, False, False, True]
    assert (a - b).contains(pts).tolist() == [True, False, False, False, False]
    assert (b - a).contains(pts).tolist() == [False, False, True, False, False]
    assert (~a).contains(pts).tolist() == [False, False, True, True, False]
    assert (~~a).contains(pts).tolist() == a.contains(pts).tolist()
    c = Sphere((3.0, 0.0, 0.0), 0.5)
    assert ((a | b) - c).contains(pts).tolist() == [True, True, False, False, True]
    assert (~(a | b)).contains(pts).tolist() == [False, False, False, True, False]


def test_tag_cut_keep():
    atoms = build_crystal(simple_cubic(A), (4, 4, 4))  # sites at (i, j, k) * A
    idx = np.rint(atoms.positions / A).astype(int)
    out = tag(atoms, "bottom", Block((-INF, -INF, -INF), (INF, INF, A)))
    assert out is atoms
    assert atoms.tags["bottom"].dtype == bool
    assert np.count_nonzero(atoms.tags["bottom"]) == 32  # layers z = 0 and z = A (on the face)
    np.testing.assert_array_equal(atoms.tags["bottom"], idx[:, 2] <= 1)
    tag(atoms, "left", HalfSpace((A, 0.0, 0.0), (1.0, 0.0, 0.0)))
    assert np.count_nonzero(atoms.tags["left"]) == 32

    hole = Sphere(tuple(np.array([2.0, 2.0, 2.0]) * A), A)  # centre + its 6 neighbours
    rest = cut(atoms, hole)
    assert len(atoms) == 64 and len(rest) == 57
    removed = np.setdiff1d(atoms.ids, rest.ids)
    assert np.sum(np.abs(idx[removed] - 2), axis=1).max() == 1
    assert sorted(map(tuple, idx[removed])) == sorted(
        [(2, 2, 2), (1, 2, 2), (3, 2, 2), (2, 1, 2), (2, 3, 2), (2, 2, 1), (2, 2, 3)])
    # ids kept (not renumbered), tags sliced alongside
    kept = np.setdiff1d(np.arange(64), removed)
    np.testing.assert_array_equal(rest.ids, kept)
    np.testing.assert_array_equal(rest.positions, atoms.positions[kept])
    np.testing.assert_array_equal(rest.tags["bottom"], atoms.tags["bottom"][kept])
    np.testing.assert_array_equal(rest.tags["left"], atoms.tags["left"][kept])
    assert rest.box == atoms.box

    inner = keep(atoms, hole)
    np.testing.assert_array_equal(inner.ids, removed)
    assert set(inner.tags) == {"bottom", "left"} and len(inner.tags["left"]) == 7
    assert len(inner) + len(rest) == len(atoms)


@pytest.mark.parametrize("radius_over_a, n_inside", [(2.0, 141), (1.9, 135), (1.0, 19)])
def test_cut_sphere_from_fcc(radius_over_a, n_inside):
    # n_inside: fcc sites (i, j, k) * a/2 with i + j + k even and |(i, j, k)| <= 2 r / a,
    # counted independently below; r = 2a and r = a lie exactly on a neighbour shell.
    half = int(np.ceil(2 * radius_over_a))
    grid = np.arange(-half, half + 1)
    i, j, k = np.meshgrid(grid, grid, grid, indexing="ij")
    on_lattice = (i + j + k) % 2 == 0
    assert np.count_nonzero(on_lattice & (i * i + j * j + k * k <= (2 * radius_over_a) ** 2
                                          + 1e-9)) == n_inside

    atoms = build_crystal(fcc(A), (8, 8, 8), species=("Cu",))
    assert len(atoms) == 2048
    centre = np.array([4 * A, 4 * A, 4 * A])  # a lattice site
    r = radius_over_a * A
    direct = np.count_nonzero(np.linalg.norm(atoms.positions - centre, axis=1) <= r + 1e-9)
    assert direct == n_inside
    rest = cut(atoms, Sphere(tuple(centre), r))
    assert len(atoms) - len(rest) == n_inside
    assert np.all(np.linalg.norm(rest.positions - centre, axis=1) > r + 1e-9)
    assert np.all(np.diff(rest.ids) > 0) and rest.ids[-1] == 2047
