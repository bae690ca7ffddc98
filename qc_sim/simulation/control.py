"""What every run shares: the log a run writes its lines to, the progress it reports, and
the stop a scheduler asks for (SIGTERM or SIGINT at the end of a wall time: the run writes
its checkpoint and returns, its result saying which signal stopped it).

A run reports through two callables a caller passes, or leaves out:

- ``log(line)``: one line of the run's report (its header, thermo lines, figures); the
  command line prints them, a notebook may collect them, ``None`` drops them;
- ``progress(done, total, first)``: ``done`` of ``total`` steps taken since step ``first``
  (the command line draws its progress bar from these).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path

STOP_STATUS = {signal.SIGTERM: 143, signal.SIGINT: 130}


def quiet(line: str) -> None:
    """A log that drops every line."""


def rank_log(log, comm):
    """``log`` on rank 0 (or without a communicator, or when None: :func:`quiet`); a log
    that drops everything on the other ranks."""
    if log is None or (comm is not None and comm.Get_rank() != 0):
        return quiet
    return log


def no_progress(done: int, total: int, first: int = 0) -> None:
    """A progress report that shows nothing."""


class Stop:
    """Remembers the first SIGTERM/SIGINT while a run is inside it; the run loop checks
    ``signal`` between chunks of steps."""

    def __init__(self):
        self.signal = None
        self._old = {}

    def __enter__(self):
        for sig in STOP_STATUS:
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: the caller's handlers stay
                pass
        return self

    def _handle(self, signum, frame):
        self.signal = signal.Signals(signum)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


@dataclass
class RunResult:
    """What every run returns: the steps it took, its wall time, the checkpoint it wrote
    last (or None), and the signal that stopped it early (or None). ``status`` is the exit
    status the command line gives it: 0, or 143 (SIGTERM) / 130 (SIGINT) when stopped."""

    steps: int = 0
    wall_s: float = 0.0
    checkpoint: Path | None = None
    stopped_by: signal.Signals | None = None
    stopped_elsewhere: bool = False  # on MPI ranks: another rank had the signal
    figures: dict = field(default_factory=dict)

    @property
    def status(self) -> int:
        if self.stopped_by is not None:
            return STOP_STATUS[self.stopped_by]
        return 143 if self.stopped_elsewhere else 0
