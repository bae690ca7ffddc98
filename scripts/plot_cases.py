#!/usr/bin/env python
"""The showcases' pictures for docs/validation.md from what ``scripts/run_cases.py`` ran: its
JSON (the figures) and its work folder (the runs' GSD files).

    python scripts/plot_cases.py [--json scripts/results/run_cases_cpu_2core_xeon.json]
                                 [--workdir /tmp/qc_sim_run_cases] [--no-ovito]

Writes, in docs/:
- ``run_cases_crack.png``: the crack tip's advance and the faulted atoms against the applied
  K, with the potential's Griffith and Rice values;
- ``run_cases_indent.png``: the indentation's load against depth beside Hertz's law, the
  shipped core's earlier run (scripts/results/indent_cpu_2core_epyc.json) with it;
- ``run_cases_wave.png``: the wave packet's reflected fraction with scripts/wave_packet.py's
  sweep of the same slab;
- with OVITO's Python module (scripts/render_ovito.py's renderer, from the run's own GSD
  file): ``run_cases_edge_dipole_ovito.png``, ``run_cases_lomer_dipole_ovito.png`` and
  ``run_cases_crack_ovito.png``, the relaxed atoms (the crack's last load step) coloured by
  blend weight, under-coordinated core atoms red.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "scripts"))


def _case(data, name):
    return next((c for c in data["cases"] if c["case"] == f"cases/{name}"), None)


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    try:  # a palette: a quarter of the bytes for the repository
        from PIL import Image

        Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)
    except ImportError:
        pass
    print(path)


def crack(data):
    import matplotlib.pyplot as plt

    c = _case(data, "cu_crack.toml")
    if not c or not c["figures"].get("load_steps"):
        return
    f = c["figures"]
    steps = f["load_steps"]
    K = [s["K"] for s in steps]
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    ax.plot(K, [s["advance_A"] for s in steps], "o-", color="C0", label="tip advance (Å)")
    ax.plot(K, [s["faulted"] for s in steps], "s--", color="C2", ms=4,
            label="faulted core atoms")
    ax.axvline(f["K_griffith"], color="C3", label=f"Griffith K_G = {f['K_griffith']:.3f}")
    ax.axvline(f["K_rice_phi0"], color="C1", ls=":",
               label=f"Rice K_e (phi 0) = {f['K_rice_phi0']:.3f}")
    ax.axvline(f["K_rice_phi60"], color="C1", ls="--",
               label=f"Rice K_e (phi 60) = {f['K_rice_phi60']:.3f}")
    ax.set_xlabel("applied K (MPa m^0.5)")
    ax.set_ylabel("Å / atoms")
    setting = "as shipped" if c["as_shipped"] else "fitted setting"
    event = (f"{f['event']} at K = {f['K_event']:.3f} ({f['K_event_over_K_griffith']:.3f} K_G)"
             if "event" in f else f.get("verdict", "")[:50])
    ax.set_title(f"cu_crack ({setting}): {event}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    _save(fig, DOCS / "run_cases_crack.png")
    plt.close(fig)


def indent(data):
    import matplotlib.pyplot as plt
    import numpy as np

    c = _case(data, "al_indent.toml")
    if not c or not c["figures"].get("load_depth"):
        return
    f = c["figures"]
    rows = f["load_depth"]
    h = np.array([r["h_A"] for r in rows])
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    hh = np.linspace(0, h.max(), 100)
    hertz = np.array([r["hertz_nN"] for r in rows])
    # Hertz P = c h^3/2: c from any loaded row of the table
    k = np.flatnonzero(h > 0)
    if len(k):
        coef = hertz[k[-1]] / h[k[-1]] ** 1.5
        ax.plot(hh, coef * hh**1.5, color="k", lw=1, label="Hertz (E* of the potential)")
    label = "this run" + ("" if c["as_shipped"] else " (14.3 Å core, 0.5 Å steps)")
    ax.plot(h, [r["P_nN"] for r in rows], "o-", color="C0", label=label)
    earlier = ROOT / "scripts" / "results" / "indent_cpu_2core_epyc.json"
    if earlier.is_file():
        e = json.loads(earlier.read_text())
        table = e.get("steps") or e.get("table") or []
        if table and isinstance(table[0], dict):
            keyh = next(k for k in table[0] if k.startswith("depth") or k in ("h", "h_A"))
            keyp = next(k for k in table[0] if "nN" in k and "hertz" not in k.lower())
            ax.plot([t[keyh] for t in table], [t[keyp] for t in table], ".-", color="C7",
                    ms=3, lw=0.8, label="as shipped, 18.4 Å core (EPYC, earlier)")
    ax.set_xlabel("depth h (Å)")
    ax.set_ylabel("load P (nN)")
    ax.set_title("al_indent: " + f["pop_in"][:70], fontsize=8)
    ax.legend(fontsize=7)
    _save(fig, DOCS / "run_cases_indent.png")
    plt.close(fig)


def wave(data):
    import matplotlib.pyplot as plt

    c = _case(data, "ar_wave_packet.toml")
    if not c or "reflected_fraction" not in c["figures"]:
        return
    sweep = json.loads((ROOT / "scripts" / "results" / "wave_packet_cpu_2core_epyc.json")
                       .read_text())["runs"]
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for damping, colour in ((0.0, "C0"), (1.0, "C1"), (5.0, "C2")):
        runs = sorted((r for r in sweep if abs(r["damping_per_ps"] - damping) < 1e-9),
                      key=lambda r: r["wavelength_a"])
        ax.plot([r["wavelength_a"] for r in runs], [r["reflected_fraction"] for r in runs],
                "o-", color=colour, ms=4, label=f"sweep, band {damping:g}/ps")
    ax.plot([4], [c["figures"]["reflected_fraction"]], "k*", ms=14,
            label=f"shipped case: {c['figures']['reflected_fraction']:.4f}")
    ax.set_xlabel("wavelength (lattice spacings)")
    ax.set_ylabel("reflected fraction of the energy")
    ax.legend(fontsize=7)
    _save(fig, DOCS / "run_cases_wave.png")
    plt.close(fig)


def ovito(workdir: Path):
    import render_ovito

    render_ovito.SHOWCASES["lomer_dipole"] = {
        "case": "al_lomer_dipole.toml", "gsd": "al_lomer_dipole.gsd", "species": "Al",
        "small": (), "nearest": 4.081654879265372 / 2**0.5, "cutoff": 1.2, "perfect": 12,
        "line": "Lomer dipole energy"}
    for show, folder, gsd in (("edge_dipole", "ar_edge_dipole", "ar_edge_dipole.gsd"),
                              ("lomer_dipole", "al_lomer_dipole", "al_lomer_dipole.gsd"),
                              ("crack", "cu_crack", "cu_crack.gsd")):
        path = workdir / folder / gsd
        if not path.is_file():
            continue
        out = DOCS / f"run_cases_{show}_ovito.png"
        figures = render_ovito.render(show, path, out, (900, 720))
        print(out, figures)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", default=str(ROOT / "scripts" / "results"
                                         / "run_cases_cpu_2core_xeon.json"))
    p.add_argument("--workdir", default="/tmp/qc_sim_run_cases")
    p.add_argument("--no-ovito", action="store_true")
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    data = json.loads(Path(args.json).read_text())
    crack(data)
    indent(data)
    wave(data)
    if not args.no_ovito:
        ovito(Path(args.workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
