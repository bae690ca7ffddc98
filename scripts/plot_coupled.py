#!/usr/bin/env python
"""The log-log plot of scripts/bench_coupled.py's JSON: wall time to solution against the
number of lattice sites, the coupled model (bgfc preconditioned, bqcf) beside qc-sim's
atoms and LAMMPS on 1 and 2 ranks; extrapolated figures drawn open and dashed.

    python scripts/plot_coupled.py scripts/results/bench_coupled_cpu_2core_epyc.json \
        docs/coupled_time_to_solution.png
    python scripts/plot_coupled.py --table scripts/results/bench_coupled_cpu_2core_epyc.json

(``--table`` prints the Markdown table of docs/performance.md instead.)
"""

from __future__ import annotations

import json
import sys


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "--table":
        print(table(json.loads(open(argv[1]).read())))
        return 0
    if len(argv) != 2:
        sys.exit(__doc__)
    data = json.loads(open(argv[0]).read())
    runs = data["runs"]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))

    def series(rows, key, flag):
        rows = sorted((r for r in rows if r.get(key) is not None), key=lambda r: r["sites"])
        return ([r["sites"] for r in rows], [r[key] for r in rows],
                [bool(r.get(flag, False)) for r in rows])

    def draw(x, y, ext, label, style):
        measured = [(a, b) for a, b, e in zip(x, y, ext) if not e]
        guessed = [(a, b) for a, b, e in zip(x, y, ext) if e]
        if measured:
            ax.loglog(*zip(*measured), style, label=label)
        if guessed:  # joined to the last measured point
            pts = ([measured[-1]] if measured else []) + guessed
            ax.loglog(*zip(*pts), style[:-1] + "--", mfc="none", color=ax.lines[-1].get_color(),
                      label=f"{label} (extrapolated)")

    bgfc = [r for r in runs if r["method"] == "bgfc" and r["preconditioned"]]
    draw(*series(bgfc, "atomistic_s", "atomistic_extrapolated"), "qc-sim atoms, 1 core", "s-")
    for ranks in (1, 2):
        key = f"lammps_{ranks}_ranks_s"
        if any(key in r for r in bgfc):
            draw(*series(bgfc, key, f"lammps_{ranks}_ranks_extrapolated"),
                 f"LAMMPS CG, {ranks} rank{'s' if ranks > 1 else ''}", "^-")
    for method, pre, label in (("bgfc", True, "coupled bgfc (preconditioned)"),
                               ("bgfc", False, "coupled bgfc (plain L-BFGS)"),
                               ("bqcf", True, "coupled bqcf (preconditioned)")):
        rows = [r for r in runs if r["method"] == method and r["preconditioned"] == pre]
        x, y, _ = series(rows, "coupled_s", "")
        if x:
            ax.loglog(x, y, "o-", label=label)
    ax.set_xlabel("lattice sites of the clamped cube")
    ax.set_ylabel("wall time to fmax 1e-4 eV/Å (s)")
    ax.set_title("Cu vacancy: coupled model against full atomistics\n"
                 f"{data['machine'].get('cpu', '')} ({data.get('threads', 1)} thread)",
                 fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(argv[1], dpi=120)
    return 0


def table(data) -> str:
    """The Markdown table: per size and coupled run, the process wall times of the coupled
    model, qc-sim's atoms and LAMMPS (1 and 2 ranks; extrapolated marked *), the speed-up
    against the faster of the same-core figures, evaluations and the energy error."""
    def fmt(row, key, flag=None):
        if row.get(key) is None:
            return "–"
        v = row[key]
        text = f"{v:.3g}" if v < 100 else f"{v:.0f}"
        return text + ("*" if flag and row.get(flag) else "")

    head = ("| sites | model | nodes / elements | evaluations | coupled (s) | qc-sim atoms, 1 "
            "core (s) | LAMMPS 1 rank (s) | LAMMPS 2 ranks (s) | speed-up, same core | "
            "speed-up vs LAMMPS 2 ranks | E_f error (eV) | continuum share |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    lines = [head]
    for r in sorted(data["runs"], key=lambda r: (r["sites"], r["method"],
                                                 not r["preconditioned"])):
        model = f"{r['method']}{'' if r['preconditioned'] else ' (plain)'}"
        share = r.get("continuum_share")
        lines.append(
            f"| {r['sites']:,} | {model} | {r['nodes']:,} / {r['elements']:,} | "
            f"{r['evaluations']} | {r['coupled_s']:.2f} | "
            f"{fmt(r, 'atomistic_s', 'atomistic_extrapolated')} | "
            f"{fmt(r, 'lammps_1_ranks_s', 'lammps_1_ranks_extrapolated')} | "
            f"{fmt(r, 'lammps_2_ranks_s', 'lammps_2_ranks_extrapolated')} | "
            f"{r['speedup']:.1f} | {r.get('speedup_vs_lammps_2_ranks', float('nan')):.1f} | "
            f"{r['energy_error']:+.1e} | {'–' if share is None else f'{share:.0%}'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
