"""The particle trajectories a run writes, by format: H5MD (``.h5md``; MDAnalysis, h5py) and
GSD (``.gsd``; OVITO, the ``gsd`` package), written frame by frame and continued by a
restart; on several MPI ranks as per-rank parts merged at the end
(:mod:`qc_sim.io.h5md_parts`, which also merges and removes the parts a stopped run left)."""

from __future__ import annotations


def is_gsd(path) -> bool:
    return str(path).lower().endswith(".gsd")


def open_writer(path, box, ids, types, species, dimension: int = 3, properties=None,
                start: int | None = None, gsd: bool | None = None):
    """A GSD writer for a ``.gsd`` name (or ``gsd`` true), else an H5MD one; ``start`` a
    restart's first step (the frames before it kept, the rest dropped)."""
    if is_gsd(path) if gsd is None else gsd:
        from qc_sim.io.gsd import GSDWriter

        return GSDWriter(path, box, ids, types, species, dimension, properties=properties,
                         start=start)
    from qc_sim.io.h5md import H5MDWriter

    return H5MDWriter(path, box, ids, types, dimension, properties=properties, start=start)


def outputs(output) -> list[str]:
    """The particle trajectory files of an ``[output]`` section: the H5MD then the GSD."""
    return [name for name in (output.trajectory, output.gsd) if name]


def parts_name(output) -> str:
    """The name the per-rank parts of a run on several ranks are called after (NAME.partK):
    the H5MD trajectory's, or the GSD one's when there is no H5MD."""
    return output.trajectory or output.gsd
