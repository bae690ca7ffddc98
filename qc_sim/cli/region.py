"""``qc-sim run`` of a [region] case (bone remodelling, ...): the region advanced to its end
time in macro steps, thermo lines and CSV from the region's ``thermo()``, mesh fields as
XDMF and PNG frames, checkpoints of its state fields that ``qc-sim restart`` continues
bitwise; SIGTERM or SIGINT writes a checkpoint and stops."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np


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


UNITS = {"bone": "days", "diffusion": "s"}


def run_region(path, backend=None, steps=None, out=sys.stdout, restart=None) -> int:
    from qc_sim.cases.regions import build_region
    from qc_sim.cases.schema import load_case, parse_case
    from qc_sim.cli.run import STOP_STATUS, ProgressBar, _Stop
    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint

    case = (load_case(path) if restart is None
            else parse_case(restart.case_text, Path(restart.case_path)))
    r, output = case.region, case.output
    unit = UNITS.get(r.physics, "")
    region = build_region(case, backend)
    n_end = max(1, math.ceil(r.end_time / r.dt - 1e-9))
    first = 0
    if restart is not None:
        region.load_state_fields(restart.fields)
        first = restart.step
    total = max(n_end - first, 0) if steps is None else steps
    mesh = getattr(region, "mesh", None)
    print(f"qc-sim {'restart' if restart else 'run'} {case.path}: {r.physics} region"
          + (f", {len(mesh.elements)} elements, {mesh.n_nodes} nodes" if mesh is not None
             else ", one point" if r.physics == "bone" else "")
          + (f", from step {first}" if restart else ""), file=out)
    micro = getattr(region, "microstructure", None)
    if micro is not None:  # a homogenised microstructure set the coarse model's material
        print(f"microstructure: porosity {micro['porosity']:.4g}, K_eff/K_pore "
              f"{micro['k_eff']:.4g} (eigenvalue spread {micro['spread']:.2g}), tortuosity "
              + ", ".join(f"{t:.4g}" for t in micro["tortuosity"])
              + f": D x {micro['diffusivity_scale']:.4g}, alpha x {micro['alpha_scale']:.4g}",
              file=out)
    choice = getattr(region, "choice", None)
    if choice is not None:  # a model reduction chose the model: say which and why
        print(f"model {choice.model}: Damköhler number {choice.damkohler:.4g}, reduced-model "
              f"uptake error {choice.error_estimate:.3e} at D t / a^2 = {choice.tau:.4g}",
              file=out)
    columns = list(region.thermo())
    widths = [max(16, len(c) + 2) for c in columns]
    print(f"{'step':>16}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths)), file=out)
    csv = (open(output.thermo_csv, "w" if restart is None else "a")
           if output.thermo_csv else None)
    if csv is not None and restart is None:
        csv.write(",".join(["step"] + columns) + "\n")
    frames = []
    bar = ProgressBar(total, output.progress, first=first)

    def report(step):
        bar.clear()
        values = region.thermo()
        print(f"{step:>16d}" + "".join(f"{values[c]:>{w}.8g}" for c, w in zip(columns, widths)),
              file=out, flush=True)
        if csv is not None:
            csv.write(",".join([str(step)] + [repr(float(values[c])) for c in columns]) + "\n")

    def frame(step):
        if mesh is None:
            return
        nodes, elements = _split_fields(region, region.exports())
        t = float(region.thermo().get("time", step * r.dt))
        if output.mesh:
            frames.append((t, nodes, elements))
        if output.png:
            _png(output.png, region, step, t, elements, unit)

    def checkpoint(step):
        cp = Checkpoint(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)), step,
                        float(region.thermo().get("time", step * r.dt)), case.text,
                        str(case.path), kind="region", fields=region.state_fields())
        return write_checkpoint(output.checkpoint, cp, keep=output.keep)

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
    with _Stop() as stop:
        while step < last and stop.signal is None:
            # the last step to end_time may be shorter; steps past it (--steps) are whole
            dt = r.end_time - (n_end - 1) * r.dt if step + 1 == n_end else r.dt
            region.advance(dt if dt > 0 else r.dt)
            step += 1
            bar.update(step - first)
            if (r.thermo and step % r.thermo == 0) or step == last:
                report(step)
            if step % output.trajectory_every == 0 or step == last:
                frame(step)
            if (output.checkpoint and output.checkpoint_every
                    and step % output.checkpoint_every == 0 and step < last):
                checkpoint(step)
        bar.close()
        wall = time.perf_counter() - start
        write_mesh()
        if csv is not None:
            csv.close()
        if output.checkpoint:
            print(f"checkpoint {checkpoint(step)} at step {step}", file=out)
        if stop.signal is not None:
            print(f"stopped by {stop.signal.name} at step {step}"
                  + ("" if output.checkpoint else " (no [output] checkpoint in the case)"),
                  file=out, flush=True)
            return STOP_STATUS[stop.signal]
    print(f"Loop time {wall:.3f} s for {step - first} steps", file=out)
    return 0
