"""A [region] case (bone remodelling, diffusion, a plug-in physics): the region advanced to its end
time in macro steps, thermo lines and CSV from the region's ``thermo()``, mesh fields as
XDMF and PNG frames, checkpoints of its state fields that ``qc-sim restart`` continues
bitwise; SIGTERM or SIGINT writes a checkpoint and stops.

``mpiexec -n N qc-sim run`` runs the same loop with a communicator (:func:`run_region` with
``comm``). The region's entities (elements, shells, nodes, the one point) are split by
cost-weighted RCB (:class:`~qc_sim.parallel.entities.EntityShare`); each rank advances the
micro models it owns (the Komarova cells of a bone mesh) and gathers the others'; the
global linear solves (elasticity of bone, the implicit steps of diffusion) are done whole
on every rank, from the same gathered state, by the same direct solver as the serial run,
so every rank holds the serial run's bits. Why replicated and not a distributed Krylov
solve, measured on the shipped cases (one core, cpu backend): a step of
cases/bone_plate_2d.toml (3280 unknowns) costs 29 ms, of which the assembly 16 ms and
SuperLU 11.5 ms, the 3200 Komarova cell models 0.5 ms; the same system by Jacobi-PCG with
exact dot products to 1e-10 takes 340-440 iterations, 150-390 ms (10-30 times the direct
solve on one rank, before any message), and cases/bone_block_3d.toml's 900 unknowns 200
iterations, 40 ms against 5 ms; a diffusion step of cases/diffusion_particle.toml (200
shells, tridiagonal) costs 0.04 ms, less than the messages that would split it, so every
rank takes it whole rather than rank 0 taking it and broadcasting. So a region run on ranks
gains only in its micro models and cell problems, and pays a gather per step: on a 2-core
machine 100 steps of bone_plate_2d take 4.9 s serially (one thread), 7.0 s on 2 ranks and
11.3 s on 4 (oversubscribed). Thermo lines,
CSV, XDMF and PNG come from rank 0, whose state is whole; a checkpoint is one part per rank
holding its entities' rows keyed by global id, the whole-model fields in the index, and
restarts on any rank count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qc_sim.simulation.control import RunResult, Stop, no_progress, rank_log


def _split_fields(region, fields):
    """(node_fields, element_fields) of a region's exports on its mesh."""
    mesh = region.mesh
    nodes, elements = {}, {}
    for name, array in fields.items():
        array = np.asarray(array)
        if array.ndim == 0:
            continue
        if len(array) == len(mesh.elements):
            elements[name] = array
        elif len(array) == mesh.n_nodes:
            nodes[name] = array
    return nodes, elements


def _png(folder, region, step, t, elements, unit):
    """The element density (or the first element field) of a 2D mesh as a PNG frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.tri import Triangulation

    mesh = region.mesh
    if mesh.dim != 2 or not elements:
        return None
    name = "density" if "density" in elements else next(iter(elements))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tri = Triangulation(mesh.nodes[:, 0], mesh.nodes[:, 1], mesh.elements)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    art = ax.tripcolor(tri, facecolors=elements[name], cmap="bone_r")
    fig.colorbar(art, ax=ax, label=name)
    ax.set_aspect("equal")
    ax.set_title(f"{region.physics}: {name} at t = {t:g} {unit}")
    path = folder / f"{name}_{step:06d}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _share(case, region, comm):
    """The :class:`EntityShare` of ``region`` over the ranks of ``comm``; a mesh with fewer
    entities than ranks is refused (a single point runs on one rank, the others idle)."""
    from qc_sim.errors import InputError
    from qc_sim.parallel.entities import EntityShare

    costs = region.entity_costs()
    size = comm.Get_size()
    if 1 < len(costs) < size:
        raise InputError(f"{case.path}: {size} MPI ranks for a {case.region.physics} region "
                         f"of {len(costs)} entities: use at most {len(costs)} ranks")
    share = EntityShare(comm, region.entity_positions(), costs)
    if hasattr(region, "distribute"):
        region.distribute(share)
    return share


def _checkpoint_parts(share, region, fields):
    """(part, index): this rank's rows of the per-entity fields (those with one row per
    entity, keyed by global id) and the whole-model rest (for rank 0's index)."""
    own, index = {}, {}
    for name, array in fields.items():
        array = np.asarray(array)
        if array.ndim and len(array) == share.n:
            own[name] = array[share.owned]
        else:
            index[name] = array
    return own, index


@dataclass
class RegionResult(RunResult):
    """A region run: the region in its last state (its ``thermo()``, ``exports()`` and
    ``state_fields()`` to read), its last thermo values and the picture it wrote."""

    region: object = None
    thermo: dict | None = None
    picture: Path | None = None


def run_region(case, backend=None, steps=None, restart=None, comm=None, log=None,
               progress=None) -> RegionResult:
    """Run (or with ``restart``, a :class:`Checkpoint`, continue) the region ``case``;
    ``comm``: on the ranks of an MPI communicator (see the module)."""
    from qc_sim.cases.regions import build_region, time_unit
    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint, write_checkpoint_parts
    from qc_sim.io.thermo_csv import ThermoCSV
    from qc_sim.parallel.mpi import global_max

    lead = comm is None or comm.Get_rank() == 0
    log, progress = rank_log(log, comm), progress or no_progress
    r, output = case.region, case.output
    unit = time_unit(case)
    region = build_region(case, backend, comm=comm)
    n_end = max(1, math.ceil(r.end_time / r.dt - 1e-9))
    first = 0
    if restart is not None:
        region.load_state_fields(restart.fields)
        first = restart.step
    share = None if comm is None else _share(case, region, comm)
    total = max(n_end - first, 0) if steps is None else steps
    mesh = getattr(region, "mesh", None)
    log(f"qc-sim {'restart' if restart else 'run'} {case.path}: {r.physics} region"
          + (f", {len(mesh.elements)} elements, {mesh.n_nodes} nodes" if mesh is not None
             else ", one point" if r.physics == "bone" else "")
          + (f", from step {first}" if restart else "")
          + (f", on {share.size} MPI ranks (imbalance {share.imbalance():.3f})" if share
             else ""))
    micro = getattr(region, "microstructure", None)
    if micro is not None:  # a homogenised microstructure set the coarse model's material
        log(f"microstructure: porosity {micro['porosity']:.4g}, K_eff/K_pore "
              f"{micro['k_eff']:.4g} (eigenvalue spread {micro['spread']:.2g}), tortuosity "
              + ", ".join(f"{t:.4g}" for t in micro["tortuosity"])
              + f": D x {micro['diffusivity_scale']:.4g}, alpha x {micro['alpha_scale']:.4g}")
    choice = getattr(region, "choice", None)
    if choice is not None:  # a model reduction chose the model: say which and why
        log(f"model {choice.model}: Damköhler number {choice.damkohler:.4g}, reduced-model "
              f"uptake error {choice.error_estimate:.3e} at D t / a^2 = {choice.tau:.4g}")
    columns = list(region.thermo())
    widths = [max(16, len(c) + 2) for c in columns]
    log(f"{'step':>16}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths)))
    csv = ThermoCSV(output.thermo_csv if lead else "", ["step"] + columns,
                    append=restart is not None)
    frames = []
    result = RegionResult(region=region)

    def report(step):
        values = result.thermo = region.thermo()
        log(f"{step:>16d}" + "".join(f"{values[c]:>{w}.8g}" for c, w in zip(columns, widths)))
        csv.row(step, *(values[c] for c in columns))

    def frame(step):
        if mesh is None or not lead:
            return
        nodes, elements = _split_fields(region, region.exports())
        t = float(region.thermo().get("time", step * r.dt))
        if output.mesh:
            frames.append((t, nodes, elements))
        if output.png:
            _png(output.png, region, step, t, elements, unit)

    def checkpoint(step):
        t = float(region.thermo().get("time", step * r.dt))
        fields = region.state_fields()
        if share is None:
            cp = Checkpoint(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)), step,
                            t, case.text, str(case.path), kind="region", fields=fields)
            return write_checkpoint(output.checkpoint, cp, keep=output.keep)
        own, index = _checkpoint_parts(share, region, fields)
        where = share.positions[share.owned]
        cp = Checkpoint(share.owned, where, np.zeros_like(where), step, t, case.text,
                        str(case.path), kind="region", fields=own)
        return write_checkpoint_parts(output.checkpoint, cp, comm, keep=output.keep,
                                      fields=index)

    def stopping(signal):
        """Whether to stop: on ranks, when any rank has a signal (every rank alike)."""
        flag = 1.0 if signal is not None else 0.0
        return (flag if comm is None else global_max(comm, flag)) > 0

    def write_mesh():
        if output.mesh and frames:
            from qc_sim.io.xdmf import write_xdmf

            write_xdmf(output.mesh, mesh, frames)

    step = first
    if restart is None:
        report(step)
        frame(step)
    last = first + total
    start = time.perf_counter()
    with Stop() as stop:
        while step < last and not stopping(stop.signal):
            # the last step to end_time may be shorter; steps past it (--steps) are whole
            dt = r.end_time - (n_end - 1) * r.dt if step + 1 == n_end else r.dt
            region.advance(dt if dt > 0 else r.dt)
            step += 1
            if share is not None and step == first + 1:  # the first costs measured
                share.rebalance(region.entity_costs(), case.run.rebalance)
            progress(step - first, total, first)
            if (r.thermo and step % r.thermo == 0) or step == last:
                report(step)
            if step % output.trajectory_every == 0 or step == last:
                frame(step)
            if (output.checkpoint and output.checkpoint_every
                    and step % output.checkpoint_every == 0 and step < last):
                checkpoint(step)
        wall = time.perf_counter() - start
        write_mesh()
        if output.png and lead and hasattr(region, "picture"):
            result.picture = region.picture(output.png)
            log(f"picture {result.picture}")
        csv.close()
        if output.checkpoint:
            parts = f" ({share.size} parts)" if share else ""
            result.checkpoint = checkpoint(step)
            log(f"checkpoint {result.checkpoint}{parts} at step {step}")
        result.stopped_by = stop.signal
        result.stopped_elsewhere = stopping(stop.signal)
    result.steps, result.wall_s = step - first, wall
    if result.stopped_elsewhere:
        name = stop.signal.name if stop.signal is not None else "a signal to another rank"
        log(f"stopped by {name} at step {step}"
            + ("" if output.checkpoint else " (no [output] checkpoint in the case)"))
        return result
    log(f"Loop time {wall:.3f} s for {step - first} steps"
        + (f" on {share.size} MPI ranks" if share else ""))
    return result

