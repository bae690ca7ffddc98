#!/usr/bin/env python
"""Run every shipped case (``cases/*.toml``) as shipped to its end, with ``qc-sim run``, and
write one JSON: per case its command, exit status, wall time, peak memory (the run's
process), the headline figures it printed and the published or computed value each is
compared with. A progress line per case on stderr.

    python scripts/run_cases.py [--cases NAME ...] [--backend cpu] [--timeout 1800]
                                [--fit] [--out scripts/results/run_cases_cpu_2core_xeon.json]
                                [--workdir /tmp/qc_sim_run_cases]

Each case runs in its own folder under ``--workdir`` (its trajectories, CSV files and
stdout are kept there; ``scripts/plot_cases.py`` draws the showcases' figures from them).

Showcases that take longer than this 2-core machine gives them (the crack's K ramp, the
indentation to 6 Å) run with ``--fit`` at the largest setting that fits (``FIT``, the case
text edited as the CLI tests edit it, recorded in the JSON beside the figures), and the
as-shipped run's time is estimated from its first load steps (``PROBE``: the shipped case
cut to its first steps, timed per step). Without ``--fit`` every case runs as shipped.

Where a case's reference needs a computation of its own (the edge dipole's fully atomistic
twin: the same clamped box, every site an atom, relaxed from the same field;
:func:`edge_dipole_twin`), the script does it after the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted(p for p in (ROOT / "cases").glob("*.toml") if not p.name.startswith("."))
sys.path.insert(0, str(ROOT / "scripts"))

# the largest setting that fits this machine's budget for the showcases that do not
# (text replacements in the case, as tests/test_cli.py makes its small settings), and why
FIT = {
    "cu_crack.toml": {
        "replace": [("repeats = [70, 50, 3]", "repeats = [30, 22, 3]"),
                    ("core_radius = 7.2 ", "core_radius = 3.33")],
        "why": "as shipped (26 Å core, 70 x 50 cells) one load step took over 10 minutes on "
               "this loaded machine; a 12 Å core in 30 x 22 cells, the shipped K ramp (0.40 "
               "by 0.025) to the event",
    },
    "al_indent.toml": {
        "replace": [("core_radius = 4.5 ", "core_radius = 3.5 "),
                    ("depth_step = 0.25 ", "depth_step = 0.5 "),
                    ("max_depth = 6.0 ", "max_depth = 4.5 ")],
        "why": "as shipped (18.4 Å core, 0.25 Å steps to 6 Å) 2,706 s on an idle 2-core EPYC "
               "(docs/validation.md); a 14.3 Å core in 0.5 Å steps to 4.5 Å, past the shipped "
               "core's pop-in at 4.25 Å",
    },
}
LAST = ["al_lomer_dipole.toml", "cu_crack.toml", "al_indent.toml"]
# the shipped case cut to its first load steps, to time them (the estimate of the whole)
PROBE = {
    "cu_crack.toml": [("k_end = 1.0", "k_end = 0.425")],
    "al_indent.toml": [("max_depth = 6.0 ", "max_depth = 0.5 ")],
}


def _float(pattern, text, default=None):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else default


def _rows(text, width):
    """The numeric rows of ``width`` columns (thermo lines)."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == width:
            try:
                rows.append([float(p) for p in parts])
            except ValueError:
                pass
    return rows


def _json_file(name):
    path = ROOT / "scripts" / "results" / name
    return json.loads(path.read_text()) if path.is_file() else None


def headline(case: Path, text: str, folder: Path) -> dict:
    """The case's headline figures from its stdout (and files), and the reference each is
    compared with."""
    name = case.name
    src = case.read_text()
    fig: dict = {}
    ghost = _float(r"largest ghost force ([-\d.e+]+)", text)
    if ghost is not None:
        fig["patch_test_largest_ghost_force_eV_per_A"] = ghost
    if "[region]" in src:
        header = next((l.split() for l in text.splitlines() if l.split()[:1] == ["step"]), None)
        rows = _rows(text, len(header)) if header else []
        if rows:
            fig["first"] = dict(zip(header, rows[0]))
            fig["last"] = dict(zip(header, rows[-1]))
        if name == "bone_single_cell.toml":
            csv = np.genfromtxt(folder / "bone_single_cell.csv", delimiter=",", names=True)
            k = int(np.argmin(csv["bone_mass"]))
            fig["bone_mass_min_percent"] = float(csv["bone_mass"][k])
            fig["bone_mass_min_day"] = float(csv["time"][k])
            fig["bone_mass_end_percent"] = float(csv["bone_mass"][-1])
            fig["reference"] = ("Komarova et al. 2003 (Bone 33:206, Fig. 2): bone mass falls to "
                                "89.79 % near day 12 and is restored by day ~200 (the CSV "
                                "holds every thermo = 10 days)")
        elif name.startswith("bone_"):
            fig["reference"] = ("Weinans, Huiskes & Grootenboer 1992 (a load-aligned column of "
                                "dense bone under the load; docs/validation.md, Bone "
                                "remodelling)" if "plate" in name else
                                "beam theory: dense bone in the outer fibres (docs/validation.md)")
        elif name.startswith("diffusion_"):
            fig["reference"] = ("the analytic and reduced models of tests/test_diffusion.py "
                                "(docs/validation.md, Diffusion-reaction)")
        else:  # a plug-in region physics: its own page has the references
            physics = re.search(r'physics\s*=\s*"(\w+)"', src).group(1)
            page = {"cardiac": "docs/cardiac.md"}.get(physics, f"docs/{physics}.md")
            fig["reference"] = f"{page} (docs/validation.md, Region physics plug-ins)"
        return fig
    if "[coupling]" not in src:  # atomistic dynamics
        rows = _rows(text, 8)
        e0, e1 = rows[0][4], rows[-1][4]
        fig.update(steps=int(rows[-1][0]), etotal_first_eV=e0, etotal_last_eV=e1,
                   temperature_last_K=rows[-1][5])
        if "langevin" in src:
            half = [r[5] for r in rows[len(rows) // 2:]]
            fig["temperature_mean_second_half_K"] = float(np.mean(half))
            target = _float(r"thermostat_temperature = ([\d.]+)", src)
            fig["reference"] = f"the thermostat's {target:g} K"
        else:
            fig["energy_drift_relative"] = abs(e1 - e0) / abs(e0)
            fig["reference"] = "NVE: the total energy conserved (velocity Verlet)"
        return fig
    if "vacancy formation energy" in text:
        fig["vacancy_formation_energy_eV"] = _float(r"vacancy formation energy ([-\d.]+)", text)
        if name == "cu_vacancy_million.toml":
            fig["reference_eV"] = 1.27227
            fig["reference"] = ("fully atomistic clamped 64-cell cube (qc-sim; LAMMPS 1.27226), "
                                "scripts/bench_coupled.py")
        else:
            fig["reference_eV"] = 1.272256
            fig["reference"] = ("fully atomistic clamped 24-cell cube, "
                                "scripts/validate_vacancy.py")
        fig["error_eV"] = fig["vacancy_formation_energy_eV"] - fig["reference_eV"]
        return fig
    if "reflected fraction" in text:
        fig["reflected_fraction"] = _float(r"reflected fraction ([-\d.]+)", text)
        fig["ran_ps"] = _float(r"ran ([\d.]+) ps", text)
        ref = _json_file("wave_packet_cpu_2core_epyc.json")
        fig["reference"] = ("scripts/wave_packet.py at the same setting (lambda 4a, damping "
                            "1/ps; wave_packet_cpu_2core_epyc.json)")
        if ref:
            for row in ref.get("runs", []):
                if row.get("wavelength_a") == 4 and abs(row.get("damping_per_ps", -1) - 1) < 1e-9:
                    fig["reference_value"] = row.get("reflected_fraction")
        return fig
    if "dipole energy" in text:
        m = re.search(r"(edge|Lomer) dipole energy ([-\d.]+) eV", text)
        fig["dipole_energy_eV"] = float(m.group(2))
        fig["removed_sites"] = int(re.search(r"(\d+) sites removed", text).group(1))
        per = _float(r"\(([-\d.]+) eV/Å of line", text)
        if per is not None:
            fig["dipole_energy_eV_per_A"] = per
        fig["relaxed_gsd"] = str(folder / case.stem) + ".gsd"
        return fig
    if "verdict:" in text:
        fig["K_griffith"] = _float(r"K_G = ([\d.]+) MPa", text)
        fig["K_rice_phi0"] = _float(r"K_e = ([\d.]+) MPa m\^0.5: predicted", text)
        fig["K_rice_phi60"] = _float(r"instead \(G_e / cos\^2 phi\): K_e = ([\d.]+)", text)
        verdict = text.split("verdict: ")[1].splitlines()[0]
        fig["verdict"] = verdict
        m = re.match(r"(cleavage|emission) at K = ([\d.]+)", verdict)
        if m:
            fig["event"], fig["K_event"] = m.group(1), float(m.group(2))
            fig["K_event_over_K_griffith"] = fig["K_event"] / fig["K_griffith"]
        steps = []
        for line in text.splitlines():
            p = line.split()
            if len(p) >= 6 and re.fullmatch(r"[\d.]+", p[0]) and p[5] in (
                    "none", "cleavage", "emission"):
                steps.append({"K": float(p[0]), "G": float(p[1]), "advance_A": float(p[2]),
                              "faulted": int(p[3]), "steps": int(p[4]), "atoms": p[5]})
        fig["load_steps"] = steps
        fig["reference"] = ("Griffith (cleavage) and Rice (emission) of the same potential, "
                            "the stages of qc-sim properties, printed by the run")
        return fig
    if "pop-in" in text:
        steps = []
        for line in text.splitlines():
            p = line.split()
            if len(p) == 8 and re.fullmatch(r"[\d.]+", p[0]):
                try:
                    steps.append({"h_A": float(p[0]), "P_eV_per_A": float(p[1]),
                                  "P_nN": float(p[2]), "hertz_nN": float(p[3]),
                                  "contact": int(p[5]), "faulted": int(p[6]),
                                  "steps": int(p[7])})
                except ValueError:
                    pass
        fig["load_depth"] = steps
        fig["pop_in"] = text.split("pop-in: ")[1].splitlines()[0]
        fig["hertz_fit"] = next((l for l in text.splitlines() if l.startswith("Hertz fit")),
                                None)
        fig["E_star_GPa"] = _float(r"E\* = E / \(1 - nu\^2\) = ([\d.]+) GPa", text)
        fig["reference"] = "Hertz, P = (4/3) E* R^1/2 h^3/2, E* of the potential's own constants"
        return fig
    rows = _rows(text, 7)  # coupled dynamics
    if rows:
        e0, e1 = rows[0][4], rows[-1][4]
        fig.update(steps=int(rows[-1][0]), etotal_first_eV=e0, etotal_last_eV=e1,
                   energy_change_relative=abs(e1 - e0) / abs(e0))
        fig["reference"] = ("bgfc conserves energy; the handshake damping band is the only "
                            "sink")
    return fig


def edge_dipole_twin(case: Path, fmax: float | None = None) -> dict:
    """The shipped edge dipole's fully atomistic twin: the same box (every site an atom, the
    cut band's sites removed), every atom on the same linear elastic field, a shell two
    cutoffs thick held there, relaxed by L-BFGS (then FIRE) to the case's fmax; its dipole
    energy is that of the box region (face atoms half) less the perfect crystal of as many
    atoms, as scripts/validate_dipole.py counts it."""
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.cases.schema import load_case
    from qc_sim.continuum.cauchy_born import CauchyBorn
    from qc_sim.coupling.reference import (atomistic_reference, edge_dipole,
                                           plane_strain_poisson)
    from qc_sim.geometry import triangular
    from qc_sim.geometry.lattice import sites_in_box
    from qc_sim.solvers import fire, lbfgs

    start = time.perf_counter()
    spec = load_case(case)
    lat, c = spec.lattice, spec.coupling
    potential = build_potential(spec)
    device = get_device("cpu")
    lattice = triangular(lat.a)
    hi = np.asarray(lat.repeats[:2], float) * np.diag(lattice.cell)[:2]
    material = CauchyBorn(potential, lattice)
    poisson = plane_strain_poisson(material)
    dipole = edge_dipole(lattice, hi / 2 - 0.25 * c.dipole_planes * lattice.a,
                         c.dipole_planes, poisson)
    sites = sites_in_box(lattice, np.zeros(2), hi)[0]
    cut = sites[dipole.cut_sites(sites)]
    fmax = c.fmax if fmax is None else fmax
    system, result = atomistic_reference(lattice, np.zeros(2), hi, potential,
                                         lat.species[0], device, vacancies=cut,
                                         displacement=dipole.displacement, minimiser=lbfgs,
                                         fmax=fmax)
    if not result.converged:
        result = fire(system, fmax=fmax, max_steps=200_000)
    X = np.asarray(system.atoms.positions)[:, :2]
    e0 = float(material.energy(np.eye(2))) * material.volume
    on = (np.abs(X) < 1e-6) | (np.abs(X - hi) < 1e-6)
    inside = np.all((X > -1e-6) & (X < hi + 1e-6), axis=1)
    w = np.where(on, 0.5, 1.0).prod(axis=1) * inside
    site_energy = np.asarray(system.compute().site_energy)
    energy = float((w * (site_energy - e0)).sum())
    return {"dipole_energy_eV": energy, "atoms": int(len(X)),
            "free_atoms": int((~np.asarray(system.fixed)).sum()), "removed_sites": int(len(cut)),
            "converged": bool(result.converged), "fmax_eV_per_A": fmax,
            "wall_s": time.perf_counter() - start}


def lomer_dipole_twin(case: Path, fmax: float | None = None) -> dict:
    """The shipped Lomer dipole's fully atomistic twin: the slab periodic along the line (z),
    every site an atom, the cut band's sites removed, every atom on the dipole's linear
    elastic field (the coupled model's own :class:`EdgeDipole`), a shell two cutoffs thick
    held there in x and y, relaxed by L-BFGS (then FIRE) to the case's fmax; its dipole
    energy is the box region's (atoms on an x or y face half) less the perfect crystal of as
    many atoms."""
    from qc_sim.atomistic.system import AtomisticSystem
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.cases.schema import load_case
    from qc_sim.simulation.models import dipole_model
    from qc_sim.coupling.dipoles import ORIENTATION
    from qc_sim.geometry import fcc
    from qc_sim.geometry.crystal import build_crystal
    from qc_sim.geometry.lattice import oriented_lattice
    from qc_sim.solvers import fire, lbfgs

    start = time.perf_counter()
    spec = load_case(case)
    lat, c = spec.lattice, spec.coupling
    potential = build_potential(spec)
    device = get_device("cpu")
    coupled = dipole_model(spec, potential, device)  # the same dipole the run relaxed
    dipole, material = coupled.dipole, coupled.model.material
    turned = oriented_lattice(fcc(lat.a), ORIENTATION)
    lengths = np.diag(turned.cell)
    hi = np.asarray(lat.repeats, float) * lengths
    shell = 2 * potential.cutoff
    pad = np.ceil(shell / lengths[:2]).astype(int) + 1
    crystal = build_crystal(turned, (lat.repeats[0] + 2 * pad[0], lat.repeats[1] + 2 * pad[1],
                                     lat.repeats[2]), periodic=(False, False, True),
                            species=(lat.species[0],), masses=(1.0,),
                            origin=(-pad[0] * lengths[0], -pad[1] * lengths[1], 0.0))
    X = crystal.positions
    keep = np.all((X[:, :2] > -shell - 1e-6) & (X[:, :2] < hi[:2] + shell + 1e-6), axis=1)
    keep &= ~dipole.cut_sites(X[:, :2])
    atoms = crystal.select(keep)
    X = np.array(atoms.positions, float)
    inside = np.all((X[:, :2] > 1e-6) & (X[:, :2] < hi[:2] - 1e-6), axis=1)
    system = AtomisticSystem(atoms, potential, device, skin=0.5, fixed=~inside)
    x = X.copy()
    x[:, :2] += dipole.displacement(X[:, :2])
    system.set_positions(x)
    fmax = c.fmax if fmax is None else fmax
    result = lbfgs(system, fmax=fmax, max_steps=50_000)
    if not result.converged:
        result = fire(system, fmax=fmax, max_steps=200_000)
    e0 = float(material.energy(np.eye(3))) * material.volume
    on = (np.abs(X[:, :2]) < 1e-6) | (np.abs(X[:, :2] - hi[:2]) < 1e-6)
    box = np.all((X[:, :2] > -1e-6) & (X[:, :2] < hi[:2] + 1e-6), axis=1)
    w = np.where(on, 0.5, 1.0).prod(axis=1) * box
    energy = float((w * (np.asarray(system.compute().site_energy) - e0)).sum())
    return {"dipole_energy_eV": energy, "dipole_energy_eV_per_A": energy / hi[2],
            "atoms": int(len(X)), "free_atoms": int(inside.sum()),
            "removed_sites": int(coupled.removed), "converged": bool(result.converged),
            "fmax_eV_per_A": fmax, "wall_s": time.perf_counter() - start}


def run_one(case: Path, text: str, folder: Path, backend: str | None, timeout: float):
    """Run ``text`` (a case file written beside ``case``, so its potential resolves) in
    ``folder``: (exit status, wall s, peak RSS MB, stdout, per-line times)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = case.parent / f".run_cases_{case.name}"
    tmp.write_text(text)
    cmd = [sys.executable, "-m", "qc_sim.cli.main", "run", str(tmp)]
    if backend:
        cmd += ["--backend", backend]
    # the peak memory: GNU time's %M of the run (this script's own wait4 would report at
    # least this process's size, which Linux carries into a forked child's maxrss)
    timer = Path("/usr/bin/time")
    memory = folder / "time_maxrss_kB.txt"
    if timer.is_file():
        cmd = [str(timer), "-f", "%M", "-o", str(memory)] + cmd
    start = time.perf_counter()
    lines, times = [], []
    try:
        proc = subprocess.Popen(cmd, cwd=folder, stdout=subprocess.PIPE,
                                stderr=open(folder / "stderr.txt", "w"), text=True,
                                start_new_session=True)
        deadline = start + timeout
        timed_out = False
        for line in proc.stdout:
            lines.append(line)
            times.append(time.perf_counter() - start)
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(proc.pid, 15)
                break
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        tmp.unlink(missing_ok=True)
    wall = time.perf_counter() - start
    out = "".join(lines)
    (folder / "stdout.txt").write_text("".join(f"{t:9.2f} {l}" for t, l in zip(times, lines)))
    rc = 124 if timed_out else proc.returncode
    peak = usage.ru_maxrss / 1024
    if memory.is_file():
        try:
            peak = float(memory.read_text().strip().splitlines()[-1]) / 1024
        except ValueError:  # GNU time's note of a signal: keep wait4's figure
            pass
    return rc, wall, peak, out, times


def _edit(text, replacements):
    for old, new in replacements:
        if old not in text:
            raise SystemExit(f"run_cases: '{old}' not in the case (FIT/PROBE out of date)")
        text = text.replace(old, new)
    return text


def _probe_estimate(case, out, times, shipped_text) -> dict:
    """Seconds per load step of the shipped case's first steps, and the whole run's estimate
    (set-up + steps to the event of the fitted run, or to the end)."""
    step_lines = [t for t, l in zip(times, out.splitlines(True))
                  if re.match(r"\s*[\d.]+\s+[-\d.]+\s", l) and len(l.split()) >= 6
                  and (l.split()[-1] in ("none", "cleavage", "emission")
                       or len(l.split()) == 8)]
    if not step_lines:
        return {}
    setup = step_lines[0]
    per_step = (step_lines[-1] - step_lines[0]) / max(len(step_lines) - 1, 1) \
        if len(step_lines) > 1 else setup
    return {"probe_steps": len(step_lines), "probe_setup_and_first_step_s": setup,
            "probe_seconds_per_step": per_step}


def _headline_text(name: str, f: dict) -> tuple[str, str]:
    """(what the run printed, what it is compared with) in a few words."""
    if "vacancy_formation_energy_eV" in f:
        return (f"E_f = {f['vacancy_formation_energy_eV']:.6f} eV",
                f"atomistic {f['reference_eV']:.6f} eV ({f['error_eV']:+.1e})")
    if "dipole_energy_eV" in f:
        twin = f.get("atomistic_twin")
        return (f"E_dipole = {f['dipole_energy_eV']:.6f} eV",
                f"atomistic twin {twin['dipole_energy_eV']:.6f} eV ({f['error_eV']:+.1e})"
                if twin else "")
    if "reflected_fraction" in f:
        return (f"reflected {f['reflected_fraction']:.6f}",
                f"wave_packet.py sweep {f.get('reference_value', float('nan')):.6f}")
    if "K_griffith" in f:
        return (f.get("verdict", "").split(" (")[0],
                f"K_G {f['K_griffith']:.4f}, K_e {f['K_rice_phi0']:.4f} / "
                f"{f['K_rice_phi60']:.4f} (phi 0 / 60)")
    if "pop_in" in f:
        return (f["pop_in"].split(";")[0], "Hertz (E* of the potential)")
    if "energy_drift_relative" in f:
        return (f"{f['steps']} steps, drift {f['energy_drift_relative']:.1e}", "NVE: 0")
    if "temperature_mean_second_half_K" in f:
        return (f"T {f['temperature_mean_second_half_K']:.0f} K (second half)",
                f["reference"].replace("the thermostat's ", "thermostat "))
    if "energy_change_relative" in f:
        return (f"{f['steps']} steps, energy change {f['energy_change_relative']:.1e}",
                "the damping band's sink")
    if "bone_mass_min_percent" in f:
        return (f"bone mass min {f['bone_mass_min_percent']:.2f} % (day "
                f"{f['bone_mass_min_day']:.0f}), {f['bone_mass_end_percent']:.2f} % at the end",
                "Komarova 2003: 89.79 % near day 12")
    if "last" in f:
        last = {k: v for k, v in f["last"].items() if k not in ("step", "time")}
        key = next(iter(last))
        reference = f.get("reference", "")
        against = ("tests/test_diffusion.py's analytic models" if key == "uptake" else
                   reference if "plug-ins" in reference else
                   "qualitative (docs: Bone remodelling)")
        return f"{key} {last[key]:.5g} at t = {f['last'].get('time', 0):g}", against
    return "", ""


def markdown(doc) -> str:
    rows = ["| case | setting | exit | wall (s) | peak (MB) | figure | against |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for e in doc["cases"]:
        name = Path(e["case"]).name
        what, against = _headline_text(name, e["figures"])
        rows.append(f"| `{name}` | {'as shipped' if e['as_shipped'] else 'fitted'} | "
                    f"{e['exit_status']} | {e['wall_s']:.1f} | {e['peak_rss_MB']:.0f} | {what} | "
                    f"{against} |")
    return "\n".join(rows)


TWINS = {"ar_edge_dipole.toml": edge_dipole_twin, "al_lomer_dipole.toml": lomer_dipole_twin}


def add_twin(entry, case):
    twin = TWINS[case.name](case)
    entry["figures"]["atomistic_twin"] = twin
    entry["figures"]["error_eV"] = entry["figures"]["dipole_energy_eV"] - twin["dipole_energy_eV"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="*", help="case names (default: every shipped case)")
    p.add_argument("--backend", default="cpu")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per case")
    p.add_argument("--fit", action="store_true", help="run the showcases that do not fit at "
                   "FIT's setting, estimating the shipped run from its first steps")
    p.add_argument("--probe", action="store_true", help="with --fit: first time the shipped "
                   "case's first load steps (PROBE)")
    p.add_argument("--no-twin", action="store_true", help="skip the edge dipole's atomistic "
                   "twin")
    p.add_argument("--out", default=str(ROOT / "scripts" / "results"
                                        / "run_cases_cpu_2core_xeon.json"))
    p.add_argument("--workdir", default="/tmp/qc_sim_run_cases")
    p.add_argument("--table", action="store_true", help="only print --out as a Markdown table")
    p.add_argument("--reparse", action="store_true", help="only read the figures again from "
                   "the runs' saved stdout in --workdir into --out")
    p.add_argument("--twin-only", metavar="NAME", help="only the atomistic twin of the dipole "
                   "case NAME, added to its entry in --out")
    args = p.parse_args(argv)
    from bench_md import commit, machine

    if args.table:
        print(markdown(json.loads(Path(args.out).read_text())))
        return 0
    if args.reparse:  # the figures again from the runs' saved stdout (no run)
        doc = json.loads(Path(args.out).read_text())
        for entry in doc["cases"]:
            case = ROOT / entry["case"]
            folder = Path(args.workdir) / case.stem
            saved = folder / "stdout.txt"
            if entry["exit_status"] != 0 or not saved.is_file():
                continue
            text = "".join(line[10:] for line in saved.read_text().splitlines(True))
            keep = {k: entry["figures"][k] for k in ("atomistic_twin", "error_eV")
                    if k in entry["figures"]}
            entry["figures"] = {**headline(case, text, folder), **keep}
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
        return 0
    if args.twin_only:
        doc = json.loads(Path(args.out).read_text())
        case = ROOT / "cases" / args.twin_only
        entry = next(c for c in doc["cases"] if c["case"] == f"cases/{case.name}")
        add_twin(entry, case)
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
        print(json.dumps(entry["figures"], indent=1))
        return 0

    cases = [c for c in CASES if not args.cases or c.name in args.cases or c.stem in args.cases]
    cases.sort(key=lambda c: c.name in LAST and LAST.index(c.name) + 1)  # the long ones last
    work = Path(args.workdir)
    results = []
    began = time.perf_counter()
    out_path = Path(args.out)
    for k, case in enumerate(cases, 1):
        shipped = case.read_text()
        entry = {"case": f"cases/{case.name}", "as_shipped": True}
        if args.fit and case.name in FIT and args.probe:
            probe_text = _edit(shipped, PROBE[case.name])
            rc, wall, peak, out, times = run_one(case, probe_text, work / f"{case.stem}_probe",
                                                 args.backend, args.timeout)
            entry["probe"] = {"setting": PROBE[case.name], "exit_status": rc, "wall_s": wall,
                              "peak_rss_MB": peak, **_probe_estimate(case, out, times,
                                                                     shipped)}
        if args.fit and case.name in FIT:
            text = _edit(shipped, FIT[case.name]["replace"])
            entry.update(as_shipped=False, setting=FIT[case.name]["replace"],
                         why=FIT[case.name]["why"])
        else:
            text = shipped
        command = f"qc-sim run cases/{case.name} --backend {args.backend}"
        rc, wall, peak, out, times = run_one(case, text, work / case.stem, args.backend,
                                             args.timeout)
        entry.update(command=command, exit_status=rc, wall_s=round(wall, 2),
                     peak_rss_MB=round(peak, 1))
        try:
            entry["figures"] = headline(case, out, work / case.stem) if rc == 0 else {}
        except Exception as exc:  # a figure the parser missed must not lose the run
            entry["figures"] = {"parse_error": repr(exc)}
        if rc != 0:
            err = (work / case.stem / "stderr.txt").read_text().strip().splitlines()
            entry["stderr_tail"] = err[-3:]
        if case.name in TWINS and rc == 0 and not args.no_twin:
            add_twin(entry, case)
        results.append(entry)
        brief = {key: v for key, v in entry["figures"].items()
                 if isinstance(v, (int, float, str)) and key != "reference"
                 and key != "relaxed_gsd"}
        print(f"[{k}/{len(cases)}] {case.name}: exit {rc}, {wall:.1f} s, {peak:.0f} MB"
              + ("" if entry["as_shipped"] else " (fitted setting)") + "; "
              + ", ".join(f"{key} {v:.6g}" if isinstance(v, float) else f"{key} {v}"
                          for key, v in list(brief.items())[:4]),
              file=sys.stderr, flush=True)
        doc = {"script": "scripts/run_cases.py", "commit": commit(), "machine": machine(),
               "python": platform.python_version(), "backend": args.backend,
               "load_average_at_end": os.getloadavg(),
               "total_wall_s": round(time.perf_counter() - began, 1), "cases": results}
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(doc, indent=1) + "\n")  # after every case
    failed = [r["case"] for r in results if r["exit_status"] != 0]
    print(f"{len(results)} cases in {time.perf_counter() - began:.0f} s, "
          f"{len(failed)} failed" + (f": {', '.join(failed)}" if failed else "")
          + f"; {out_path}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
