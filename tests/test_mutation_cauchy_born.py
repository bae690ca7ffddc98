"""qc_sim/continuum/cauchy_born.py against full lattice sums and its documented behaviour
(issue 32: what the mutation run found untested): the shell near the smallest stretch, any
length unit, a species of several, batches and integer input on the compiled path,
MixedCauchyBorn's reference and strain switch, is_bravais with round-off."""

from __future__ import annotations

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.continuum.cauchy_born import CauchyBorn, MixedCauchyBorn, is_bravais
from qc_sim.geometry import fcc
from qc_sim.geometry.lattice import Lattice
from qc_sim.potentials import lennard_jones

A, RC = 1.55, 2.8  # an fcc LJ crystal (sigma units) with its cutoff: reach = RC / 0.7 = 2.58 A


def lattice_sum(F, a=A, sigma=1.0, rc=RC, eps=1.0):
    """W(F) of the LJ fcc crystal summed over every site of a large cube (cube edge a, sites
    where the integer coordinates in a/2 have an even sum) that F brings within rc."""
    k = np.arange(-9, 10)
    n = np.stack(np.meshgrid(k, k, k, indexing="ij"), -1).reshape(-1, 3)
    x = (n[n.sum(axis=1) % 2 == 0] * a / 2) @ np.asarray(F, float).T
    r = np.linalg.norm(x, axis=1)
    r = r[(r > 0) & (r < rc)]
    return 0.5 * np.sum(4 * eps * ((sigma / r) ** 12 - (sigma / r) ** 6)) / (a**3 / 4)


def test_near_its_smallest_stretch_the_material_is_the_full_lattice_sum_in_any_unit():
    """Compressed to a principal stretch of 0.71 (the shell is built for 0.7), the sites
    (-2.5, +-0.5, 0) a and their kin along each axis, 2.55 a away (the shell reaches the
    cutoff over 0.7, 2.9 a), come within the cutoff: W still equals the sum over the whole
    lattice. The same crystal in a length unit 0.3 times as large (sigma, a and the cutoff
    scaled; nearest neighbours 0.33 apart) has W / 0.3^3. A stretch of exactly min_stretch
    is accepted, one below it refused."""
    rc = 3.15
    for F in (np.diag([0.71, 1.0, 1.0]), np.diag([1.0, 1.0, 0.71])):
        W = CauchyBorn(lennard_jones(1.0, 1.0, rc), fcc(A)).energy(F)
        assert W == pytest.approx(lattice_sum(F, rc=rc), rel=1e-12)
        small = CauchyBorn(lennard_jones(1.0, 0.3, 0.3 * rc), fcc(0.3 * A)).energy(F)
        assert small == pytest.approx(W / 0.3**3, rel=1e-12)
    # a principal stretch of exactly min_stretch is what the shell is built for: accepted
    # (0.75 along x, exact in binary, and a shear in yz that sends F to the SVD)
    F = np.array([[0.75, 0.0, 0.0], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    material = CauchyBorn(lennard_jones(1.0, 1.0, rc), fcc(A), min_stretch=0.75)
    assert material.energy(F) == pytest.approx(lattice_sum(F, rc=rc), rel=1e-12)
    with pytest.raises(ValueError, match="principal stretch 0.740 is below the 0.75"):
        material.energy(F @ np.diag([0.74 / 0.75, 1.0, 1.0]))


def test_the_material_of_the_second_species_takes_its_own_parameters():
    """species=1 of a two-species LJ table: B's epsilon, sigma and cutoff (the A-A and A-B
    entries differ), on the NumPy path and the compiled kernel alike."""
    pot = lennard_jones([[1.0, 0.5], [0.5, 2.0]], [[0.9, 1.0], [1.0, 1.1]],
                        [[2.0, 2.5], [2.5, 1.1 * RC]], species=("A", "B"))
    F = np.array([[1.01, 0.02, 0.0], [0.0, 0.98, 0.01], [0.0, 0.0, 1.0]])
    expected = lattice_sum(F, a=1.1 * A, sigma=1.1, rc=1.1 * RC, eps=2.0)
    for device in (None, get_device("cpu")):
        W = CauchyBorn(pot, fcc(1.1 * A), species=1, device=device).energy(F)
        assert W == pytest.approx(expected, rel=1e-12)


def test_batches_and_integer_input_give_the_per_f_values_on_the_compiled_path():
    """W (...) and P (..., d, d) for F (..., d, d) on the compiled kernel too; an F of
    integers (the identity as nested lists) is taken as floats; the expansion about it is
    the one about I (made once per F0); the expansion's tangent of a batch is one A per F."""
    pot, lat = lennard_jones(1.0, 1.0, RC), fcc(A)
    cpu = CauchyBorn(pot, lat, device=get_device("cpu"))
    rng = np.random.default_rng(3)
    F = np.eye(3) + 0.02 * rng.uniform(-1, 1, (2, 4, 3, 3))
    W, P = cpu.energy_stress(F)
    assert W.shape == (2, 4) and P.shape == (2, 4, 3, 3)
    W1, P1 = cpu.energy_stress(F[1, 2])
    assert W1.shape == () and W1 == pytest.approx(lattice_sum(F[1, 2]), rel=1e-12)
    assert W[1, 2] == pytest.approx(W1, rel=1e-14) and np.allclose(P[1, 2], P1, rtol=1e-14)
    identity = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    W_i, P_i = cpu.energy_stress(identity)
    assert W_i == pytest.approx(lattice_sum(np.eye(3)), rel=1e-12)
    assert np.array_equal(P_i, cpu.stress(np.eye(3)))
    assert cpu.expansion(identity) is cpu.expansion()
    taylor = cpu.expansion()
    assert np.array_equal(taylor.tangent(F[0]), np.broadcast_to(taylor.A, (4, 3, 3, 3, 3)))


def _tangent_fd(material, F0, h=1e-5):
    """dP/dF at F0 by central differences of the material's stress (checked against the
    energy's derivative elsewhere), made major-symmetric."""
    A = np.zeros((3, 3, 3, 3))
    for k in range(3):
        for m in range(3):
            dF = np.zeros((3, 3))
            dF[k, m] = h
            A[:, :, k, m] = (material.stress(F0 + dF) - material.stress(F0 - dF)) / (2 * h)
    return 0.5 * (A + A.transpose(2, 3, 0, 1))


def test_mixed_elements_take_the_expansion_about_their_reference_or_the_full_sum():
    """A mixed material about a strained far field F0: its elements flagged linear give the
    second-order expansion about F0, P(F0) : H + H : A : H / 2 (A by finite differences of
    P), the others W(F) - W(F0) of the full lattice sum; the strain is measured from F0
    (the largest |principal Green-Lagrange strain|, per element). A new reference moves all
    of it; without one, the reference is I, and integer F are floats."""
    pot, lat = lennard_jones(1.0, 1.0, RC), fcc(A)
    material = CauchyBorn(pot, lat)
    F0 = np.array([[1.01, 0.003, 0.0], [0.0, 0.995, 0.0], [0.002, 0.0, 1.0]])
    mixed = MixedCauchyBorn(material, 4, F0=F0)
    mixed.linear[:] = [True, False, True, False]
    assert mixed.W0 == pytest.approx(lattice_sum(F0), rel=1e-12)
    rng = np.random.default_rng(11)
    H = 2e-3 * rng.uniform(-1, 1, (4, 3, 3))
    F = F0 + H
    dW, P = mixed.element_delta(F, np.arange(4))
    P0, A0 = material.stress(F0), _tangent_fd(material, F0)
    for e in range(4):
        AH = np.einsum("ijkl,kl->ij", A0, H[e])
        if mixed.linear[e]:
            assert dW[e] == pytest.approx(np.sum(P0 * H[e]) + 0.5 * np.sum(H[e] * AH),
                                          rel=1e-7)
            assert np.allclose(P[e], P0 + AH, rtol=0, atol=1e-7 * np.abs(P0).max())
        else:
            assert dW[e] == pytest.approx(lattice_sum(F[e]) - lattice_sum(F0), rel=1e-10)
            assert np.array_equal(P[e], material.stress(F[e]))
    # the strain from F0: two elements strained differently, each its own largest value
    S = np.array([F0 @ np.diag([1.03, 1.0, 1.0]), F0 @ np.diag([1.0, 0.99, 1.005])])
    E = 0.5 * (np.einsum("eki,ekj->eij", S, S) - F0.T @ F0)
    expected = np.abs(np.linalg.eigvalsh(E)).max(axis=1)
    assert expected[0] > 2 * expected[1] > 2e-3
    assert np.allclose(mixed.strain(S), expected, rtol=1e-12, atol=0)
    assert mixed.strain(F0[None])[0] < 1e-15
    # a new reference F1: its own W0; elements at F1 change nothing, in either branch
    F1 = F0 @ np.diag([1.0, 1.0, 1.004])
    mixed.set_reference(F1)
    assert mixed.W0 == pytest.approx(lattice_sum(F1), rel=1e-12)
    dW1, P1 = mixed.element_delta(np.array([F1, F1]), np.array([0, 1]))
    assert np.abs(dW1).max() < 1e-14 and np.allclose(P1, material.stress(F1), rtol=1e-12)
    # the default reference is I; the identity given as integers
    plain = MixedCauchyBorn(material, 2)
    plain.linear[0] = True
    dW2, P2 = plain.element_delta(np.array([np.eye(3, dtype=int)] * 2), np.array([0, 1]))
    P_I = material.stress(np.eye(3))
    assert np.abs(P_I).max() > 0.1  # a = 1.55 is not the zero-stress lattice constant
    assert np.abs(dW2).max() < 1e-14 and np.allclose(P2, P_I, rtol=1e-12, atol=0)


def test_a_multi_lattice_is_refused_and_round_off_in_a_basis_is_not_one():
    """A two-site basis (diamond) is refused with its reason; an fcc basis whose coordinates
    carry round-off (0.49999999999999994, 0.9999999999999999 for 0, as fractional
    coordinates computed from Cartesian ones come) or are written outside the cell (-0.5),
    or rounded to six decimals (a 3-site simple-cubic supercell), is one Bravais lattice,
    and its Cauchy-Born material is fcc's."""
    diamond = Lattice("diamond", 1.0, np.eye(3), np.array(
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5], [0.25, 0.25, 0.25],
         [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75]]))
    with pytest.raises(ValueError, match=(
            r"^the diamond lattice has more than one site per primitive cell: Cauchy-Born "
            r"needs inner relaxation there \(not supported\)$")):
        CauchyBorn(lennard_jones(1.0, 1.0, RC), diamond)
    half = 0.49999999999999994
    noisy = Lattice("fcc", A, A * np.eye(3), np.array(
        [[0.9999999999999999, 0, 0], [half, 0.5, 0], [0.5, 0, half], [0, -0.5, 0.5]]))
    assert is_bravais(noisy)
    # compressed along y: the site (0, 2.5, 0.5) a, written as cell 3 plus (0, -0.5, 0.5),
    # comes within the cutoff (the shell's cells must reach one further for it)
    F, rc = np.diag([1.0, 0.71, 1.02]), 3.15
    W = CauchyBorn(lennard_jones(1.0, 1.0, rc), noisy).energy(F)
    assert W == pytest.approx(lattice_sum(F, rc=rc), rel=1e-12)
    third = Lattice("sc3", 1.0, np.diag([3.0, 1.0, 1.0]),
                    np.array([[0, 0, 0], [0.333333, 0, 0], [0.666667, 0, 0]]))
    assert is_bravais(third)
    assert not is_bravais(Lattice("sc2", 1.0, np.diag([3.0, 1.0, 1.0]),
                                  np.array([[0, 0, 0], [0.3, 0, 0]])))
