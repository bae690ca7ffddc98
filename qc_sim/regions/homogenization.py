"""Homogenisation of a microstructure: the periodic cell problem (docs/design.md section 8).

For each unit macroscopic gradient e_j, solve on the representative volume Y

    div(K(x) (grad chi_j + e_j)) = 0,   chi_j periodic,

and take ``K_eff e_j = <K (grad chi_j + e_j)>`` (the mean over Y): the full d x d effective
conductivity (or diffusivity) tensor, in 2D and 3D (Bensoussan, Lions & Papanicolaou 1978,
ch. 1; Torquato 2002, *Random Heterogeneous Materials*, ch. 13). The microstructure is

- a voxel image (2D or 3D array, or ``.npy`` file) of phase indices with a conductivity per
  phase, discretised by finite volumes with harmonic-mean face conductances
  (:mod:`qc_sim.regions.homogenization_voxel`), or
- a periodic P1 triangle or tetrahedron mesh with a phase per element, or any file meshio
  reads with a cell-data phase tag (:mod:`qc_sim.regions.homogenization_mesh`).

Phase 0 is the pore space. Phases may have zero conductivity (the solid of an electrode):
only conducting voxels or elements carry unknowns; clusters that percolate along no axis
carry no flux and are dropped; along an axis with no connected periodic path through the
conducting phases the effective conductivity is exactly 0 and the tortuosity infinite.

The result is a plain dict (see :func:`homogenize_image`):

- ``effective_tensor``: list of d lists (units of the phase values);
- ``porosity``: volume fraction eps of phase 0;
- ``tortuosity``: per axis ``tau_i = eps D0 / K_eff[i][i]`` (D0 the conductivity of
  phase 0), ``float('inf')`` where ``percolating[i]`` is False, ``float('nan')`` where it
  is undefined (eps = 0 or D0 = 0); :func:`to_json` writes both as JSON ``null``, and
  ``percolating`` tells which;
- ``percolating``: list of bools per axis; ``notes``: sentences on anything infinite;
- ``solver``: method, tolerance, iterations and final relative residual per gradient,
  unknowns, seconds (setup, solve, total), asymmetry ``|K - K^T| / |K|``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from qc_sim.backend import get_device
from qc_sim.errors import InputError
from qc_sim.regions.homogenization_linalg import check_rtol
from qc_sim.regions.homogenization_mesh import read_phase_mesh, solve_cell_mesh
from qc_sim.regions.homogenization_voxel import (face_conductances, solve_cell_amg,
                                                 solve_cell_stencil, voxel_clusters)

DEFAULT_RTOL = 1e-8  # CG stops at |b - A chi| <= rtol |b|
SOLVERS = ("amg", "jacobi")
MAX_PHASE = 65535  # phase indices look up a table of conductivities
AXES = "xyz"


def conductivity_table(phase_values, phases_present, where: str = "phase values"):
    """Per phase index, its conductivity (array indexed by phase); ``phase_values`` a
    sequence (K0, K1, ...) or a dict {phase: K}. Every phase present needs a finite value
    >= 0; None on a binary image means (1, 0): conducting pores in an insulating solid."""
    present = sorted(int(p) for p in phases_present)
    if phase_values is None:
        if set(present) <= {0, 1}:
            phase_values = (1.0, 0.0)
        else:
            raise InputError(f"{where}: the microstructure has phases "
                             f"{', '.join(map(str, present))}; give a conductivity for each "
                             "(--phase-values K0,K1,...)")
    try:
        if isinstance(phase_values, (str, bytes)):
            raise TypeError
        items = ({int(k): v for k, v in phase_values.items()}
                 if isinstance(phase_values, dict) else dict(enumerate(phase_values)))
    except (TypeError, ValueError):
        raise InputError(f"{where}: expected a list of conductivities (K0, K1, ...) or a "
                         f"dict phase -> conductivity, got {phase_values!r}") from None
    wrong = [p for p in items if not 0 <= p <= MAX_PHASE]
    if wrong:
        raise InputError(f"{where}: phase indices run from 0 to {MAX_PHASE}, got {wrong[0]}")
    size = max(present + list(items), default=0) + 1
    table = np.full(size, np.nan)
    for phase, value in items.items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{where}: phase {phase}: expected a number, got {value!r}") \
                from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{where}: phase {phase}: conductivity must be finite and >= 0, "
                             f"got {value:g}")
        table[phase] = value
    missing = [p for p in present if np.isnan(table[p])]
    if missing:
        raise InputError(f"{where}: no conductivity given for phase "
                         f"{', '.join(map(str, missing))} (the microstructure has phases "
                         f"{', '.join(map(str, present))})")
    if not np.any(table[present] > 0):
        raise InputError(f"{where}: every phase present has zero conductivity")
    return table


def check_phase_image(image, where: str = "image") -> np.ndarray:
    """The image as an integer array of phase indices, 2D or 3D, checked."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise InputError(f"{where}: expected a 2D or 3D image, got {image.ndim} dimensions "
                         f"(shape {image.shape})")
    if image.size == 0:
        raise InputError(f"{where}: the image is empty (shape {image.shape})")
    if image.dtype == bool:
        return image.astype(np.uint8)
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise InputError(f"{where}: expected phase indices (integers), got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)) or np.any(image != np.round(image)):
            raise InputError(f"{where}: phase indices must be whole numbers")
        image = image.astype(np.int64)
    if image.min() < 0:
        raise InputError(f"{where}: phase indices must be >= 0, found {int(image.min())}")
    if image.max() > MAX_PHASE:
        raise InputError(f"{where}: phase indices must be <= {MAX_PHASE}, found "
                         f"{int(image.max())}")
    return image


def load_voxel_image(path) -> np.ndarray:
    """A phase image from a ``.npy`` file (no pickles)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            magic = handle.read(6)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if magic != b"\x93NUMPY":
        raise InputError(f"{path}: cannot read a .npy image (no NumPy header)")
    try:
        image = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: cannot read a .npy image ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(image, np.ndarray):
        raise InputError(f"{path}: expected one array, got an archive of several")
    return check_phase_image(image, where=str(path))


def homogenize_image(image, phase_values=None, *, rtol: float = DEFAULT_RTOL, backend=None,
                     solver: str | None = None, comm=None) -> dict:
    """Effective tensor, porosity and tortuosity of a voxel image of phase indices.

    ``image`` (n0, n1) or (n0, n1, n2) integers >= 0; ``phase_values`` conductivity per
    phase (sequence or dict; see :func:`conductivity_table`); ``backend`` as everywhere
    (None: ``QC_SIM_BACKEND`` or auto); ``solver`` ``"amg"`` (CPU default: assembled
    matrix, CG with a pyamg preconditioner) or ``"jacobi"`` (matrix-free Jacobi-PCG in
    the device's array module; the GPU default); ``comm`` spreads the d cell problems over
    MPI ranks (:func:`_columns`). Returns the dict described in the module.
    """
    t0 = time.perf_counter()
    image = check_phase_image(image)
    rtol = check_rtol(rtol)
    table = conductivity_table(phase_values, np.unique(image))
    device = get_device(backend)
    solver = solver or ("jacobi" if device.name == "gpu" else "amg")
    if solver not in SOLVERS:
        raise InputError(f"solver: expected one of {', '.join(SOLVERS)}, got {solver!r}")
    if solver == "amg" and device.name == "gpu":
        raise InputError("solver 'amg' (pyamg) runs on the CPU; the gpu backend uses 'jacobi'")
    porosity = float(np.count_nonzero(image == 0)) / image.size
    k = table[image]
    g = face_conductances(k)
    kept, anchors, percolating = voxel_clusters(k > 0)
    del k
    columns = _columns(comm, image.ndim)
    if solver == "amg":
        tensor, info = solve_cell_amg(g, kept, anchors, rtol, columns)
    else:
        tensor, info = solve_cell_stencil(g, kept, anchors, rtol, device, columns)
    tensor, info = _merge_columns(comm, tensor, info, columns)
    info.update(backend=device.name, shape=list(image.shape))
    return _summary(tensor, porosity, float(table[0]) if len(table) else 0.0, percolating,
                    info, rtol, t0)


def homogenize_mesh(mesh, phases, phase_values=None, *, rtol: float = DEFAULT_RTOL,
                    comm=None) -> dict:
    """The same for a periodic P1 :class:`~qc_sim.continuum.mesh.Mesh` (period > 0 along
    every axis) with ``phases`` (ne,) the phase index of each element (CPU, AMG-CG)."""
    t0 = time.perf_counter()
    rtol = check_rtol(rtol)
    phases = np.asarray(phases)
    if phases.shape != (len(mesh.elements),):
        raise InputError(f"mesh phases: expected one per element ({len(mesh.elements)}), got "
                         f"shape {phases.shape}")
    if np.any(mesh.period <= 0):
        raise InputError("mesh: the cell problem needs a mesh periodic along every axis "
                         f"(period {mesh.period.tolist()})")
    phases = check_phase_image(phases.reshape(-1, 1), where="mesh phases").ravel()
    table = conductivity_table(phase_values, np.unique(phases))
    columns = _columns(comm, mesh.dim)
    tensor, percolating, info = solve_cell_mesh(mesh, table[phases], rtol, columns)
    tensor, info = _merge_columns(comm, tensor, info, columns)
    cell = float(np.prod(mesh.period))
    porosity = float(mesh.volumes[phases == 0].sum()) / cell
    info.update(backend="numpy", elements=int(len(mesh.elements)), nodes=int(mesh.n_nodes))
    return _summary(tensor, porosity, float(table[0]), percolating, info, rtol, t0)


def homogenize_file(path, phase_values=None, *, phase_key: str | None = None,
                    rtol: float = DEFAULT_RTOL, backend=None, solver=None, comm=None) -> dict:
    """:func:`homogenize_image` for a ``.npy`` file, :func:`homogenize_mesh` for any mesh
    file meshio reads (phase tag from cell data ``phase_key``, else the first of
    :data:`~qc_sim.regions.homogenization_mesh.PHASE_KEYS` present)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".npy":
            return homogenize_image(load_voxel_image(path), phase_values, rtol=rtol,
                                    backend=backend, solver=solver, comm=comm)
        mesh, phases = read_phase_mesh(path, phase_key)
        return homogenize_mesh(mesh, phases, phase_values, rtol=rtol, comm=comm)
    except InputError as exc:  # name the file in every message
        if str(exc).startswith(str(path)):
            raise
        raise InputError(f"{path}: {exc}") from None


def _columns(comm, d: int) -> list[int]:
    """The cell problems (unit gradients e_j) this rank solves: j = rank, rank + size, ...
    The d problems share the matrix but not a right-hand side or an iterate, so each column
    of K_eff has the same bits whichever rank solves it. Every rank finds the percolating
    clusters and sets up the matrix and its AMG hierarchy (on the 32^3 image of
    cases/microstructures, serially: 0.66 s for clusters and assembly, 0.15 s AMG set-up,
    0.47 s for the three solves, which is what ranks share). With more ranks than directions
    the rest idle."""
    if comm is None:
        return list(range(d))
    return list(range(comm.Get_rank(), d, comm.Get_size()))


def _merge_columns(comm, tensor, info, columns):
    """Every rank's solved columns of ``tensor`` and their iteration counts and residuals
    in one (d, d) tensor on every rank (one allgather; seconds summed over ranks)."""
    if comm is None:
        return tensor, info
    from qc_sim.parallel.mpi import allgather

    mine = (columns, tensor[:, columns], [info["iterations"][j] for j in columns],
            [info["residuals"][j] for j in columns], info["solve_seconds"])
    info = dict(info, iterations=list(info["iterations"]), residuals=list(info["residuals"]),
                solve_seconds=0.0)
    for cols, block, iterations, residuals, seconds in allgather(comm, mine):
        tensor[:, cols] = block
        for j, n, r in zip(cols, iterations, residuals):
            info["iterations"][j], info["residuals"][j] = n, r
        info["solve_seconds"] += seconds
    return tensor, info


def _summary(tensor, porosity, k0, percolating, info, rtol, t0) -> dict:
    d = len(tensor)
    percolating = [bool(p) for p in percolating]
    for i in range(d):  # exactly no flux where nothing percolates (not a round-off number)
        if not percolating[i]:
            tensor[i, :] = 0.0
            tensor[:, i] = 0.0
    tortuosity, notes = [], []
    for i in range(d):
        if not percolating[i]:
            tortuosity.append(math.inf)
            notes.append(f"axis {AXES[i]}: no connected periodic path through the conducting "
                         "phases; effective conductivity 0, tortuosity infinite")
        elif porosity == 0.0 or k0 == 0.0:
            tortuosity.append(math.nan)
        else:
            tortuosity.append(porosity * k0 / float(tensor[i, i]))
    if any(percolating) and (porosity == 0.0 or k0 == 0.0):
        notes.append("tortuosity undefined: the pore phase (0) is absent or does not conduct")
    norm = float(np.linalg.norm(tensor))
    info = dict(info, rtol=rtol, seconds=time.perf_counter() - t0,
                residual=max(info["residuals"], default=0.0),
                asymmetry=float(np.linalg.norm(tensor - tensor.T)) / norm if norm else 0.0)
    return {"dimension": d, "effective_tensor": tensor.tolist(), "porosity": porosity,
            "tortuosity": tortuosity, "percolating": percolating, "pore_conductivity": k0,
            "notes": notes, "solver": info}


def _finite_or_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def to_json(result: dict) -> str:
    """One JSON object; infinite and undefined numbers as ``null`` (see ``percolating``)."""
    return json.dumps(_finite_or_none(result), allow_nan=False)


def _given(table) -> dict:
    return {p: float(k) for p, k in enumerate(table) if not np.isnan(k)}


class HomogenizationRegion:
    """A representative volume on the region interface (:mod:`qc_sim.regions.base`): it
    exports the effective tensor, porosity and tortuosity of its voxel image as the
    material of a coarse region, and re-solves when new phase values are imported (a
    static problem: ``advance`` only solves what is stale)."""

    physics = "homogenization"

    def __init__(self, image, phase_values=None, *, rtol=DEFAULT_RTOL, backend=None):
        self.image = check_phase_image(image)
        self.phase_values = _given(conductivity_table(phase_values, np.unique(self.image)))
        self.rtol = check_rtol(rtol)
        self.backend = backend
        self.result = None

    def advance(self, dt: float) -> None:
        if self.result is None:
            self.result = homogenize_image(self.image, self.phase_values, rtol=self.rtol,
                                           backend=self.backend)

    def stable_time_step(self) -> float:
        return math.inf

    def exports(self) -> dict:
        self.advance(0.0)
        return {"effective_tensor": np.array(self.result["effective_tensor"]),
                "porosity": self.result["porosity"],
                "tortuosity": np.array(self.result["tortuosity"])}

    def imports(self, fields: dict) -> None:
        if "phase_values" in fields:
            self.phase_values = _given(conductivity_table(fields["phase_values"],
                                                          np.unique(self.image)))
            self.result = None

    def state_fields(self) -> dict:
        phases = np.array(sorted(self.phase_values))
        return {"phases": phases, "phase_values": np.array([self.phase_values[p]
                                                            for p in phases])}

    def load_state_fields(self, fields: dict) -> None:
        self.imports({"phase_values": dict(zip(np.asarray(fields["phases"]).tolist(),
                                               np.asarray(fields["phase_values"]).tolist()))})

    def entity_costs(self):
        conducting = [p for p, k in self.phase_values.items() if k > 0]
        return np.isin(self.image, conducting).astype(float).ravel()

    def thermo(self) -> dict:
        self.advance(0.0)
        tensor = self.result["effective_tensor"]
        out = {"porosity": self.result["porosity"]}
        for i in range(len(tensor)):
            out[f"K_{AXES[i]}{AXES[i]}"] = tensor[i][i]
        return out
