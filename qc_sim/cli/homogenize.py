"""``qc-sim homogenize INPUT``: effective conductivity tensor, porosity and tortuosity of a
microstructure (the periodic cell problem, :mod:`qc_sim.regions.homogenization`).

INPUT is a ``.npy`` voxel image of phase indices (2D or 3D) or any mesh file meshio reads
(triangles or tetrahedra with a cell-data phase tag, periodic on its bounding box).
``--phase-values K0,K1,...`` gives each phase's conductivity (default for a 0/1 image:
``1,0``, conducting pores in an insulating solid). Prints a table, or with ``--json`` one
JSON object (``effective_tensor``, ``porosity``, ``tortuosity`` with ``null`` where infinite
or undefined, ``percolating``, ``notes``, ``solver``).
"""

from __future__ import annotations

import math

from qc_sim.errors import InputError
from qc_sim.regions.homogenization import (AXES, DEFAULT_RTOL, SOLVERS, homogenize_file,
                                           to_json)


def add_parser(subparsers):
    """Add the ``homogenize`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "homogenize", help="effective conductivity, porosity and tortuosity of a voxel image "
        "or periodic phase mesh (periodic cell problem)")
    p.add_argument("input", help=".npy voxel image of phase indices, or a mesh file meshio "
                   "reads with a cell-data phase tag")
    p.add_argument("--phase-values", metavar="K0,K1,...", default=None,
                   help="conductivity of each phase, phase 0 (the pores) first "
                   "(default for a 0/1 image: 1,0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--backend", choices=("auto", "gpu", "cpu", "numpy"), default=None)
    p.add_argument("--solver", choices=SOLVERS, default=None,
                   help="amg: CG with a pyamg preconditioner (CPU default); jacobi: "
                   "matrix-free Jacobi-PCG on the backend's arrays (GPU default)")
    p.add_argument("--tol", type=float, default=DEFAULT_RTOL,
                   help=f"CG relative residual tolerance (default {DEFAULT_RTOL:g})")
    p.add_argument("--phase-key", default=None,
                   help="cell-data name of the phase tag in a mesh file")
    return p


def parse_phase_values(text):
    """``"1,0.5,0"`` -> [1.0, 0.5, 0.0]; None stays None."""
    if text is None:
        return None
    values = []
    for k, item in enumerate(str(text).split(",")):
        try:
            value = float(item)
        except ValueError:
            raise InputError(f"--phase-values: item {k + 1} ({item.strip()!r}) is not a "
                             "number") from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"--phase-values: phase {k}: conductivity must be finite and "
                             f">= 0, got {item.strip()}")
        values.append(value)
    return values


def run_homogenize(args, comm=None) -> int:
    """Print the table (or JSON) of ``args.input``; on MPI ranks (``comm``) the d cell
    problems are spread over the ranks and rank 0 prints."""
    result = homogenize_file(args.input, parse_phase_values(getattr(args, "phase_values", None)),
                             phase_key=getattr(args, "phase_key", None),
                             rtol=getattr(args, "tol", DEFAULT_RTOL),
                             backend=getattr(args, "backend", None),
                             solver=getattr(args, "solver", None), comm=comm)
    if comm is not None and comm.Get_rank() != 0:
        return 0
    if getattr(args, "json", False):
        print(to_json(result))
    else:
        print(format_table(args.input, result))
    return 0


def _number(value: float) -> str:
    if math.isinf(value):
        return "inf"
    if math.isnan(value):
        return "undefined"
    return f"{value:.6g}"


def format_table(source, result: dict) -> str:
    d, info = result["dimension"], result["solver"]
    shape = info.get("shape")
    what = (f"{d}D image {' x '.join(map(str, shape))} voxels" if shape else
            f"{d}D mesh, {info['elements']} elements, {info['nodes']} nodes")
    lines = [f"homogenize {source}: {what}",
             f"porosity (phase 0)   {result['porosity']:.6g}",
             "effective tensor (units of the phase values):"]
    for row in result["effective_tensor"]:
        lines.append("  " + "  ".join(f"{v:12.6g}" for v in row))
    lines.append(f"{'axis':>6} {'K_ii':>12} {'tortuosity':>12}  percolating")
    for i in range(d):
        lines.append(f"{AXES[i]:>6} {result['effective_tensor'][i][i]:12.6g} "
                     f"{_number(result['tortuosity'][i]):>12}  "
                     f"{'yes' if result['percolating'][i] else 'no'}")
    iterations = "/".join(str(n) for n in info["iterations"])
    lines.append(f"solver: {info['method']}, rtol {info['rtol']:g}, iterations {iterations}, "
                 f"residual {info['residual']:.2g}, {info['seconds']:.3g} s")
    lines.extend(f"note: {note}" for note in result["notes"])
    return "\n".join(lines)
