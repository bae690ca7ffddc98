#!/usr/bin/env python
"""Nanoindentation of Al (001) by a spherical repulsive indenter in a coupled model
(cases/al_indent.toml, :mod:`qc_sim.coupling.indent`): the load-depth table, its comparison
with Hertz's law of the potential's own elastic constants and the first load drop. The run's
lines go to stderr; one JSON object (machine, commit, settings, figures) to stdout.

    python scripts/indent.py [--case cases/al_indent.toml] [--max-depth 4.0]
                             [--depth-step 0.25] [--position X Y] [--backend cpu]
                             > result.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_md import commit, machine  # noqa: E402



def main(argv=None) -> int:
    from qc_sim.cases.schema import load_case
    from qc_sim.simulation.indent import indentation

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", default="cases/al_indent.toml")
    p.add_argument("--max-depth", type=float, help="Å (default: the case's)")
    p.add_argument("--depth-step", type=float, help="Å (default: the case's)")
    p.add_argument("--position", type=float, nargs=2, help="the indenter's axis (x, y) Å "
                   "(default: the case's)")
    p.add_argument("--backend", default="cpu")
    args = p.parse_args(argv)
    case = load_case(args.case)
    spec = replace(case.indent, csv="",
                   max_depth=args.max_depth if args.max_depth is not None
                   else case.indent.max_depth,
                   depth_step=args.depth_step or case.indent.depth_step,
                   position=tuple(args.position or case.indent.position))
    case = replace(case, indent=spec)
    figures = indentation(case, args.backend, log=lambda line: print(line, file=sys.stderr)).figures
    print(json.dumps({"benchmark": "nanoindentation", "commit": commit(), "machine": machine(),
                      "case": args.case,
                      "lattice": asdict(case.lattice), "coupling": asdict(case.coupling),
                      "indent": asdict(spec), **figures}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
