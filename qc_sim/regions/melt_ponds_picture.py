"""The melt-pond grid's picture: the season of the parameterised grid against the resolved
ensembles it replaces, the albedo feedback (melt with and without the ponds' darkening) and
the cells across the forcing gradient."""

from __future__ import annotations

from pathlib import Path


def draw(region, folder: Path, columns) -> Path:
    """Four panels into ``folder/melt_ponds.png``: pond fraction, albedo and cumulative melt
    against time (grid means; resolved ensemble dashed; no-feedback twin dotted), and the
    cells' ice thickness and melt at the end against their longwave offset. ``columns``: the
    names of ``region.history``'s columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    folder.mkdir(parents=True, exist_ok=True)
    h = {name: region.history[:, k] for k, name in enumerate(columns)}
    day = region.spec.start_day + h["time"]
    resolved = region.members is not None
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for ax, key, label in ((axes[0, 0], "pond_fraction", "pond fraction"),
                           (axes[0, 1], "albedo", "albedo"),
                           (axes[1, 0], "melt", "cumulative surface melt (m water)")):
        ax.plot(day, h[key], "C0", label="grid (parameterised)")
        if resolved:
            ax.plot(day, h[f"{key}_resolved"], "C1--", label="resolved ensembles")
        ax.set_xlabel("day of the 360-day year")
        ax.set_ylabel(label)
    if region.spec.feedback_twin:
        axes[1, 0].plot(day, h["melt_no_feedback"], "C2:", label="grid, no pond albedo feedback")
    for ax in axes.flat[:3]:
        ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.plot(region.offsets, region.grid.ice, "C0o-", label="ice thickness, grid")
    ax.plot(region.offsets, region.grid.melt, "C3s-", label="melt, grid")
    if resolved:
        ax.plot(region.offsets, region.members.ice.mean(0), "C0x--", label="ice, resolved")
        ax.plot(region.offsets, region.members.melt.mean(0), "C3+--", label="melt, resolved")
    if region.spec.feedback_twin:
        ax.plot(region.offsets, region.twin.melt, "C3:", label="melt, no feedback")
    ax.set_xlabel("cell's longwave offset (W m$^{-2}$)")
    ax.set_ylabel("m")
    ax.legend(fontsize=8)
    title = f"melt ponds: {region.spec.cells} cells"
    if resolved:
        title += (f", {region.spec.members} resolved columns per cell; wall-time ratio "
                  f"resolved/grid {region.cost_ratio():.3g}")
    fig.suptitle(title)
    fig.tight_layout()
    path = folder / "melt_ponds.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
