"""The mode-I crack: the anisotropic K field against the isotropic closed form, the reader
that tells cleavage from emission, and the crack model (periodic front, cut faces, uncut
twin) keeping bgfc's promise."""

from pathlib import Path

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.continuum.crack_field import MPA_SQRT_M, CrackField, cubic_stiffness
from qc_sim.coupling.crack import CSP_FAULT, CrackReader, build_crack
from qc_sim.geometry import fcc
from qc_sim.potentials.eam import Eam

ROOT = Path(__file__).resolve().parents[1]
ORIENTATION = [[1, 1, 0], [0, 0, 1], [1, -1, 0]]  # propagation, plane normal, front


def test_anisotropic_k_field_reduces_to_the_isotropic_one():
    """With C11 = C12 + 2 C44 (to 1e-6) the Sih-Paris-Irwin field is the isotropic plane-strain
    field u = K/(2 mu) sqrt(r / 2 pi) (...) and G = K^2 (1 - nu^2) / E; the two faces part
    by the opening of the closed form."""
    E, nu = 100.0, 0.3
    lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
    field = CrackField(cubic_stiffness(lam + 2 * mu, lam, mu * (1 + 1e-7), np.eye(3)))
    assert field.g_per_k2 == pytest.approx((1 - nu**2) / E, rel=1e-6)
    t = np.linspace(-np.pi + 1e-3, np.pi - 1e-3, 41)
    r = 3.0
    u = field.displacement(r * np.column_stack([np.cos(t), np.sin(t)]), [0.0, 0.0], 2.0)
    kappa = 3 - 4 * nu
    scale = 2.0 / (2 * mu) * np.sqrt(r / (2 * np.pi))
    ux = scale * np.cos(t / 2) * (kappa - 1 + 2 * np.sin(t / 2) ** 2)
    uy = scale * np.sin(t / 2) * (kappa + 1 - 2 * np.cos(t / 2) ** 2)
    assert np.allclose(u[:, 0], ux, atol=1e-6 * scale) and np.allclose(u[:, 1], uy,
                                                                      atol=1e-6 * scale)
    assert u[-1, 1] > 0 > u[0, 1]  # the faces part


def test_rotated_cubic_stiffness_keeps_the_invariants():
    """Rotating a cubic stiffness to the crack frame keeps C11 + C22 + C33 + 2 (C12 + C13 +
    C23) (9 times the bulk modulus) and makes C11' = (C11 + C12 + 2 C44) / 2 along [110]."""
    c11, c12, c44 = 170.0, 123.0, 76.0
    C = cubic_stiffness(c11, c12, c44, ORIENTATION)
    assert C[:3, :3].sum() == pytest.approx(3 * c11 + 6 * c12)
    assert C[0, 0] == pytest.approx((c11 + c12 + 2 * c44) / 2)
    assert C[1, 1] == pytest.approx(c11)
    assert np.allclose(C, C.T)


@pytest.fixture(scope="module")
def crack():
    pot = Eam.from_file(ROOT / "cases" / "potentials" / "Cu_sutton_chen.eam.alloy")
    return build_crack(fcc(3.61), ORIENTATION, (30, 22, 3), pot, "Cu",
                       (181.46, 137.59, 64.66), 12.0, 1.5 * 3.61, device=get_device("cpu"))


def test_the_crack_model_cuts_its_faces_and_keeps_the_patch_test(crack):
    """No element straddles the crack plane behind the tip; the uncut twin carries the patch
    test: bgfc has no ghost force at its far field."""
    g = crack.model.geometry
    corners = g.mesh.element_coordinates(g.mesh.nodes)
    y = corners[:, :, 1]
    behind = corners[:, :, 0].mean(axis=1) < crack.tip[0]
    assert not np.any(behind & (y.min(axis=1) < crack.tip[1]) & (y.max(axis=1) > crack.tip[1]))
    assert g.defect_free is not None and g.mesh.n_nodes <= g.defect_free.mesh.n_nodes
    assert crack.patch_results[1]["max_ghost_force"] < 1e-8
    assert np.allclose(g.mesh.period, [0, 0, 3 * 3.61 / np.sqrt(2)])


def test_the_reader_tells_a_cleaved_tip_and_a_fault_from_an_elastic_field(crack):
    """Under the K field alone (no relaxation, K = 0.3 MPa m^0.5) no bond ahead of the tip is
    broken and no core atom is faulted; pulling the two planes ahead of the tip apart reads as
    an advance of the farthest pulled bond; shearing the atoms above a (111) plane through
    the core by a Shockley partial a/sqrt(6) along [11-2] reads as a fault."""
    model, reader = crack.model, CrackReader(crack)
    X = model.geometry.mesh.nodes
    y = X.copy()
    y[:, :2] += crack.field.displacement(X, crack.tip, 0.3 * MPA_SQRT_M)
    x = reader.positions(y)
    assert reader.advance(x) == 0.0
    assert (reader.centrosymmetry(x) > CSP_FAULT).sum() == 0
    pulled = y.copy()  # 3 Å of opening up to 6 Å ahead of the tip
    ahead = (X[:, 0] > crack.tip[0]) & (X[:, 0] < crack.tip[0] + 6.0) & (X[:, 1] > crack.tip[1])
    pulled[ahead, 1] += 3.0
    advance = reader.advance(reader.positions(pulled))
    assert 4.0 < advance < 6.0
    a = model.geometry.lattice.a
    normal = np.array([np.sqrt(2 / 3), np.sqrt(1 / 3), 0.0])
    slip = np.array([np.sqrt(1 / 3), -np.sqrt(2 / 3), 0.0])  # [11-2] in the crack frame
    origin = np.array([crack.tip[0], crack.tip[1] + 2 * a, 0.0])
    above = (X - origin) @ normal > 0
    sheared = y + np.outer(above, slip * a / np.sqrt(6))
    faulted = (reader.centrosymmetry(reader.positions(sheared)) > CSP_FAULT).sum()
    assert faulted >= 6
