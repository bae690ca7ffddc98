#!/usr/bin/env python
"""The barrier of dislocation nucleation from a surface step against the resolved shear
stress, coupled and atomistic, for each block of scripts/step_nucleation.py's JSON; the
power-law fits dotted. Also merges the JSON of runs made one model at a time (``--models
atomistic`` and ``--models coupled`` on two cores) into one, with the ratios and
differences per block, and prints the Markdown tables of docs/step_nucleation.md.

    python scripts/plot_step_nucleation.py RESULTS.json [MORE.json] [--merged OUT.json]
                                           [--out docs/step_nucleation_q_tau.png] [--table]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("atomistic", "coupled")


def merge(parts) -> dict:
    """One result from several runs of scripts/step_nucleation.py: each block (by its
    cells) takes each model from the run that has it; per block the degrees of freedom and
    wall-time ratios (whole study, and NEBs only: end states and bands) and the barrier
    differences where both models ran."""
    out = {k: v for k, v in parts[0].items() if k != "blocks"}
    out["runs"] = [{k: p.get(k) for k in ("commit", "machine", "omp_threads")} for p in parts]
    blocks = {}
    for part in parts:
        for b in part["blocks"]:
            row = blocks.setdefault(tuple(b["cells"]), {"cells": b["cells"],
                                                        "size_A": b["size_A"]})
            row.update({k: v for k, v in b.items()
                        if k in MODELS or k.startswith("lammps_neb")})
    for row in blocks.values():
        if all(m in row for m in MODELS):
            a, c = row["atomistic"], row["coupled"]
            row["dof_ratio"] = a["dofs"] / c["dofs"]
            row["wall_ratio"] = a["wall_seconds"] / c["wall_seconds"]
            row["neb_wall_ratio"] = sum(a["neb_seconds"]) / sum(c["neb_seconds"])
            qa = {p["strain"]: p for p in a["neb"]}
            row["barrier_difference_eV"] = {
                str(p["strain"]): p["barrier_eV"] - qa[p["strain"]]["barrier_eV"]
                for p in c["neb"] if p["strain"] in qa}
    out["blocks"] = sorted(blocks.values(), key=lambda r: r["cells"])
    return out


def tables(data) -> str:
    """The results as Markdown: per block and model, sizes, degrees of freedom, wall times,
    the quasi-static nucleation strain and the fit; per strain, both barriers."""
    rows = ["| block (Å) | model | dofs | whole study (s) | NEBs (s) | quasi-static "
            "nucleation strain | Q0 (eV) | tau_ath (GPa) | alpha |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    strains = []
    for b in data["blocks"]:
        size = " x ".join(f"{v:.0f}" for v in b["size_A"][:2])
        for name in MODELS:
            if name not in b:
                continue
            r, f = b[name], b[name]["fit"]
            strains = strains or [p["strain"] for p in r["neb"]]
            fit = [f.get("Q0_eV"), f.get("tau_ath_GPa"), f.get("alpha")]
            rows.append(f"| {size} | {name} | {r['dofs']} | {r['wall_seconds']:.0f} | "
                        f"{sum(r['neb_seconds']):.0f} | "
                        f"{r['quasi_static']['nucleation_strain']:.4g} | "
                        + " | ".join("–" if v is None else f"{v:.4g}" for v in fit) + " |")
    out = "\n".join(rows) + "\n\n"
    out += ("| block (Å) | " + " | ".join(f"ε = {e:g}" for e in strains)
            + " | dofs ratio | whole-study time ratio | NEB time ratio |\n| --- |"
            + " --- |" * (len(strains) + 3)
            + "\n")
    for b in data["blocks"]:
        size = " x ".join(f"{v:.0f}" for v in b["size_A"][:2])
        q = {m: {p["strain"]: p for p in b[m]["neb"]} for m in MODELS if m in b}
        cells = []
        for e in strains:
            got = [q[m].get(e) for m in MODELS if m in q]
            if any(p is None for p in got):
                cells.append("–")
            elif not all(p["converged"] for p in got):
                cells.append("not converged")
            elif len(got) == 2:
                c, a = q["coupled"][e]["barrier_eV"], q["atomistic"][e]["barrier_eV"]
                cells.append(f"{c:.4f} / {a:.4f} ({c - a:+.4f})")
            else:
                cells.append(f"{got[0]['barrier_eV']:.4f} ({next(iter(q))} only)")
        ratios = [f"{b[k]:.1f}" if k in b else "–" for k in ("dof_ratio", "wall_ratio",
                                                                 "neb_wall_ratio")]
        out += f"| {size} | " + " | ".join(cells + ratios) + " |\n"
    taus = [p["tau_GPa"] for p in data["blocks"][0][next(m for m in MODELS
                                                         if m in data["blocks"][0])]["neb"]]
    out += "| tau (GPa) | " + " | ".join(f"{t:.3f}" for t in taus) + " | | | |\n"
    return out


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("results", nargs="*",
                   default=[str(ROOT / "scripts" / "results" / "step_nucleation_xeon.json")])
    p.add_argument("--merged", help="write the merged JSON here")
    p.add_argument("--out", default=str(ROOT / "docs" / "step_nucleation_q_tau.png"))
    p.add_argument("--table", action="store_true", help="print the Markdown tables only")
    args = p.parse_args(argv)
    data = merge([json.loads(Path(f).read_text()) for f in args.results])
    if args.merged:
        Path(args.merged).write_text(json.dumps(data, indent=1) + "\n")
    if args.table:
        print(tables(data))
        return 0
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, b in enumerate(data["blocks"]):
        c = colours[k % len(colours)]
        size = "x".join(f"{v:.0f}" for v in b["size_A"][:2])
        for name, style in (("atomistic", "o-"), ("coupled", "s--")):
            if name not in b:
                continue
            pts = [q for q in b[name]["neb"] if q["converged"]]
            tau = np.array([q["tau_GPa"] for q in pts])
            Q = np.array([q["barrier_eV"] for q in pts])
            ax.plot(tau, Q, style, color=c, ms=4, label=f"{size} Å {name}")
            f = b[name]["fit"]
            if f.get("Q0_eV") is not None:
                t = np.linspace(tau.min(), tau.max(), 50)
                ax.plot(t, f["Q0_eV"] * (1 - t / f["tau_ath_GPa"]) ** f["alpha"], ":",
                        color=c, lw=0.8)
        if all(m in b for m in MODELS):
            d = b["barrier_difference_eV"]
            bx.plot([float(e) for e in d], list(d.values()), "o-", color=c,
                    label=f"{size} Å (dofs {b['dof_ratio']:.1f}x, NEB time "
                          f"{b['neb_wall_ratio']:.1f}x)")
    ax.set_xlabel("resolved shear stress tau (GPa)")
    ax.set_ylabel("barrier Q (eV)")
    ax.set_title("Q(tau): coupled (dashed) and atomistic (solid)")
    ax.legend(fontsize=6)
    bx.axhline(0.02, color="grey", lw=0.8, ls="--")
    bx.axhline(-0.02, color="grey", lw=0.8, ls="--")
    bx.set_xlabel("applied strain")
    bx.set_ylabel("coupled - atomistic Q (eV)")
    bx.set_title("coupled against atomistic, same block")
    bx.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
