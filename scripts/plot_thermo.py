#!/usr/bin/env python
"""Draw the energies and the temperature of a run against time from its thermo CSV
(``[output] thermo_csv`` of a case) into a PNG.

    python scripts/plot_thermo.py thermo.csv [--out thermo.png]
"""

from __future__ import annotations

import argparse
import csv
import sys


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("--out", default=None, help="PNG to write (default: beside the CSV)")
    args = p.parse_args(argv)
    try:
        with open(args.csv) as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        print(f"plot_thermo: {args.csv}: {exc.strerror}", file=sys.stderr)
        return 2
    if not rows or "time_ps" not in rows[0]:
        print(f"plot_thermo: {args.csv}: not a qc-sim thermo CSV", file=sys.stderr)
        return 2
    column = {k: [float(r[k]) for r in rows] for k in rows[0]}
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(6, 5))
    for key, label in (("pe_eV", "potential"), ("ke_eV", "kinetic"), ("etotal_eV", "total")):
        top.plot(column["time_ps"], [v - column[key][0] for v in column[key]], label=label)
    top.set_ylabel("energy - initial (eV)")
    top.legend()
    bottom.plot(column["time_ps"], column["temperature_K"], color="C3")
    bottom.set_ylabel("temperature (K)")
    bottom.set_xlabel("time (ps)")
    fig.tight_layout()
    out = args.out or args.csv.rsplit(".", 1)[0] + ".png"
    fig.savefig(out, dpi=120)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
