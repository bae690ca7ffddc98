"""Dislocation nucleation from a surface step (issue 30): the stepped film's coupled model
keeps its promises, its NEB barrier matches the atomistic NEB of the same film, the band's
checkpoint restarts bit for bit, and the case validates (bad [nucleation] values: one line,
exit 2)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.potentials.eam import Eam

ROOT = Path(__file__).resolve().parents[1]
A = 3.6149250663890298
STRAIN = 0.02


@pytest.fixture(scope="module")
def potential(lammps_potentials):
    return Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")


def _models(potential, repeats=(24, 6, 3)):
    from qc_sim.coupling.step import build_atomistic_slab, build_step_model, stepped_slab
    from qc_sim.simulation.nucleation import AtomisticStep, CoupledStep

    device = get_device("cpu")
    slab = stepped_slab(A, repeats, 2)
    step = build_step_model(slab, potential, "Cu", 1.4 * A, None, 1.5 * A, "bgfc", rate=1.0,
                            margin=0.0, surfaces=True, device=device)
    film = build_atomistic_slab(slab, potential, "Cu", device, material=step.material)
    return slab, CoupledStep(step, fmax=1e-3), AtomisticStep(film, fmax=1e-3)


@pytest.fixture(scope="module")
def small(potential):
    return _models(potential)


def _ends(problem, slab):
    """The relaxed step and the relaxed slipped film (:func:`slip_seed`) at STRAIN."""
    from qc_sim.coupling.step import slip_seed

    state = problem.initial()
    for strain in np.sign(STRAIN) * np.arange(0.01, abs(STRAIN) + 1e-9, 0.01):  # no jump
        state = problem.relax(problem.load(strain, state))[0]
    initial = state
    reference = (problem.model.geometry.mesh.nodes if problem.kind == "coupled"
                 else problem.reference_sites())
    final = problem.relax(initial + slip_seed(slab, reference, np.sign(STRAIN)))[0]
    return initial, final


def test_the_stepped_film_keeps_the_couplings_promises(small):
    """The notch is empty of atoms and nodes, no node on either (001) face is held, every
    held node lies on an x face; bgfc has no ghost force at its far field on the twin
    (< 1e-8 eV/Å); the Cauchy-Born lateral strain leaves sigma_yy = 0; the coupled forces
    are minus the gradient of its energy in a slipped, loaded state."""
    from qc_sim.coupling.step import resolved_shear_stress, slip_seed, uniaxial_strain

    slab, coupled, _ = small
    model = coupled.model
    g = model.geometry
    assert not slab.notch(g.atom_sites).any() and not slab.notch(g.mesh.nodes).any()
    held = g.mesh.nodes[g.held]
    assert np.all((held[:, 0] < 1e-6) | (held[:, 0] > slab.hi[0] - 1e-6))
    assert model.patch_results[1]["max_ghost_force"] < 1e-8
    F = uniaxial_strain(coupled.step.material, STRAIN)
    assert abs(coupled.step.material.stress(F)[1, 1]) < 1e-10
    tau = resolved_shear_stress(coupled.step.material, F)
    sigma = coupled.step.material.stress(F)[0, 0] * F[0, 0] / np.linalg.det(F) * 160.2176634
    assert tau == pytest.approx(np.sqrt(2) / 3 * sigma, rel=1e-6)
    y = coupled.load(STRAIN, g.mesh.nodes) + slip_seed(slab, g.mesh.nodes)
    y[~model.free] = model.y_far[~model.free]
    e0, f = model.evaluate(y)
    rng = np.random.default_rng(3)
    for node in rng.choice(np.flatnonzero(model.free & (g.node_beta > 0)), 3, replace=False):
        for k in range(3):
            h = 1e-5
            yp, ym = y.copy(), y.copy()
            yp[node, k] += h
            ym[node, k] -= h
            numeric = -(model.evaluate(yp)[0] - model.evaluate(ym)[0]) / (2 * h)
            assert f[node, k] == pytest.approx(numeric, abs=2e-6)
    coupled.load(0.0, y)


def test_coupled_neb_matches_the_atomistic_neb_of_the_same_film(small):
    """Done-when (small): the CI-NEB barrier of nucleating the partial from the step at a
    strain of 0.02, coupled (bgfc, the core 1.4 a about the slip trace and under both
    faces), within 0.02 eV of the same CI-NEB on the same film atom by atom: both from
    relaxed end states (the loaded step, and the film slipped by the partial, each relaxed
    in its own model), 5 inner images, the same FIRE (the coupled model's time step cap),
    to a largest NEB force of 0.002 eV/Å (at 0.02 eV/Å the climbing image of either model
    lands anywhere within about 0.05 eV of the saddle)."""
    from qc_sim.simulation.nucleation import make_band, relax_band

    slab, coupled, atomistic = small
    barriers = {}
    for problem in (coupled, atomistic):
        initial, final = _ends(problem, slab)
        assert problem.watch.faulted(problem.positions(initial)) == 0
        assert problem.watch.faulted(problem.positions(final)) >= 4 * problem.watch.per_cell
        band = make_band(problem, initial, final, 5, 1.0)
        result, _ = relax_band(band, 0.002, 5000, params=coupled.band_params, climb_at=0.05)
        assert result.converged, (problem.kind, result)
        barriers[problem.kind] = result.barrier
        problem.load(0.0, initial)
    print(f"step nucleation, film {slab.hi.round(1).tolist()} Å at strain {STRAIN}: coupled "
          f"{barriers['coupled']:.4f} eV ({coupled.dofs} dofs), atomistic "
          f"{barriers['atomistic']:.4f} eV ({atomistic.dofs} dofs)")
    assert barriers["coupled"] > 0.05
    assert barriers["coupled"] == pytest.approx(barriers["atomistic"], abs=0.02)


def test_the_band_checkpoint_restarts_bit_for_bit(small, tmp_path):
    """relax_band is run_neb's FIRE to the bit, and a band stopped at iteration 6 and
    restarted from its checkpoint (in a fresh band) reaches iteration 12 with the same bits
    as one run straight through."""
    from qc_sim.simulation.nucleation import BandState, make_band, relax_band
    from qc_sim.solvers.neb import run_neb

    slab, _, atomistic = small
    x0 = atomistic.initial()
    final = x0 + __import__("qc_sim.coupling.step", fromlist=["slip_seed"]).slip_seed(slab, x0)
    fixed = np.asarray(atomistic.system.fixed, bool)
    final[fixed] = x0[fixed]

    def band():
        return make_band(atomistic, x0, final, 2, 0.1)

    straight, state12 = relax_band(band(), 1e-9, 12)
    reference = run_neb(band(), fmax=1e-9, max_steps=12)
    assert np.array_equal(straight.energies, reference.energies)
    saved = {}
    relax_band(band(), 1e-9, 6, checkpoint=lambda s: saved.update(s.to_arrays()), every=3)
    np.savez(tmp_path / "band.npz", **saved)
    with np.load(tmp_path / "band.npz") as f:
        resumed = BandState.from_arrays(f)
    assert resumed.iteration == 6
    again, state = relax_band(band(), 1e-9, 12, state=resumed)
    assert np.array_equal(state.y, state12.y) and np.array_equal(state.v, state12.v)
    assert np.array_equal(again.energies, straight.energies)


def test_the_power_law_fit_recovers_its_parameters():
    """fit_power_law on barriers made by Q0 (1 - tau/tau_ath)^alpha gets them back."""
    from qc_sim.simulation.nucleation import activation_volume, fit_power_law

    tau = np.array([1.6, 1.8, 2.0, 2.2])
    Q = 2.5 * (1 - tau / 2.6) ** 1.7
    Q0, t_ath, alpha = fit_power_law(tau, Q)
    assert (Q0, t_ath, alpha) == pytest.approx((2.5, 2.6, 1.7), rel=2e-3)
    h = 1e-6
    numeric = -(2.5 * (1 - (2.0 + h) / 2.6) ** 1.7 - 2.5 * (1 - (2.0 - h) / 2.6) ** 1.7) / (2 * h)
    assert activation_volume(2.0, 2.5, 2.6, 1.7) == pytest.approx(numeric * 160.2176634,
                                                                   rel=1e-6)


def test_the_case_validates():
    from qc_sim.cases.schema import load_case

    case = load_case(ROOT / "cases" / "cu_step_nucleation.toml")
    assert case.nucleation.strains and case.coupling.method == "bgfc"


BAD = {
    "step_layers": ("step_layers = 0", "nucleation.step_layers"),
    "strains": ("strains = [0.05, 0.04]", "nucleation.strains"),
    "load_step": ("load_step = 0.0", "nucleation.load_step"),
    "images": ("images = 0", "nucleation.images"),
    "neb_fmax": ("neb_fmax = -1.0", "nucleation.neb_fmax"),
    "json": ('json = "out.txt"', "nucleation.json"),
    "core_depth": ("core_depth = -3.0", "nucleation.core_depth"),
    "unknown": ("steps = 3", "nucleation"),
}


@pytest.mark.parametrize("key", BAD)
def test_a_bad_nucleation_value_is_one_line_exit_2(key, tmp_path):
    text = (ROOT / "cases" / "cu_step_nucleation.toml").read_text()
    line, message = BAD[key]
    name = line.split(" = ")[0]
    lines = [ln for ln in text.splitlines() if not ln.startswith(name + " ")]
    at = lines.index("[nucleation]") + 1
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(lines[:at] + [line] + lines[at:]) + "\n")
    out = subprocess.run([sys.executable, "-m", "qc_sim.cli.main", "validate", str(path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, QC_SIM_POTENTIALS=str(ROOT / "cases")))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and f"[{message}" in err[0], out.stderr
