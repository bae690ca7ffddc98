"""Meshes from files: anything meshio reads (Gmsh .msh, VTK .vtu/.vtk, XDMF, ...), as the
P1 simplices qc-sim's regions use: triangles (2D; a flat third coordinate dropped) or, where
the file has any, tetrahedra. Unreadable files and files without simplices are InputErrors
naming the file."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from qc_sim.errors import InputError


def read_simplices(path):
    """(points (n, d), simplices (ne, d + 1), cell_data {name: (ne,) array}) of ``path``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such mesh file")
    try:
        import meshio
    except ImportError:
        raise InputError(f"{path}: reading a mesh file needs meshio (pip install meshio)") \
            from None
    try:  # meshio raises many kinds for unreadable files, and some readers exit
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            data = meshio.read(path)
    except (Exception, SystemExit) as exc:
        reason = ("no meshio reader for its suffix accepts it" if isinstance(exc, SystemExit)
                  else f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise InputError(f"{path}: cannot read the mesh ({reason})") from None
    kinds = [b.type for b in data.cells]
    kind = "tetra" if "tetra" in kinds else "triangle" if "triangle" in kinds else None
    if kind is None:
        raise InputError(f"{path}: no triangles or tetrahedra in the mesh (cells: "
                         f"{', '.join(sorted(set(kinds))) or 'none'})")
    blocks = [i for i, b in enumerate(data.cells) if b.type == kind]
    simplices = np.concatenate([data.cells[i].data for i in blocks])
    cell_data = {name: np.concatenate([np.asarray(arrays[i]).reshape(-1) for i in blocks])
                 for name, arrays in data.cell_data.items()
                 if all(np.asarray(arrays[i]).ndim <= 1 or np.asarray(arrays[i]).shape[1:] == (1,)
                        for i in blocks)}
    points = np.asarray(data.points, float)
    d = 3 if kind == "tetra" else 2
    if d == 2 and points.shape[1] == 3:
        if np.ptp(points[:, 2]) > 1e-12 * max(np.ptp(points[:, :2]), 1.0):
            raise InputError(f"{path}: a triangle mesh must lie in a plane z = const")
        points = points[:, :2]
    if not np.all(np.isfinite(points)):
        raise InputError(f"{path}: the mesh has non-finite coordinates")
    return points, simplices.astype(np.int64), cell_data


def read_mesh(path):
    """A :class:`~qc_sim.continuum.mesh.Mesh` of the file's simplices (only the nodes they
    use), its bounding-box sides tagged (``node_sets``/``face_sets`` "xlo", "xhi", ...)."""
    from qc_sim.continuum.mesh import Mesh

    points, simplices, _ = read_simplices(path)
    used, simplices = np.unique(simplices, return_inverse=True)
    try:
        mesh = Mesh(points[used], simplices.reshape(-1, points.shape[1] + 1))
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    mesh.tag_box_sides(tol=1e-9 * float(np.ptp(mesh.nodes, axis=0).max()))
    return mesh
