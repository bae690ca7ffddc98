"""Dislocation nucleation from a surface step (issue 30): the stepped block's coupled model
keeps its promises, its NEB barrier matches the atomistic NEB of the same block, the band's
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
STRAIN = 0.03
DEPTH = 18.0  # Å down the plane: the end state's partial, past the saddle's ~5 Å
PLANE = 1  # the (111) plane through the riser, the one the loading nucleates on


@pytest.fixture(scope="module")
def potential(lammps_potentials):
    return Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")


def _models(potential, repeats=(32, 20, 3)):
    """The block (x held, top free with the step, bottom held) coupled as the case builds it
    (core 1.4 a about the slip trace to DEPTH + 5 Å, 0.6 a under the top face, Taylor
    elements below 3 % strain) and atom by atom."""
    from qc_sim.coupling.step import build_atomistic_slab, build_step_model, stepped_slab
    from qc_sim.simulation.nucleation import AtomisticStep, CoupledStep

    device = get_device("cpu")
    slab = stepped_slab(A, repeats, 2, bottom_held=True, centre_depth=DEPTH)
    step = build_step_model(slab, potential, "Cu", 1.4 * A, DEPTH + 5.0, 1.5 * A, "bgfc",
                            rate=0.5, margin=0.5 * A, surfaces=True, surface_radius=0.6 * A,
                            taylor_strain=0.03, plane=PLANE, device=device)
    block = build_atomistic_slab(slab, potential, "Cu", device, material=step.material)
    return slab, CoupledStep(step, fmax=1e-3), AtomisticStep(block, fmax=1e-3)


@pytest.fixture(scope="module")
def small(potential):
    return _models(potential)


def _ends(problem):
    """The relaxed step and the partial DEPTH Å down its plane against the pinned obstacle,
    at STRAIN (end_states on a loading ramped by 0.01: no jump)."""
    from qc_sim.simulation.nucleation import end_states, load_until_nucleation

    loading = load_until_nucleation(problem, 0.01, 0.01, STRAIN - 0.005)
    assert loading.nucleation_strain is None
    return end_states(problem, loading, STRAIN, DEPTH, plane=PLANE)


def test_the_stepped_block_keeps_the_couplings_promises(small):
    """The notch is empty of atoms and nodes, no node on the top face is held, every held
    node lies on an x face or the bottom (and the atomistic block's fixed atoms beyond
    them); bgfc has no ghost force at its far field on the twin (< 1e-8 eV/Å); the
    Cauchy-Born lateral strain leaves sigma_yy = 0; the coupled forces are minus the
    gradient of its energy in a loaded state with a partial in it."""
    from qc_sim.coupling.step import partial_seed, resolved_shear_stress, uniaxial_strain

    slab, coupled, atomistic = small
    model = coupled.model
    g = model.geometry
    assert not slab.notch(g.atom_sites).any() and not slab.notch(g.mesh.nodes).any()
    held = g.mesh.nodes[g.held]
    assert np.all((held[:, 0] < 1e-6) | (held[:, 0] > slab.hi[0] - 1e-6) | (held[:, 1] < 1e-6))
    assert (held[:, 1] < 1e-6).sum() > 10  # the bottom is held
    on_x = (held[:, 0] < 1e-6) | (held[:, 0] > slab.hi[0] - 1e-6)
    assert not np.any((held[:, 1] > slab.lower_terrace - 1e-6) & ~on_x)  # top face free
    X = atomistic.reference_sites()
    fixed = np.asarray(atomistic.system.fixed, bool)
    assert np.array_equal(fixed, (X[:, 0] < 1e-6) | (X[:, 0] > slab.hi[0] - 1e-6)
                          | (X[:, 1] < 1e-6))
    assert model.patch_results[1]["max_ghost_force"] < 1e-8
    F = uniaxial_strain(coupled.step.material, STRAIN)
    assert abs(coupled.step.material.stress(F)[1, 1]) < 1e-10
    tau = resolved_shear_stress(coupled.step.material, F)
    sigma = coupled.step.material.stress(F)[0, 0] * F[0, 0] / np.linalg.det(F) * 160.2176634
    assert tau == pytest.approx(np.sqrt(2) / 3 * sigma, rel=1e-6)
    y = coupled.load(STRAIN, g.mesh.nodes) + 0.5 * partial_seed(slab, g.mesh.nodes, 8.0)
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


def test_the_partial_seed_is_a_cut_of_b_p_behind_the_line(small):
    """partial_seed: across the plane behind the line the two sides differ by b_p = a/sqrt(6)
    along the trace (the upper terrace's side moved down it, as slip_seed's slip), ahead of
    the line they do not."""
    from qc_sim.coupling.step import partial_seed

    slab = small[0]
    d = slab.slip_directions()[1]
    normal = np.array([d[1], -d[0]])
    b_p = A / np.sqrt(6.0)
    pts = []
    for t in (5.0, 12.0, 30.0):  # behind (5, 12) and ahead (30) of a line at 20 Å
        for side in (1.0, -1.0):
            p = slab.corner + t * d + side * 1e-3 * normal
            pts.append([p[0], p[1], 0.0])
    u = partial_seed(slab, np.array(pts), 20.0)[:, :2] @ d
    assert u[0] - u[1] == pytest.approx(b_p, rel=1e-3)
    assert u[2] - u[3] == pytest.approx(b_p, rel=1e-3)
    assert abs(u[4] - u[5]) < 1e-3 * b_p
    assert u[0] > 0 > u[1]  # the upper terrace's side moved down the trace
    assert np.sign(u[0] - u[1]) == np.sign((slab.lattice.a / np.sqrt(6.0)) * 1.0)


def test_a_strains_end_states_do_not_depend_on_the_strains_before_it(small):
    """The end states at STRAIN after another strain's (whose Volterra seed strains elements
    on its way) are those of a first run: the same Taylor elements, and positions and
    energies to the solver's tolerance (the kept preconditioner may steer it differently).
    (On the 491 x 434 Å block the coupled Q at strain 0.05 was 0.0163 eV in the six-strain
    study and 0.0179 eV run alone: a history there that this small block does not show.)"""
    from qc_sim.simulation.nucleation import end_states, load_until_nucleation

    _, coupled, _ = small
    loading = load_until_nucleation(coupled, 0.01, 0.01, STRAIN - 0.005)
    first = end_states(coupled, loading, STRAIN, DEPTH, plane=PLANE)
    taylor = coupled.model.continuum.linear.copy()  # which elements the end states left Taylor
    end_states(coupled, loading, STRAIN - 0.01, DEPTH, plane=PLANE)
    again = end_states(coupled, loading, STRAIN, DEPTH, plane=PLANE)
    assert np.array_equal(coupled.model.continuum.linear, taylor)
    assert abs(again[2] - first[2]) < 1e-5 and abs(again[3] - first[3]) < 1e-5
    assert np.abs(again[0] - first[0]).max() < 2e-3
    assert np.abs(again[1] - first[1]).max() < 2e-3
    assert again[4] == first[4]


def test_a_second_loading_on_the_same_problem_starts_from_the_unloaded_block(small):
    """A study run twice on one problem (a user's script) loads from strain 0 again: the
    problem's initial state resets its strain, so the first load step is not the jump from
    the strain the last study left (which squeezed elements past Cauchy-Born's shell)."""
    from qc_sim.simulation.nucleation import load_until_nucleation

    for problem in small[1:]:
        first = load_until_nucleation(problem, 0.01, 0.01, 0.02)
        assert problem.strain == pytest.approx(0.02)
        second = load_until_nucleation(problem, 0.01, 0.01, 0.02)
        assert second.nucleation_strain is None
        assert second.energies == pytest.approx(first.energies, abs=1e-6)


def test_retaylor_hands_over_exactly_what_the_states_strain(small):
    """CoupledModel.retaylor: every element back on the Taylor law, then the full lattice
    sum for exactly those elements some given state strains past taylor_strain (a Volterra
    seed strains many that update_taylor would keep for good); the energy stays that of the
    flags (Taylor elements through the sparse operator rebuilt from scratch)."""
    from qc_sim.coupling.step import partial_seed

    slab, coupled, _ = small
    model = coupled.model
    mesh = model.geometry.mesh
    y = model.y_far + partial_seed(slab, mesh.nodes, 12.0, plane=PLANE)
    y[~model.free] = model.y_far[~model.free]
    assert model.retaylor([model.y_far]) == 0 and model.continuum.linear.all()
    handed = model.retaylor([model.y_far, y])
    strained = model.continuum.strain(mesh.deformation_gradients(y)) > model.taylor_strain
    assert handed == strained.sum() > 50
    assert np.array_equal(~model.continuum.linear, strained)
    e1 = model.evaluate(y)[0]
    model._taylor = None  # the operator assembled afresh for the same flags
    assert model.evaluate(y)[0] == pytest.approx(e1, abs=1e-9)
    assert model.retaylor([model.y_far]) == 0 and model.continuum.linear.all()


def test_coupled_neb_matches_the_atomistic_neb_of_the_same_block(small):
    """Done-when (small): the CI-NEB barrier of nucleating the partial from the step at a
    strain of 0.03 on an 82 x 72 Å block, on the plane through the riser, coupled (bgfc; atoms about the slip trace, the
    step and a thin layer under the top face, Taylor elements elsewhere), within 0.02 eV of
    the same CI-NEB on the same block atom by atom: both from relaxed end states (the
    loaded step, and the partial DEPTH Å down its plane against the pinned obstacle), 5
    inner images, to a largest NEB force of 0.002 eV/Å, each with its own FIRE (the atoms'
    FIRE 2.0; the coupled band the same with its coarse nodes made heavy, and converged on
    the force per atom a coarse node stands for). The pinned
    atoms stay put in every image, the climbing image is an inner one, and no image falls
    far below the end state (none ran past the obstacle)."""
    from qc_sim.simulation.nucleation import make_band, pin_mask
    from qc_sim.solvers.neb import relax_band

    slab, coupled, atomistic = small
    barriers = {}
    for problem in (coupled, atomistic):
        initial, final, e0, e1, faulted = _ends(problem)
        assert problem.watch.faulted(problem.positions(initial)) == 0
        assert faulted >= 4 * problem.watch.per_cell
        pinned = pin_mask(problem, DEPTH, plane=PLANE)
        assert 3 <= pinned.sum() <= 30 and np.array_equal(final[pinned], initial[pinned])
        problem.prepare_band([initial, final])
        band = make_band(problem, initial, final, 5, 1.0, pinned)
        inv_mass = problem.inv_mass()
        inv_mass = None if inv_mass is None else np.tile(inv_mass, 5)
        result, _ = relax_band(band, 0.002, 3000, params=problem.band_params, climb_at=0.05,
                               climb_min=0.0, inv_mass=inv_mass)
        assert result.converged, (problem.kind, result)
        assert 0 < result.saddle < 6
        assert result.energies.min() >= min(0.0, e1 - e0) - 0.05
        state = problem.state_of(band.images[3])
        assert np.array_equal(state[pinned], initial[pinned])
        barriers[problem.kind] = result.barrier
        problem.load(0.0, initial)
    print(f"step nucleation, block {slab.hi.round(1).tolist()} Å at strain {STRAIN}: coupled "
          f"{barriers['coupled']:.4f} eV ({coupled.dofs} dofs), atomistic "
          f"{barriers['atomistic']:.4f} eV ({atomistic.dofs} dofs)")
    assert barriers["coupled"] > 0.1
    assert barriers["coupled"] == pytest.approx(barriers["atomistic"], abs=0.02)


def test_heavy_nodes_change_the_path_not_the_minimum():
    """fire_step with inverse masses finds the same minimum as with unit masses (a stiff,
    ill-conditioned quadratic), in half the steps when the masses follow the stiffness; without
    masses it is the same arithmetic as before, to the bit."""
    from qc_sim.solvers.fire import Fire, fire_step

    class Quad:
        xp = np
        k = np.array([1.0, 1.0, 400.0, 400.0])
        x0 = np.array([1.0, -2.0, 0.5, 3.0])

        def forces(self, y):
            return -self.k * (y - self.x0)

    q = Quad()

    def run(inv_mass, dt_max):
        y, v = np.zeros(4), np.zeros(4)
        p = Fire(dt=0.01, dt_max=dt_max)
        dt, alpha, down = p.dt, p.alpha_start, 0
        for step in range(20000):
            f = q.forces(y)
            if np.abs(f).max() < 1e-8:
                return y, step
            y, v, dt, alpha, down = fire_step(q, y, v, f, dt, alpha, down, step, p, inv_mass)
        return y, step

    y_unit, n_unit = run(None, 0.05)  # unit masses at their best time step here
    y_heavy, n_heavy = run(1.0 / q.k, 1.0)
    assert np.allclose(y_unit, q.x0, atol=1e-7) and np.allclose(y_heavy, q.x0, atol=1e-7)
    assert n_heavy < 0.6 * n_unit, (n_heavy, n_unit)  # 164 against 337
    f = q.forces(np.zeros(4))
    params = Fire()
    a = fire_step(q, np.zeros(4), np.ones(4), f, 0.1, 0.1, 3, 7, params)
    b = fire_step(q, np.zeros(4), np.ones(4), f, 0.1, 0.1, 3, 7, params, None)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_the_band_checkpoint_restarts_bit_for_bit(small, tmp_path):
    """relax_band is run_neb's FIRE to the bit, and a band stopped at iteration 6 and
    restarted from its checkpoint (in a fresh band) reaches iteration 12 with the same bits
    as one run straight through."""
    from qc_sim.simulation.nucleation import make_band
    from qc_sim.solvers.neb import BandState, relax_band
    from qc_sim.solvers.neb import run_neb

    slab, _, atomistic = small
    x0 = atomistic.initial()
    final = x0 + __import__("qc_sim.coupling.step", fromlist=["partial_seed"]).partial_seed(
        slab, x0, DEPTH)
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
    "core_depth_short": ("core_depth = 10.0", "nucleation.core_depth"),
    "bottom": ('bottom = "floating"', "nucleation.bottom"),
    "glide_depth": ("glide_depth = 0.0", "nucleation.glide_depth"),
    "glide_depth_deep": ("glide_depth = 200.0", "nucleation.glide_depth"),
    "surface_radius": ("surface_radius = 3.0", "nucleation.surface_radius"),
    "plane": ("plane = 3", "nucleation.plane"),
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
