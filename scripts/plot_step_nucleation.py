#!/usr/bin/env python
"""The barrier of dislocation nucleation from a surface step against the resolved shear
stress, coupled and atomistic, for each film of scripts/step_nucleation.py's JSON; the
power-law fits dotted; the quasi-static nucleation stress marked.

    python scripts/plot_step_nucleation.py [RESULTS.json] [--out docs/step_nucleation_q_tau.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def tables(data) -> str:
    """The results as Markdown: per film, sizes, degrees of freedom, wall times, the
    quasi-static nucleation strain and the fit; per strain, both barriers."""
    rows = ["| film (Å) | model | dofs | wall (s) | quasi-static nucleation strain | Q0 (eV) "
            "| tau_ath (GPa) | alpha | athermal strain from the fit |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for film in data["films"]:
        size = " x ".join(f"{v:.1f}" for v in film["size_A"])
        for name in ("atomistic", "coupled"):
            r, f = film[name], film[name]["fit"]
            fit = [f.get("Q0_eV"), f.get("tau_ath_GPa"), f.get("alpha"),
                   f.get("athermal_strain_fit")]
            rows.append(f"| {size} | {name} | {r['dofs']} | {r['wall_seconds']:.0f} | "
                        f"{r['quasi_static']['nucleation_strain']} | "
                        + " | ".join("–" if v is None else f"{v:.4g}" for v in fit) + " |")
    strains = [p["strain"] for p in data["films"][0]["atomistic"]["neb"]]
    out = "\n".join(rows) + "\n\n"
    head = "| film (Å) | " + " | ".join(f"strain {e:g}" for e in strains) + " |"
    out += head + "\n| --- |" + " --- |" * len(strains) + "\n"
    for film in data["films"]:
        size = " x ".join(f"{v:.1f}" for v in film["size_A"][:2])
        a = {p["strain"]: p for p in film["atomistic"]["neb"]}
        c = {p["strain"]: p for p in film["coupled"]["neb"]}
        cells = []
        for e in strains:
            if e in a and e in c and not (a[e]["converged"] and c[e]["converged"]):
                cells.append("not converged")
            elif e in a and e in c:
                cells.append(f"{c[e]['barrier_eV']:.4f} / {a[e]['barrier_eV']:.4f} "
                             f"({c[e]['barrier_eV'] - a[e]['barrier_eV']:+.4f})")
            else:
                cells.append("–")
        out += f"| {size} | " + " | ".join(cells) + " |\n"
    taus = [p["tau_GPa"] for p in data["films"][0]["atomistic"]["neb"]]
    out += "| tau (GPa) | " + " | ".join(f"{t:.3f}" for t in taus) + " |\n"
    return out


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="?",
                   default=str(ROOT / "scripts" / "results" / "step_nucleation_xeon.json"))
    p.add_argument("--out", default=str(ROOT / "docs" / "step_nucleation_q_tau.png"))
    p.add_argument("--table", action="store_true", help="print the Markdown tables only")
    args = p.parse_args(argv)
    data = json.loads(Path(args.results).read_text())
    if args.table:
        print(tables(data))
        return 0
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, film in enumerate(data["films"]):
        c = colours[k % len(colours)]
        size = "x".join(f"{v:.0f}" for v in film["size_A"][:2])
        for name, style in (("atomistic", "o-"), ("coupled", "s--")):
            r = film[name]
            tau = np.array([p["tau_GPa"] for p in r["neb"]])
            Q = np.array([p["barrier_eV"] for p in r["neb"]])
            ok = np.array([p["converged"] for p in r["neb"]], bool)
            tau, Q = tau[ok], Q[ok]
            ax.plot(tau, Q, style, color=c, ms=4, label=f"{size} Å {name} ({r['dofs']} dofs)")
            f = r["fit"]
            if "Q0_eV" in f:
                t = np.linspace(tau.min(), f["tau_ath_GPa"], 100)
                ax.plot(t, f["Q0_eV"] * (1 - t / f["tau_ath_GPa"]) ** f["alpha"], ":",
                        color=c, lw=0.8)
        diff = np.array(film["barrier_difference_eV"], float)
        tau = np.array([p["tau_GPa"] for p in film["atomistic"]["neb"]][:len(diff)])
        bx.plot(tau[np.isfinite(diff)], diff[np.isfinite(diff)], "o-", color=c,
                label=f"{size} Å")
    ax.set_xlabel("resolved shear stress on the partial's system, tau (GPa)")
    ax.set_ylabel("activation energy Q (eV)")
    ax.legend(fontsize=6)
    bx.axhspan(-0.02, 0.02, color="0.9")
    bx.set_xlabel("tau (GPa)")
    bx.set_ylabel("Q coupled - Q atomistic (eV)")
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
