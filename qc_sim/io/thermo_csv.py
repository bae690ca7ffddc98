"""Thermo tables as CSV (one row per thermo line; spreadsheets, pandas): the columns named
once, numbers written with ``repr`` so that a float read back is the float written."""

from __future__ import annotations

import numpy as np


class ThermoCSV:
    """A CSV file of thermo rows at ``path`` with ``columns``; ``append`` continues the
    file of an interrupted run (a restart) without a second header. Writes nothing when
    ``path`` is empty. Use as a context manager or call :meth:`close`."""

    def __init__(self, path, columns, append: bool = False):
        self.columns = list(columns)
        self.file = open(path, "a" if append else "w") if path else None
        if self.file is not None and not append:
            self.file.write(",".join(self.columns) + "\n")

    def row(self, *values) -> None:
        """One row: integers and booleans as they are, everything else as ``repr(float)``."""
        if self.file is None:
            return
        text = [str(bool(v)) if isinstance(v, (bool, np.bool_)) else str(int(v))
                if isinstance(v, (int, np.integer)) else repr(float(v)) for v in values]
        self.file.write(",".join(text) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
