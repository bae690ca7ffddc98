"""The picture of a qsp region: concentration-time, occupancy and effect-time curves of each
drug alone and of the combination, the dosing schedule, and the Bliss and Loewe maps of the
combination over a grid of dose multipliers (the time-averaged effect up to the region's
time, each point an arm of one integration)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qc_sim.regions import qsp_pd as pd
from qc_sim.regions import qsp_synergy as synergy

MAP_RTOL = 1e-6  # the maps are a picture: a looser PD tolerance than the run's


def mean_effects(model: pd.Model, arms, t_end, rtol=MAP_RTOL) -> np.ndarray:
    """Effect averaged over [0, t_end] (AUEC / t_end) of each arm ``(n_arms, n_drugs)`` of
    dose multipliers (PK is linear: an arm's concentrations are its multipliers times the
    schedule's), ``(n_arms,)``."""
    trial = model.with_arms(arms)
    amounts, state = pd.initial_state(trial)
    _, state, _ = pd.advance(trial, amounts, state, 0.0, t_end, rtol=rtol, method="BDF")
    return state[:, -1] / t_end


def synergy_maps(model: pd.Model, t_end, n):
    """(multipliers ``(n,)``, mean effect of the combination ``(n, n)`` [A index, B index],
    Bliss excess ``(n, n)``, Loewe CI ``(n, n)``) for multipliers 1/4..4 of both schedules;
    the single-agent curves sampled also on 1/16..16 for the inverse Loewe needs (NaN where
    the combination's effect lies beyond what one drug alone reaches there)."""
    grid = 4.0 ** np.linspace(-1.0, 1.0, n)
    axis = np.unique(np.concatenate([grid, 4.0 ** np.linspace(-2.0, 2.0, 13)]))
    m = len(axis)
    pairs = np.array([(a, b) for a in grid for b in grid])
    arms = np.concatenate([np.column_stack([axis, np.zeros(m)]),
                           np.column_stack([np.zeros(m), axis]), pairs])
    effects = mean_effects(model, arms, t_end)
    alone_a, alone_b, both = effects[:m], effects[m:2 * m], effects[2 * m:].reshape(n, n)
    on_grid = np.searchsorted(axis, grid)
    bliss = synergy.bliss_excess(both, alone_a[on_grid][:, None], alone_b[on_grid][None, :])
    inverse_a = synergy.sampled_inverse(axis, alone_a)
    inverse_b = synergy.sampled_inverse(axis, alone_b)
    ci = np.array([[synergy.combination_index(a, b, both[i, j], inverse_a, inverse_b)
                    for j, b in enumerate(grid)] for i, a in enumerate(grid)])
    return grid, both, bliss, ci


def draw(region, folder: Path) -> Path:
    """Write ``folder/qsp.png`` and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, spec = region.model, region.spec
    names, n = spec.drugs, len(spec.drugs)
    folder.mkdir(parents=True, exist_ok=True)
    maps = n == 2 and spec.synergy_grid > 0 and region.time > 0
    fig, axes = plt.subplots(2, 3 if maps else 2, figsize=(15 if maps else 10, 8))
    axes = axes.ravel()
    if region.time > 0:
        times, amounts, states = pd.history(model, region.time)
        conc = amounts[:, 1::3] / np.array([d.central_volume for d in model.drugs])
        for i in range(n):
            axes[0].plot(times, conc[:, i], label=names[i])
        effect = 1.0 - states[:, :, 3 + n]
        labels = list(names) + [" + ".join(names)] if n == 2 else list(names)
        for k, label in enumerate(labels):
            axes[1].plot(times, effect[:, k], label=label)
        if n == 2:
            axes[1].plot(times, synergy.bliss_expected(effect[:, 0], effect[:, 1]), "k--",
                         lw=1, label="Bliss expectation")
        bound = np.array([pd.occupancy(model.pathway, s)[-1] for s in states])
        for i in range(n):
            axes[2].plot(times, bound[:, i], label=f"{names[i]} on node {spec.target_node[i]}")
    axes[0].set(xlabel="time (h)", ylabel="central concentration (mg/L)",
                title="pharmacokinetics")
    axes[1].set(xlabel="time (h)", ylabel="effect (fractional inhibition of output)",
                title="pharmacodynamics", ylim=(0, 1))
    axes[2].set(xlabel="time (h)", ylabel="target occupancy", title="target binding",
                ylim=(0, 1))
    for i, s in enumerate(model.schedules):
        given = s.times < region.time
        axes[3].stem(s.times[given] + 0.15 * i, s.amounts[given], linefmt=f"C{i}-",
                     markerfmt=f"C{i}o", basefmt=" ", label=names[i])
    optimised = (f" ({names[spec.optimised_drug - 1]} chosen for trough "
                 f"{spec.trough_target:g})" if spec.optimise != "none" else "")
    axes[3].set(xlabel="time (h)", ylabel="dose (mg)", title="dosing schedule" + optimised)
    for ax in axes[:4]:
        if ax.lines or ax.collections:
            ax.legend(fontsize=8)
    if maps:
        _draw_maps(fig, axes[4], axes[5], *synergy_maps(model, region.time, spec.synergy_grid),
                   names, region.time)
    fig.suptitle(f"qsp region at t = {region.time:g} h")
    fig.tight_layout()
    path = folder / "qsp.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _draw_maps(fig, ax_bliss, ax_loewe, grid, both, bliss, ci, names, t_end):
    edges = np.log2(grid)
    limit = max(float(np.nanmax(np.abs(bliss))), 1e-12)
    art = ax_bliss.pcolormesh(edges, edges, bliss.T, cmap="RdBu_r", vmin=-limit, vmax=limit,
                              shading="nearest")
    fig.colorbar(art, ax=ax_bliss, label="excess over Bliss (> 0 synergy)")
    art = ax_loewe.pcolormesh(edges, edges, np.log2(ci).T, cmap="RdBu", vmin=-1, vmax=1,
                              shading="nearest")
    fig.colorbar(art, ax=ax_loewe, label="log2 Loewe CI (< 0 synergy)")
    for ax, title in ((ax_bliss, "Bliss"), (ax_loewe, "Loewe")):
        ax.set(xlabel=f"log2 dose multiplier of {names[0]}",
               ylabel=f"log2 dose multiplier of {names[1]}",
               title=f"{title}: mean effect over 0-{t_end:g} h")
    ax_loewe.text(0.02, 0.98, "blank: an effect neither drug alone\nreaches at up to 16x its dose",
                  transform=ax_loewe.transAxes, va="top", fontsize=8)
