"""Potentials: agreement with LAMMPS, forces and virials against finite differences,
invariances, and strict reading of EAM files."""

from __future__ import annotations

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.errors import InputError
from qc_sim.geometry import Sphere, bcc, build_crystal, fcc, keep, random_alloy
from qc_sim.neighbor.cell_list import build
from qc_sim.potentials import lennard_jones, load_potential, morse
from qc_sim.potentials.eam import Eam
from qc_sim.potentials.eam_files import read_eam, spline_coefficients
from qc_sim.potentials.eam_reference import spline_index, spline_slope, spline_value

BACKENDS = ["numpy", "cpu"]


def evaluate(atoms, pot, backend="cpu", positions=None, box=None):
    """Energy, site energies (n,), forces (n, 3) and total virial (6,) on the host."""
    dev = get_device(backend)
    x = dev.asarray(atoms.positions if positions is None else positions)
    box = atoms.box if box is None else box
    nl = build(dev, x, dev.asarray(atoms.ids), box, pot.cutoff, skin=0.3)
    types = np.array([pot.species.index(atoms.species[t]) for t in range(len(atoms.species))],
                     np.int32)[atoms.types] if pot.species != ("X",) else atoms.types
    r = pot.compute(dev, x, dev.asarray(types), box, nl)
    return (r.energy(), np.array(dev.to_host(r.site_energy)), np.array(dev.to_host(r.forces)),
            r.total_virial())


def rattled(atoms, sigma, seed):
    atoms.positions = atoms.positions + np.random.default_rng(seed).normal(
        0.0, sigma, atoms.positions.shape)
    return atoms


def cu_crystal(cells=4, seed=1):
    return rattled(build_crystal(fcc(3.615), (cells,) * 3, species=("Cu",)), 0.1, seed)


def cu_cluster():
    crystal = build_crystal(fcc(3.615), (5, 5, 5), periodic=(False,) * 3, species=("Cu",))
    return rattled(keep(crystal, Sphere((9.0, 9.0, 9.0), 7.0)), 0.08, 5)


# name -> (atoms builder, potential builder from the lammps potentials folder)
CASES = {
    "funcfl Cu": (cu_crystal, lambda d: Eam.from_file(d / "Cu_u3.eam")),
    "funcfl Cu-Ni alloy": (
        lambda: rattled(random_alloy(build_crystal(fcc(3.56), (4, 4, 4), species=("Cu",)),
                                     ("Cu", "Ni"), (0.5, 0.5), 4), 0.1, 2),
        lambda d: Eam.from_file([d / "Cu_u3.eam", d / "Ni_u3.eam"])),
    "setfl Cu": (cu_crystal, lambda d: Eam.from_file(d / "Cu_mishin1.eam.alloy")),
    "setfl Al-Cu random alloy": (
        lambda: rattled(random_alloy(build_crystal(fcc(3.9), (4, 4, 4), species=("Al",)),
                                     ("Al", "Cu"), (0.6, 0.4), 7), 0.1, 3),
        lambda d: Eam.from_file(d / "AlCu.eam.alloy")),
    "Finnis-Sinclair Fe": (
        lambda: rattled(build_crystal(bcc(2.855), (5, 5, 5), species=("Fe",)), 0.1, 4),
        lambda d: Eam.from_file(d / "Fe_mm.eam.fs")),
    "Finnis-Sinclair Al-Fe alloy": (
        lambda: rattled(random_alloy(build_crystal(bcc(2.87), (5, 5, 5), species=("Fe",)),
                                     ("Al", "Fe"), (0.3, 0.7), 3), 0.1, 6),
        lambda d: Eam.from_file(d / "AlFe_mm.eam.fs")),
    "free Cu cluster": (cu_cluster, lambda d: Eam.from_file(d / "Cu_mishin1.eam.alloy")),
    "LJ": (lambda: rattled(build_crystal(fcc(5.26), (4, 4, 4), species=("Ar",)), 0.1, 8),
           lambda d: lennard_jones(0.0104, 3.4, 8.0, species=("Ar",))),
    "LJ shifted, two species": (
        lambda: rattled(random_alloy(build_crystal(fcc(5.4), (4, 4, 4), species=("Ar",)),
                                     ("Ar", "Kr"), (0.5, 0.5), 9), 0.1, 9),
        lambda d: lennard_jones([[0.0104, 0.0123], [0.0123, 0.0140]],
                                [[3.40, 3.50], [3.50, 3.60]], 8.5, species=("Ar", "Kr"),
                                shift=True)),
    "Morse shifted": (cu_crystal, lambda d: morse(0.3429, 1.3588, 2.866, 6.0,
                                                  species=("Cu",), shift=True)),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(CASES))
def test_agrees_with_lammps(name, backend, lammps_module, lammps_potentials):
    """Done-when: 1e-9 relative in energy, 1e-8 eV/Å in force (measured: ~1e-15, ~1e-14)."""
    make_atoms, make_pot = CASES[name]
    atoms, pot = make_atoms(), make_pot(lammps_potentials)
    ref = lammps_module.evaluate(atoms, pot)
    energy, site, forces, virial = evaluate(atoms, pot, backend)
    assert abs(energy - ref["energy"]) <= 1e-9 * abs(ref["energy"])
    assert np.abs(forces - ref["forces"]).max() <= 1e-8
    assert np.abs(site - ref["site_energy"]).max() <= 1e-9
    assert np.abs(virial - ref["virial"]).max() <= 1e-9 * np.abs(ref["virial"]).max()
    assert np.abs(forces).max() > 0.05  # a rattled configuration: real forces were compared


def cutoff_gap(atoms, pot) -> float:
    """Smallest |r_ij - cutoff| over all pairs (minimum image): a finite difference whose
    step moves a pair across the cutoff of a potential whose force jumps there (shifted LJ)
    measures the jump, not the derivative, so the steps below stay well inside this gap."""
    d = atoms.box.minimum_image(atoms.positions[:, None, :] - atoms.positions[None, :, :])
    r = np.sqrt((d * d).sum(axis=-1))
    return float(np.abs(r[np.triu_indices(len(atoms), 1)] - pot.cutoff).min())


@pytest.mark.parametrize("name", list(CASES))
def test_forces_are_minus_the_energy_gradient(name, lammps_potentials):
    make_atoms, make_pot = CASES[name]
    atoms, pot = make_atoms(), make_pot(lammps_potentials)
    _, _, forces, _ = evaluate(atoms, pot)
    h = min(1e-5, 0.1 * cutoff_gap(atoms, pot))
    rng = np.random.default_rng(0)
    for i in rng.choice(len(atoms), 4, replace=False):
        for a in range(3):
            x = atoms.positions.copy()
            x[i, a] += h
            ep = evaluate(atoms, pot, positions=x)[0]
            x[i, a] -= 2 * h
            em = evaluate(atoms, pot, positions=x)[0]
            assert forces[i, a] == pytest.approx(-(ep - em) / (2 * h), abs=2e-6)


def strained(atoms, eps):
    """Positions and box under the homogeneous deformation F = I + eps (box: diagonal only)."""
    from qc_sim.geometry import Box

    F = np.eye(3) + eps
    lo = np.asarray(atoms.box.lo)
    x = lo + (atoms.positions - lo) @ F.T
    hi = lo + np.diag(F) * atoms.box.lengths
    return x, Box(tuple(lo), tuple(hi), atoms.box.periodic)


VOIGT = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]


@pytest.mark.parametrize("name", list(CASES))
def test_virial_is_minus_the_strain_derivative(name, lammps_potentials):
    """W_ab = -dE/dF_ab at F = I: the normal components on periodic crystals (an orthogonal
    box stays orthogonal), all six on the free cluster."""
    make_atoms, make_pot = CASES[name]
    atoms, pot = make_atoms(), make_pot(lammps_potentials)
    _, _, _, virial = evaluate(atoms, pot)
    components = range(6) if not any(atoms.box.periodic) else range(3)
    h = min(1e-6, 0.1 * cutoff_gap(atoms, pot) / pot.cutoff)
    for k in components:
        a, b = VOIGT[k]
        eps = np.zeros((3, 3))
        eps[a, b] = h
        ep = evaluate(atoms, pot, "cpu", *strained(atoms, eps))[0]
        em = evaluate(atoms, pot, "cpu", *strained(atoms, -eps))[0]
        assert virial[k] == pytest.approx(-(ep - em) / (2 * h), abs=1e-5 * len(atoms) ** 0.5)


@pytest.mark.parametrize("name", list(CASES))
def test_energy_is_invariant_under_translation_rotation_and_renumbering(name,
                                                                         lammps_potentials):
    make_atoms, make_pot = CASES[name]
    atoms, pot = make_atoms(), make_pot(lammps_potentials)
    e0, _, f0, _ = evaluate(atoms, pot)
    shifted = atoms.positions + np.array([0.37, -1.91, 2.53])
    assert evaluate(atoms, pot, positions=shifted)[0] == pytest.approx(e0, rel=1e-12)
    order = np.random.default_rng(1).permutation(len(atoms))
    renumbered = atoms.select(np.ones(len(atoms), bool))
    renumbered.positions = atoms.positions[order]
    renumbered.types = atoms.types[order]
    renumbered.ids = atoms.ids[order]
    e1, _, f1, _ = evaluate(renumbered, pot)
    assert e1 == pytest.approx(e0, rel=1e-12)
    assert np.abs(f1 - f0[order]).max() < 1e-11
    if not any(atoms.box.periodic):
        q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))
        c = atoms.positions.mean(axis=0)
        e2, _, f2, _ = evaluate(atoms, pot, positions=(atoms.positions - c) @ q.T + c)
        assert e2 == pytest.approx(e0, rel=1e-12)
        assert np.abs(f2 - f0 @ q.T).max() < 1e-11
    else:  # cubic symmetry: a 90-degree rotation about z maps the periodic box onto itself
        L = atoms.box.lengths
        if L[0] == L[1]:
            x = atoms.positions
            rotated = np.stack([L[0] - x[:, 1], x[:, 0], x[:, 2]], axis=1)
            e2, _, f2, _ = evaluate(atoms, pot, positions=rotated)
            assert e2 == pytest.approx(e0, rel=1e-12)
            assert np.abs(f2 - np.stack([-f0[:, 1], f0[:, 0], f0[:, 2]], axis=1)).max() < 1e-11


@pytest.mark.parametrize("name", list(CASES))
def test_compiled_and_numpy_backends_agree(name, lammps_potentials):
    make_atoms, make_pot = CASES[name]
    atoms, pot = make_atoms(), make_pot(lammps_potentials)
    e_np, s_np, f_np, v_np = evaluate(atoms, pot, "numpy")
    e_c, s_c, f_c, v_c = evaluate(atoms, pot, "cpu")
    assert e_c == pytest.approx(e_np, rel=1e-13)
    assert np.abs(s_c - s_np).max() < 1e-12
    assert np.abs(f_c - f_np).max() < 1e-12 * max(1.0, np.abs(f_np).max())
    assert np.abs(v_c - v_np).max() < 1e-12 * np.abs(v_np).max()


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(CASES))
def test_gpu_agrees_with_cpu(name, lammps_potentials):
    """Done-when (with a GPU): the GPU backend's forces agree with the CPU's to 1e-10."""
    from qc_sim.backend.device import available_backends

    reason = available_backends()["gpu"]
    if reason is not None:
        pytest.skip(f"no GPU backend: {reason}")
    make_atoms, make_pot = CASES[name]
    atoms, pot = make_atoms(), make_pot(lammps_potentials)
    e_c, s_c, f_c, v_c = evaluate(atoms, pot, "cpu")
    e_g, s_g, f_g, v_g = evaluate(atoms, pot, "gpu")
    assert e_g == pytest.approx(e_c, rel=1e-10)
    assert np.abs(f_g - f_c).max() <= 1e-10 * np.abs(f_c).max()
    assert np.abs(v_g - v_c).max() <= 1e-10 * np.abs(v_c).max()


def test_pair_potentials_match_their_formulas():
    from qc_sim.geometry import Atoms, Box

    box = Box((0, 0, 0), (20, 20, 20), (False,) * 3)
    for r in (3.0, 3.8, 5.5):
        dimer = Atoms(np.array([[5.0, 5, 5], [5.0 + r, 5, 5]]), box, species=("Ar",),
                      masses=(39.948,))
        lj = lennard_jones(0.0104, 3.4, 8.0, species=("Ar",))
        e, _, f, _ = evaluate(dimer, lj)
        sr6 = (3.4 / r) ** 6
        assert e == pytest.approx(4 * 0.0104 * (sr6 * sr6 - sr6), rel=1e-14)
        assert f[1, 0] == pytest.approx(24 * 0.0104 * (2 * sr6 * sr6 - sr6) / r, rel=1e-13)
        shifted = lennard_jones(0.0104, 3.4, 8.0, species=("Ar",), shift=True)
        s8 = (3.4 / 8.0) ** 6
        assert evaluate(dimer, shifted)[0] == pytest.approx(
            4 * 0.0104 * (sr6 * sr6 - sr6 - s8 * s8 + s8), rel=1e-13)
        m = morse(0.3429, 1.3588, 2.866, 6.0, species=("Ar",))
        ex = np.exp(-1.3588 * (r - 2.866))
        assert evaluate(dimer, m)[0] == pytest.approx(0.3429 * (ex * ex - 2 * ex), rel=1e-13)
    far = Atoms(np.array([[5.0, 5, 5], [13.5, 5, 5]]), box, species=("Ar",), masses=(39.948,))
    assert evaluate(far, lennard_jones(0.0104, 3.4, 8.0, species=("Ar",)))[0] == 0.0
    # shifted Morse: zero at the cutoff, and the site terms (the Cauchy-Born material's call)
    # are half of each bond: E = 1/2 sum (phi(r) - phi(rc)), dE/dr = phi'(r) / 2, 0 beyond rc
    m = morse(0.3429, 1.3588, 2.866, 6.0, species=("Ar",), shift=True)
    assert m.shifted and m.cutoff == 6.0
    r = np.array([2.5, 3.7, 5.9, 6.5])
    ex = np.exp(-1.3588 * (r - 2.866))
    exc = np.exp(-1.3588 * (6.0 - 2.866))
    phi = 0.3429 * (ex * ex - 2 * ex) - 0.3429 * (exc * exc - 2 * exc)
    dphi = 0.3429 * (-2 * 1.3588) * (ex * ex - ex)
    e, dedr = m.site_terms(r)
    assert e == pytest.approx(0.5 * phi[:3].sum(), rel=1e-13)
    assert np.allclose(dedr, np.where(r < 6.0, 0.5 * dphi, 0.0), rtol=1e-12, atol=0)


@pytest.mark.parametrize("make, names", [(lennard_jones, ("epsilon", "sigma")),
                                         (morse, ("d0", "alpha", "r0"))])
def test_pair_tables_must_be_symmetric(make, names):
    """A parameter given per pair of two species must be symmetric; the error names it."""
    for k, name in enumerate(names + ("cutoff",)):
        args = [1.0] * len(names) + [5.0]
        args[k] = [[1.0, 1.2], [1.1, 1.0]]
        with pytest.raises(ValueError, match=rf"^{name} must be symmetric in the two species$"):
            make(*args, species=("A", "B"))


def test_spline_reproduces_a_cubic_between_the_end_intervals():
    """LAMMPS's 5-point slopes are exact for cubics, so the Hermite pieces are the cubic."""
    delta = 0.01
    x = np.arange(200) * delta
    f = 0.3 * x**3 - 1.2 * x**2 + 0.7 * x - 2.0
    table = spline_coefficients(f, delta)[None]
    probe = np.linspace(3 * delta, 196 * delta, 1001)
    m, p = spline_index(probe, 1.0 / delta, 200)
    c = table[0, m]
    assert np.abs(spline_value(c, p) - (0.3 * probe**3 - 1.2 * probe**2 + 0.7 * probe - 2.0)
                  ).max() < 1e-12
    assert np.abs(spline_slope(c, p) - (0.9 * probe**2 - 2.4 * probe + 0.7)).max() < 1e-10


def test_funcfl_resampling_and_elements(lammps_potentials):
    t = read_eam(lammps_potentials / "Cu_u3.eam")
    # LAMMPS puts a funcfl file on nrho = round(rhomax / drho) points: 500 -> 499
    assert (t.nrho, t.nr, t.elements, t.masses) == (499, 499, ("Cu",), (63.55,))
    assert t.cutoff == pytest.approx(4.95)
    alloy = read_eam(lammps_potentials / "AlCu.eam.alloy").select(["Cu", "Al", "Cu"])
    assert alloy.type2frho.tolist() == [1, 0, 1]
    assert alloy.type2z2r.tolist() == [[2, 1, 2], [1, 0, 1], [2, 1, 2]]
    with pytest.raises(InputError, match=r"\['Fe'\] are not in the potential"):
        read_eam(lammps_potentials / "AlCu.eam.alloy").select(["Fe"])


# ---- malformed files: one line naming the file, the line and what was expected ----------

def write_setfl(path, nrho=20, nr=20, lines=None, element_line="1 Cu"):
    body = ["comment 1", "comment 2", "comment 3", element_line,
            f"{nrho} 0.1 {nr} 0.3 5.5", "29 63.546 3.615 fcc"]
    body += [" ".join(["-1.0"] * 5)] * (nrho // 5)
    body += [" ".join(["0.5"] * 5)] * (nr // 5)
    body += [" ".join(["0.2"] * 5)] * (nr // 5)
    if lines is not None:
        body = lines(body)
    path.write_text("\n".join(body) + "\n")
    return path


def test_a_well_formed_small_setfl_reads(tmp_path):
    t = read_eam(write_setfl(tmp_path / "ok.eam.alloy"))
    assert t.elements == ("Cu",) and t.nrho == 20 and t.nr == 20
    assert t.frho_spline[0, 1:, 6].tolist() == [-1.0] * 20


@pytest.mark.parametrize("edit, message", [
    (lambda b: b[:-3], r"line 15: file ends early; expected 20 values of r\*phi\(r\) of Cu-Cu \(got 5\)"),
    (lambda b: b[:8] + ["-1.0 -1.0 x -1.0 -1.0"] + b[9:],
     r"line 9: expected a number \(value 13 of 20 of F\(rho\) of Cu\), found 'x'"),
    (lambda b: b[:10] + ["0.5 0.5 nan 0.5 0.5"] + b[11:],
     r"line 11: expected a number \(value 3 of 20 of rho\(r\) of Cu\), found 'nan'"),
    (lambda b: b[:4] + ["20 0.1 20 0.3"] + b[5:],
     r"line 5: expected 'Nrho drho Nr dr cutoff', found '20 0.1 20 0.3'"),
    (lambda b: b[:4] + ["20 0.1 20 -0.3 5.5"] + b[5:], r"line 5: need .* positive drho, dr"),
    (lambda b: b[:5] + ["29 -63.5 3.615 fcc"] + b[6:], r"line 6: the mass of Cu must be positive"),
    (lambda b: b[:3] + ["2 Cu"] + b[4:], r"line 4: expected 2 element names after the count 2"),
    (lambda b: b[:3], r"line 3: file ends early; expected the number of elements"),
])
def test_malformed_setfl_names_file_and_line(tmp_path, edit, message):
    path = write_setfl(tmp_path / "bad.eam.alloy", lines=edit)
    with pytest.raises(InputError, match=message) as err:
        read_eam(path)
    assert str(err.value).startswith(f"{path}: line ")
    assert "\n" not in str(err.value)


def test_malformed_funcfl_and_unknown_names(tmp_path, lammps_potentials):
    text = (lammps_potentials / "Cu_u3.eam").read_text().splitlines()
    bad = tmp_path / "Cu_cut.eam"
    bad.write_text("\n".join(text[:50]) + "\n")
    with pytest.raises(InputError, match=rf"{bad}: line 50: file ends early; expected 500 "
                                         r"values of F\(rho\) \(got 235\)"):
        read_eam(bad)
    (tmp_path / "x.eam").write_text("comment\ncopper 63.5\n")
    with pytest.raises(InputError, match=r"line 2: expected 'atomic-number mass'"):
        read_eam(tmp_path / "x.eam")
    with pytest.raises(InputError, match=r"cannot tell the EAM format"):
        read_eam(tmp_path / "potential.txt")
    with pytest.raises(InputError, match=r"missing.eam: cannot read potential file"):
        load_potential(str(tmp_path / "missing.eam"))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["funcfl Cu", "setfl Al-Cu random alloy", "free Cu cluster",
                                  "LJ shifted, two species", "Morse shifted"])
def test_weighted_site_energies_and_their_forces(name, backend, lammps_potentials):
    """sum_i w_i E_i (the blended handshake's atomistic energy): forces are its negative
    gradient, all-ones weights give the plain energy, and both backends agree."""
    make_atoms, make_pot = CASES[name]
    atoms, pot = make_atoms(), make_pot(lammps_potentials)
    dev = get_device(backend)
    w = np.random.default_rng(5).uniform(0.0, 1.0, len(atoms))
    types = np.array([pot.species.index(atoms.species[t]) for t in range(len(atoms.species))],
                     np.int32)[atoms.types]

    def weighted(x, weights):
        xd = dev.asarray(x)
        nl = build(dev, xd, dev.asarray(atoms.ids), atoms.box, pot.cutoff, skin=0.3)
        r = pot.compute(dev, xd, dev.asarray(types), atoms.box, nl, weights=dev.asarray(weights))
        return r.energy(), np.array(dev.to_host(r.forces))

    e_plain, _, f_plain, _ = evaluate(atoms, pot, backend)
    e1, f1 = weighted(atoms.positions, np.ones(len(atoms)))
    assert e1 == pytest.approx(e_plain, rel=1e-14) and np.abs(f1 - f_plain).max() < 1e-12
    e_w, f_w = weighted(atoms.positions, w)
    h = min(1e-5, 0.1 * cutoff_gap(atoms, pot))
    for i in (0, 7, 19):
        for a in range(3):
            x = atoms.positions.copy()
            x[i, a] += h
            ep = weighted(x, w)[0]
            x[i, a] -= 2 * h
            em = weighted(x, w)[0]
            assert f_w[i, a] == pytest.approx(-(ep - em) / (2 * h), abs=2e-6)
    if backend == "cpu":
        ref = get_device("numpy")
        nl = build(ref, atoms.positions, atoms.ids, atoms.box, pot.cutoff, 0.3)
        r = pot.compute(ref, atoms.positions, types, atoms.box, nl, weights=w)
        e_np, f_np = r.energy(), r.forces
        assert e_w == pytest.approx(e_np, rel=1e-13)
        assert np.abs(f_w - f_np).max() < 1e-12 * max(1.0, np.abs(f_np).max())


@pytest.mark.parametrize("name", list(CASES))
def test_half_rows_give_the_bits_of_full_rows(name, lammps_potentials):
    """The one-thread CPU kernels over upper rows (each bond once, added to both atoms in
    global-id order) return bitwise the full-row kernels' forces, site energies and virials;
    and an upper row is exactly the tail of the full, id-sorted row past the atom's own id."""
    make_atoms, make_pot = CASES[name]
    atoms, pot = make_atoms(), make_pot(lammps_potentials)
    assert pot.half_rows
    dev = get_device("cpu")
    x, ids = dev.asarray(atoms.positions), dev.asarray(atoms.ids)
    types = np.array([pot.species.index(atoms.species[t]) for t in range(len(atoms.species))],
                     np.int32)[atoms.types] if pot.species != ("X",) else atoms.types
    full = build(dev, x, ids, atoms.box, pot.cutoff, skin=0.3)
    upper = build(dev, x, ids, atoms.box, pot.cutoff, skin=0.3, half=True)
    assert full.half is None and upper.half is not None
    for i in range(len(atoms)):
        row = full.neighbors[i, :full.counts[i]]
        tail = ids[row] > ids[i]
        assert np.array_equal(upper.neighbors[i, :upper.counts[i]], row[tail])
        assert np.array_equal(upper.images[i, :upper.counts[i]],
                              full.images[i, :full.counts[i]][tail])
    a = pot.compute(dev, x, types, atoms.box, full)
    b = pot.compute(dev, x, types, atoms.box, upper)
    for field in ("forces", "site_energy", "virial"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    with pytest.raises(ValueError, match="weighted forces need full rows"):
        pot.compute(dev, x, types, atoms.box, upper, weights=np.ones(len(atoms)))


_THREADS_SCRIPT = """
import sys
import numpy as np
from qc_sim.atomistic import dynamics
from qc_sim.atomistic.random import maxwell_boltzmann_velocities
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import cpu, get_device
from qc_sim.geometry import build_crystal, fcc
from qc_sim.potentials.eam import Eam

pot = Eam.from_file(sys.argv[1])
atoms = build_crystal(fcc(3.615), (6, 6, 6), species=("Cu",))
v = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, 1500.0, 11)
runs = {}
for threads in (1, 2):
    cpu.set_num_threads(threads)
    assert cpu.get_num_threads() == threads
    system = AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.3)
    state = dynamics.run(system, dynamics.init_state(system, v), 200, 0.002)
    runs[threads] = (system, np.array(system.positions), np.array(state.velocities))
assert runs[1][0].nlist.half is not None and runs[2][0].nlist.half is None
assert runs[1][0].rebuilds > 5, runs[1][0].rebuilds
assert np.array_equal(runs[1][1], runs[2][1]) and np.array_equal(runs[1][2], runs[2][2])
cpu.set_num_threads(1)
w = np.linspace(0.2, 1.0, len(atoms))
switched = runs[1][0].compute(weights=w)
assert runs[1][0].nlist.half is None and runs[1][0].full_rows
fresh = AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.3)
fresh.use_full_rows()
fresh.set_positions(runs[1][0].positions)
assert np.array_equal(switched.forces, fresh.compute(weights=w).forces)
small = build_crystal(fcc(3.615), (2, 2, 2), species=("Cu",))  # 7.2 A < 2 * 5.25 A
tight = AtomisticSystem(small, pot, get_device("cpu"), skin=0.3)
tight.compute()
assert tight.nlist.half is None
print("half rows: trajectory bitwise, weighted switch bitwise, small box full")
"""


def test_one_thread_takes_half_rows_and_keeps_the_trajectory_bits(lammps_potentials):
    """On one OpenMP thread an AtomisticSystem builds upper rows (box lengths above twice the
    reach) and 200 NVE steps of hot Cu, list rebuilds included, are bitwise those on two
    threads (full rows); a weighted evaluation switches it to full rows with the same bits as
    a system that never had half rows; a box too small for one image per pair keeps full rows.
    In a fresh process: once the lammps package's own OpenMP runtime is loaded (the LAMMPS
    tests), the thread count of this one cannot be raised."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT,
                          str(lammps_potentials / "Cu_u3.eam")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "trajectory bitwise, weighted switch bitwise, small box full" in out.stdout
