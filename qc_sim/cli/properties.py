"""``qc-sim properties POTENTIAL --element X``: the bridging numbers of a potential.

With ``--rates`` only the vacancy hop by harmonic transition-state theory
(:mod:`qc_sim.properties.rates`): the lattice constant, the climbing-image NEB, the Hessians
at the minimum and the saddle, then Vineyard's prefactor, E_m and D_v(T).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from qc_sim.errors import InputError


def _potential_file(name: str) -> Path:
    """The potential file ``name``: as given, or found in the folders of
    :func:`qc_sim.potentials.files.search_path` (the working directory first)."""
    from qc_sim.potentials import files

    found = files.find(name, Path.cwd())
    if found is not None:
        return found
    dirs = ", ".join(str(d) for d in files.search_path(Path.cwd()))
    raise InputError(f"{name}: potential file not found in {dirs}: "
                     f"{files.not_found_advice('the working directory')}")


class _Progress:
    """Stage lines: plain lines in a batch log, one updated line on a terminal."""

    def __init__(self, stream, total):
        self.stream, self.total = stream, total
        self.tty = stream.isatty()

    def start(self, k, name):
        text = f"[{k + 1}/{self.total}] {name} ..."
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()

    def done(self, k, name, seconds):
        text = f"[{k + 1}/{self.total}] {name}: done in {seconds:.1f} s"
        self.stream.write(("\r\x1b[K" if self.tty else "") + text + "\n")
        self.stream.flush()


def run_properties(args) -> int:
    from qc_sim.backend import get_device
    from qc_sim.potentials import load_potential
    from qc_sim.properties import report

    if args.images < 1:
        raise InputError(f"--images must be at least 1, got {args.images}")
    rate_options = _rate_options(args)
    path = _potential_file(args.potential)
    potential = load_potential(str(path))
    if args.element not in potential.species:
        raise InputError(f"{path}: element {args.element!r} is not in the potential "
                         f"(it has {', '.join(potential.species)})")
    potential = load_potential(str(path), species=(args.element,))
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InputError("--plot needs matplotlib (pip install matplotlib)") from None
    device = get_device(args.backend)
    if args.rates:
        return _run_rates(args, potential, device, *rate_options)
    progress = _Progress(sys.stderr, len(report.STAGES))
    progress.start(0, report.STAGES[0])

    def on_stage(k, seconds):
        progress.done(k, report.STAGES[k], seconds)
        if k + 1 < len(report.STAGES):
            progress.start(k + 1, report.STAGES[k + 1])

    props = report.compute_properties(potential, args.element, args.lattice, device,
                                      images=args.images, max_steps=args.max_steps,
                                      interpolation=args.interpolation,
                                      progress=on_stage)
    if args.plot:
        for png in report.plot(props, args.plot):
            print(f"wrote {png}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_json(props), indent=2))
    else:
        print(report.text_report(props))
    return 0


DEFAULT_TEMPERATURES = "300,600,900,1200"


def _rate_options(args):
    """(temperatures, cells, radius) of --rates, checked; InputError naming the option."""
    given = [name for name, value in (("--temperatures", args.temperatures),
                                      ("--cells", args.cells),
                                      ("--hessian-radius", args.hessian_radius))
             if value is not None]
    if not args.rates:
        if given:
            raise InputError(f"{given[0]} is an option of --rates; add --rates")
        return None, None, None
    if args.plot:
        raise InputError("--plot is not an option of --rates")
    text = DEFAULT_TEMPERATURES if args.temperatures is None else args.temperatures
    try:
        temperatures = [float(t) for t in text.split(",")]
    except ValueError:
        raise InputError(f"--temperatures must be comma-separated numbers (K), "
                         f"got {text!r}") from None
    if not all(0.0 < t < float("inf") for t in temperatures):
        raise InputError(f"--temperatures must be positive and finite (K), got {text!r}")
    cells = 4 if args.cells is None else args.cells
    if cells < 2:
        raise InputError(f"--cells must be at least 2, got {cells}")
    radius = args.hessian_radius
    if radius is not None and not 0.0 < radius < float("inf"):
        raise InputError(f"--hessian-radius must be positive (Å), got {radius}")
    return temperatures, cells, radius


def _run_rates(args, potential, device, temperatures, cells, radius) -> int:
    from qc_sim.properties import rates
    from qc_sim.properties.bulk import equilibrium_lattice

    stages = ("lattice constant",) + rates.RATE_STAGES
    progress = _Progress(sys.stderr, len(stages))
    progress.start(0, stages[0])
    start = time.perf_counter()
    a0, _ = equilibrium_lattice(potential, args.element, args.lattice, device)
    progress.done(0, stages[0], time.perf_counter() - start)
    progress.start(1, stages[1])

    def on_stage(k, seconds):
        progress.done(k + 1, stages[k + 1], seconds)
        if k + 2 < len(stages):
            progress.start(k + 2, stages[k + 2])

    try:
        result = rates.vacancy_hop_rates(potential, args.element, args.lattice, a0, device,
                                         repeats=(cells,) * 3, images=args.images,
                                         max_steps=args.max_steps,
                                         interpolation=args.interpolation, radius=radius,
                                         progress=on_stage)
    except rates.ModeCountError as exc:
        raise InputError(f"--rates: {exc}") from None
    if args.json:
        print(json.dumps(rates.as_json(result, temperatures), indent=2))
    else:
        print(rates.text_report(result, temperatures))
    return 0
