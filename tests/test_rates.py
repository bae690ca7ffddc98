"""Rates bridged up from the atoms: the force-difference Hessian, Vineyard's prefactor, the
Arrhenius hop rate and vacancy diffusivity, and ``qc-sim properties --rates``.

The Cu vacancy hop runs in a 3x3x3-cell crystal (107 atoms, 3 inner NEB images) with the
Mishin et al. (Phys. Rev. B 63 (2001) 224106) potential, so the module stays fast.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.errors import InputError
from qc_sim.properties import rates
from qc_sim.units import BOLTZMANN, MVV2E

ROOT = Path(__file__).resolve().parents[1]
CU_MASS = 63.546  # g/mol


@pytest.fixture(scope="module")
def cu(lammps_potentials):
    from qc_sim.potentials.eam import Eam
    from qc_sim.properties.bulk import equilibrium_lattice

    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    a0, _ = equilibrium_lattice(pot, "Cu", "fcc", get_device("cpu"))
    return pot, a0


@pytest.fixture(scope="module")
def hop(cu):
    """(minimum, saddle, NEB result, raw Hessians {name: (3N, 3N)}) of the 3x3x3 hop."""
    pot, a0 = cu
    minimum, saddle, neb = rates.climbing_image_hop(pot, "Cu", "fcc", a0, get_device("cpu"),
                                                    repeats=(3, 3, 3), images=3)
    assert neb.converged, neb.message
    raw = {name: rates.force_hessian(s, symmetrise=False)
           for name, s in (("minimum", minimum), ("saddle", saddle))}
    return minimum, saddle, neb, raw


def symmetric(h):
    return 0.5 * (h + h.T)


# ---- the Hessian ----------------------------------------------------------------------------

def test_force_hessian_is_symmetric_to_its_truncation_error(hop):
    """H is built column by column from forces, so its symmetry is not imposed but measured:
    the central difference with h = 1e-3 Å errs by ~h^2/6 d^3F/dx^3, ~1e-6 eV/Å^2 here
    (largest |H_ij| ~ 10 eV/Å^2); an index or sign slip would show at O(1)."""
    for name, h in hop[3].items():
        asymmetry = np.abs(h - h.T).max()
        print(f"{name}: max |H - H^T| = {asymmetry:.2e} eV/Å^2, max |H| = {np.abs(h).max():.2f}")
        assert asymmetry < 2e-5, name


def test_acoustic_sum_rule_three_zero_modes_at_the_minimum(hop):
    """Translating every atom leaves every force unchanged: each row of H sums to zero over
    the atoms (to the O(h^2) truncation, < 1e-6 eV/Å^2), and the mass-weighted spectrum of the
    periodic crystal has exactly three zero modes, below 1e-4 of the lowest vibration; the
    other 3N - 3 are real."""
    minimum, _, _, raw = hop
    h = raw["minimum"]
    n = len(minimum)
    row_sums = h.reshape(3 * n, n, 3).sum(axis=1)
    assert np.abs(row_sums).max() < 1e-6
    zero, unstable, stable = rates.normal_modes(symmetric(h), CU_MASS).split(3, 0)
    print(f"minimum: zero modes {zero} Hz, lowest vibration {stable[0]:.4e} Hz")
    assert unstable.size == 0 and stable.size == 3 * n - 3 and stable.min() > 0.0
    assert np.abs(zero).max() < 1e-4 * stable.min()


def test_saddle_has_one_unstable_mode_along_the_hop_and_three_zero_modes(hop):
    minimum, saddle, _, raw = hop
    modes = rates.normal_modes(symmetric(raw["saddle"]), CU_MASS)
    zero, unstable, stable = modes.split(3, 1)
    print(f"saddle: unstable {-unstable[0]:.4e}i Hz, zero modes {zero} Hz")
    assert np.abs(zero).max() < 1e-4 * stable.min()
    assert 1e12 < -unstable[0] < 5e12  # an imaginary frequency of a few THz
    # the unstable mode carries the hopping atom along the hop
    x0, x1 = (np.asarray(s.positions) for s in (minimum, saddle))
    hopper = int(np.argmax(np.linalg.norm(x1 - x0, axis=1)))
    mode = modes.vectors[:, int(np.argmin(modes.frequencies))].reshape(-1, 3)
    assert int(np.argmax(np.linalg.norm(mode, axis=1))) == hopper
    along = x1[hopper] - x0[hopper]
    cosine = abs(mode[hopper] @ along) / np.linalg.norm(mode[hopper]) / np.linalg.norm(along)
    assert cosine > 0.9


def test_hessian_matches_second_differences_of_the_energy(hop):
    """v^T H v against (E(x + h v) - 2 E(x) + E(x - h v)) / h^2, h = 3e-3 Å, along normal
    modes (zero, unstable, lowest, middle, highest) and random directions: the energy is summed
    from site energies, never from forces, so this checks the force-based Hessian
    independently. Tolerance 1e-4 max(|v^T H v|, 1 eV/Å^2): the O(h^2) truncation is
    ~1e-5 relative and the round-off ~1e-8 eV/Å^2."""
    rng = np.random.default_rng(7)
    step = 3e-3
    worst = 0.0
    for name, system in zip(("minimum", "saddle"), hop[:2]):
        h = symmetric(hop[3][name])
        vectors = rates.normal_modes(h, CU_MASS).vectors
        directions = [vectors[:, k] for k in (0, 3, 4, h.shape[0] // 2, h.shape[0] - 1)]
        directions += [v / np.linalg.norm(v) for v in rng.normal(size=(2, h.shape[0]))]
        x0 = np.asarray(system.positions).reshape(-1).copy()

        def energy(y):
            system.set_positions(y.reshape(-1, 3))
            return system.compute(energy=True, virial=False).energy()

        try:
            e0 = energy(x0)
            for v in directions:
                curvature = (energy(x0 + step * v) - 2.0 * e0 + energy(x0 - step * v)) / step**2
                error = abs(curvature - v @ h @ v)
                worst = max(worst, error / max(abs(v @ h @ v), 1.0))
                assert error < 1e-4 * max(abs(v @ h @ v), 1.0), (name, v @ h @ v, curvature)
        finally:
            system.set_positions(x0.reshape(-1, 3))
    print(f"largest relative |v^T H v - energy FD| = {worst:.2e}")


def test_region_hessian_is_the_block_of_the_whole_one_and_positions_are_restored(hop):
    """With ``atoms`` only those atoms move and only their forces count: the block of the
    full Hessian, exactly (the same differences are taken)."""
    _, saddle, _, raw = hop
    x = np.asarray(saddle.positions).copy()
    hopper_site = x[np.argmax(np.linalg.norm(x - np.asarray(hop[0].positions), axis=1))]
    atoms = rates.atoms_within(saddle, hopper_site, 4.0)
    assert 10 < atoms.size < len(saddle)
    block = rates.force_hessian(saddle, atoms, symmetrise=False)
    rows = (3 * atoms[:, None] + np.arange(3)).reshape(-1)
    np.testing.assert_allclose(block, raw["saddle"][np.ix_(rows, rows)], rtol=0, atol=1e-12)
    assert np.array_equal(np.asarray(saddle.positions), x)


# ---- Vineyard's prefactor -------------------------------------------------------------------

def test_vineyard_prefactor_of_a_known_spectrum():
    """Diagonal Hessians (one atom's three modes, unit mass): nu* = nu1 nu2 nu3 / (nu2' nu3'),
    the zero modes and the saddle's unstable mode left out."""
    def modes(eigenvalues):
        return rates.normal_modes(np.diag(eigenvalues), 1.0)

    nu = lambda lam: math.sqrt(lam / MVV2E) / (2.0 * math.pi) * 1e12  # Hz
    minimum = modes([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])
    saddle = modes([-0.5, 0.0, 0.0, 0.0, 2.5, 4.0])
    expected = nu(1.0) * nu(2.0) * nu(3.0) / (nu(2.5) * nu(4.0))
    assert rates.vineyard_prefactor(minimum, saddle, 3) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(rates.ModeCountError, match="expected 1 unstable"):
        rates.vineyard_prefactor(minimum, minimum, 3)
    with pytest.raises(rates.ModeCountError, match="expected 0 unstable"):
        rates.vineyard_prefactor(saddle, saddle, 3)


def test_copper_vacancy_hop_prefactor_barrier_and_diffusivity(cu, hop):
    """Whole-crystal harmonic TST of the hop. nu* must be finite (the 3N - 3 frequencies
    are multiplied as a sum of logs) and physically plausible: of the order of the Debye
    frequency, k theta_D / h = 7.1 THz for Cu (theta_D = 343 K, Kittel, Introduction to
    Solid State Physics, Table 5.1): we require 1e12 < nu* < 2e13 Hz. Measured with this
    code: 4.41e12 (3x3x3 cells), 4.35e12 (4x4x4), 4.32e12 (5x5x5), 4.30e12 Hz (6x6x6);
    the 3x3x3 value is pinned. E_m = 0.69 eV (Mishin et al. 2001)."""
    pot, a0 = cu
    result = rates.vacancy_hop_rates(pot, "Cu", "fcc", a0, get_device("cpu"), repeats=(3, 3, 3),
                                     images=3)
    assert math.isfinite(result.prefactor) and 1e12 < result.prefactor < 2e13
    assert result.prefactor == pytest.approx(4.41e12, rel=0.01)
    assert result.barrier == pytest.approx(0.69, abs=0.005)
    assert result.barrier == pytest.approx(hop[2].barrier, abs=1e-9)
    assert result.zero_modes == 3 and result.atoms == 107
    # against the determinants: ln nu* = (ln pdet D_min - ln |pdet D_sad| + ln |lambda_u|) / 2
    # + ln(1e12 / (2 pi sqrt(MVV2E))), with the translations lifted by a projector
    n = result.atoms
    translations = np.tile(np.eye(3), (n, 1)) / math.sqrt(n)
    lift = translations @ translations.T

    def log_pdet(h):
        return np.linalg.slogdet(symmetric(h) / CU_MASS + lift)[1]

    lam_u = (2.0 * math.pi * result.unstable_frequency * 1e-12) ** 2 * MVV2E
    log_nu = (0.5 * (log_pdet(hop[3]["minimum"]) - log_pdet(hop[3]["saddle"]) + math.log(lam_u))
              + math.log(1e12 / (2.0 * math.pi * math.sqrt(MVV2E))))
    assert log_nu == pytest.approx(math.log(result.prefactor), abs=2e-3)
    # the Arrhenius laws it carries
    d = rates.vacancy_diffusivity(result.prefactor, result.barrier, a0, "fcc")
    assert result.diffusivity == d
    assert result.diffusivity(900.0) == pytest.approx((a0 * 1e-10) ** 2 * result.rate(900.0),
                                                      rel=1e-12)
    table = {t: result.diffusivity(t) for t in (300.0, 600.0, 900.0, 1200.0)}
    print(f"nu* = {result.prefactor:.4e} Hz, E_m = {result.barrier:.4f} eV, D_v = {table}")


# ---- Arrhenius laws -------------------------------------------------------------------------

def test_arrhenius_law_is_consistent():
    """ln k against 1/T is a line of slope -E_m/kB through ln nu*; D_v / k = z lambda^2 / 6,
    which is a^2 for both fcc (12 a^2/2 / 6) and bcc (8 (3/4) a^2 / 6); arrays of T are
    taken elementwise."""
    rate = rates.Arrhenius(4.4e12, 0.69)
    t = np.array([300.0, 450.0, 600.0, 900.0, 1200.0])
    slope, intercept = np.polyfit(1.0 / t, np.log(rate(t)), 1)
    assert slope == pytest.approx(-0.69 / BOLTZMANN, rel=1e-10)
    assert intercept == pytest.approx(math.log(4.4e12), rel=1e-10)
    assert rate(600.0) == pytest.approx(4.4e12 * math.exp(-0.69 / (BOLTZMANN * 600.0)))
    np.testing.assert_allclose(rate(t), [rate(float(x)) for x in t], rtol=1e-15)
    for lattice in ("fcc", "bcc"):
        d = rates.vacancy_diffusivity(4.4e12, 0.69, 3.615, lattice)
        assert d.activation_energy == 0.69
        assert d(t) / rate(t) == pytest.approx((3.615e-10) ** 2, rel=1e-12)
    assert rates.vacancy_diffusivity(1.0, 0.0, 1.0, "fcc").prefactor == pytest.approx(1e-20)
    # in qc-sim's units, as a diffusion region takes it: 1 m^2/s = 1e8 Å^2/ps
    native = rates.vacancy_diffusivity(4.4e12, 0.69, 3.615, "fcc", unit="A^2/ps")
    assert native(900.0) == pytest.approx(
        3.615**2 * 4.4e12 * 1e-12 * math.exp(-0.69 / (BOLTZMANN * 900.0)), rel=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: rates.Arrhenius(1e12, 0.7)(-300.0), "temperature must be positive"),
    (lambda: rates.Arrhenius(1e12, 0.7)(np.array([300.0, 0.0])), "temperature must be positive"),
    (lambda: rates.Arrhenius(-1.0, 0.7), "prefactor must be positive"),
    (lambda: rates.Arrhenius(1e12, float("nan")), "activation_energy must be finite"),
    (lambda: rates.vacancy_diffusivity(1e12, 0.7, 3.6, "hcp"), "lattice 'hcp' is not one of"),
    (lambda: rates.vacancy_diffusivity(1e12, 0.7, -3.6), "lattice_constant must be positive"),
    (lambda: rates.vacancy_diffusivity(1e12, 0.7, 3.6, unit="cm^2/s"), r"unit 'cm\^2/s' is not"),
])
def test_bad_library_input_names_the_argument(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_bad_hessian_input_names_the_argument(hop):
    saddle = hop[1]
    with pytest.raises(InputError, match="step must be positive"):
        rates.force_hessian(saddle, [0], step=0.0)
    with pytest.raises(InputError, match=r"atoms must be distinct indices in \[0, 107\)"):
        rates.force_hessian(saddle, [0, 107])
    with pytest.raises(InputError, match="radius must be positive"):
        rates.atoms_within(saddle, np.zeros(3), -1.0)


# ---- the command line ----------------------------------------------------------------------

def qc_sim(*args):
    cmd = [sys.executable, "-m", "qc_sim.cli.main", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env=dict(os.environ))


def test_cli_rates_json(cu, lammps_potentials):
    out = qc_sim("properties", lammps_potentials / "Cu_mishin1.eam.alloy", "--element", "Cu",
                 "--rates", "--cells", "3", "--images", "3", "--temperatures",
                 "300,600,900,1200", "--json", "--backend", "cpu")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["vineyard_prefactor"] == pytest.approx(4.41e12, rel=0.01)
    assert data["vacancy_migration_energy"] == pytest.approx(0.69, abs=0.005)
    assert list(data["diffusivity"]) == ["300", "600", "900", "1200"]
    a = data["lattice_constant"] * 1e-10
    for key, value in data["diffusivity"].items():
        expected = a**2 * data["vineyard_prefactor"] * math.exp(
            -data["vacancy_migration_energy"] / (BOLTZMANN * float(key)))
        assert value == pytest.approx(expected, rel=1e-12)
    assert data["atoms"] == data["hessian_atoms"] == 107
    assert "[3/3] Hessians at the minimum and the saddle" in out.stderr


@pytest.mark.parametrize("args, message", [
    (("--rates", "--temperatures", "300,-5"), "--temperatures must be positive"),
    (("--rates", "--temperatures", "300,hot"), "--temperatures must be comma-separated"),
    (("--rates", "--cells", "1"), "--cells must be at least 2, got 1"),
    (("--rates", "--hessian-radius", "-1"), "--hessian-radius must be positive"),
    (("--temperatures", "300"), "--temperatures is an option of --rates"),
    (("--rates", "--plot", "figs"), "--plot is not an option of --rates"),
])
def test_cli_rates_bad_input_is_one_line_exit_2(args, message, capsys):
    from qc_sim.cli.main import main

    code = main(["properties", "Cu_mishin1.eam.alloy", "--element", "Cu", *args])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
