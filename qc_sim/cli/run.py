"""``qc-sim run CASE`` and ``qc-sim restart CHECKPOINT``: the case run by
:mod:`qc_sim.simulation` with its lines printed to stdout as they come (LAMMPS-style thermo
lines) and a progress bar on a terminal; the exit status is the run's (0, or 143/130 when
a SIGTERM/SIGINT stopped it after writing its checkpoint)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """A one-line progress bar on stderr when it is a terminal (``mode`` auto) or always;
    batch logs get only the thermo lines. It redraws at most ten times a second. Called as
    a run's ``progress(done, total, first)``; :meth:`clear` before a line is printed."""

    WIDTH = 30

    def __init__(self, mode: str = "auto", stream=None):
        self.stream = sys.stderr if stream is None else stream
        self.mode = mode
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.on = None  # decided at the first report, when the total is known
        self.start = time.perf_counter()
        self.drawn = -1.0  # when the bar was last drawn
        self.visible = False

    def __call__(self, done: int, total: int, first: int = 0) -> None:
        if self.on is None:
            self.on = total > 0 and (self.mode == "always" or (self.mode == "auto" and self.tty))
        if not self.on:
            return
        now = time.perf_counter()
        if self.visible and now - self.drawn < 0.1 and done < total:
            return
        self.drawn, self.visible = now, True
        frac = done / total
        fill = int(round(self.WIDTH * frac))
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        self.stream.write(f"\r[{'#' * fill}{'.' * (self.WIDTH - fill)}] step "
                          f"{first + done}/{first + total} {100 * frac:5.1f}% "
                          f"elapsed {elapsed:6.1f} s, left {eta:6.1f} s\x1b[K")
        self.stream.flush()

    def clear(self) -> None:
        """Erase the bar before a line is printed; the next update redraws it."""
        if self.on and self.visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.visible = False

    def close(self) -> None:
        if self.on:
            self.stream.write("\n")
            self.stream.flush()


def printer(out=None, bar=None):
    """A run's ``log``: each line printed to ``out`` (stdout at the call) and flushed, the
    progress bar cleared first."""

    def log(line: str) -> None:
        if bar is not None:
            bar.clear()
        print(line, file=sys.stdout if out is None else out, flush=True)

    return log


def run(case, backend=None, steps=None, comm=None) -> int:
    """``qc-sim run`` of the parsed ``case``: its exit status."""
    from qc_sim.simulation.run import run_case

    lead = comm is None or comm.Get_rank() == 0
    bar = ProgressBar(case.output.progress if lead else "never")
    try:
        result = run_case(case, backend=backend, steps=steps, comm=comm,
                          log=printer(bar=bar), progress=bar)
    finally:
        bar.close()
    return result.status


def restart(path, cp, case=None, backend=None, steps=None, comm=None) -> int:
    """``qc-sim restart`` (or ``run --resume``) of the checkpoint ``cp`` read from ``path``;
    ``case``: the case it carries, if the caller has parsed it already."""
    from pathlib import Path

    from qc_sim.cases.schema import parse_case
    from qc_sim.simulation.run import restart_case

    if case is None:
        case = parse_case(cp.case_text, Path(cp.case_path))
    lead = comm is None or comm.Get_rank() == 0
    bar = ProgressBar(case.output.progress if lead else "never")
    try:
        result = restart_case(cp, backend=backend, steps=steps, comm=comm,
                              log=printer(bar=bar), progress=bar, case=case, path=path)
    finally:
        bar.close()
    return result.status
