"""Figures of a nucleation study (:mod:`qc_sim.simulation.nucleation`): the energy paths
and Q against the resolved shear stress, and the saddle's atoms coloured by structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_paths(result, path, others=()) -> Path:
    """The energy paths (left) and Q against tau (right, with the fit) of ``result`` (a
    :class:`~qc_sim.simulation.nucleation.NucleationResult`) and of
    ``others`` (more results, e.g. the atomistic one, drawn dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for k, r in enumerate((result, *others)):
        style = "-o" if k == 0 else "--s"
        for p in r.points:
            if not p.converged:
                continue
            s = np.asarray(p.coordinate)
            ax.plot(s / max(s[-1], 1e-12), p.energies, style, ms=3,
                    label=f"{r.kind}, strain {p.strain:.3f}")
        ok = np.array([p.converged for p in r.points], bool)
        bx.plot(r.stresses[ok], r.barriers[ok], style[1:], label=f"{r.kind} NEB")
        if (~ok).any():
            bx.plot(r.stresses[~ok], np.clip(r.barriers[~ok], 0, None), "x", color="0.4",
                    label=f"{r.kind} NEB not converged")
        f = r.fit
        if "Q0_eV" in f:
            t = np.linspace(min(r.stresses.min(), 0.8 * f["tau_ath_GPa"]), f["tau_ath_GPa"],
                            100)
            bx.plot(t, f["Q0_eV"] * (1 - t / f["tau_ath_GPa"]) ** f["alpha"], ":",
                    label=f"{r.kind} fit, alpha {f['alpha']:.2f}")
    ax.set_xlabel("reaction coordinate (normalised)")
    ax.set_ylabel("E - E(step) (eV)")
    ax.legend(fontsize=6)
    bx.set_xlabel("resolved shear stress tau (GPa)")
    bx.set_ylabel("activation energy Q (eV)")
    bx.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_saddle(problem, result, path, point: int | None = None) -> Path:
    """The saddle of NEB ``point`` (default the converged one with the highest barrier:
    the lowest strain's, whose critical embryo is the largest), its atoms in the xy plane
    about the step coloured by structure from the centrosymmetry: fcc (< 1 Å^2), stacking
    fault and partial core (1-20 Å^2), surface (> 20 Å^2); the coupled model's nodes grey,
    its padding atoms (whose neighbours lie partly outside the atom set) left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.spatial import cKDTree

    if point is None:
        good = [k for k, q in enumerate(result.points) if q.converged and q.barrier > 0]
        point = max(good, key=lambda k: result.points[k].barrier) if good else -1
    p = result.points[point]
    x = problem.positions(p.saddle_state)
    X = problem.reference_sites()
    slab = problem.slab
    L = slab.line_length
    tree = cKDTree(X - [X[:, 0].min() - 1.0, X[:, 1].min() - 1.0, 0.0],
                   boxsize=[1e6, 1e6, L])
    r = 1.2 * slab.lattice.nearest_neighbor_distance
    csp = np.zeros(len(X))
    for i, nb in enumerate(tree.query_ball_point(X - [X[:, 0].min() - 1.0,
                                                      X[:, 1].min() - 1.0, 0.0], r)):
        nb = [j for j in nb if j != i]
        R = problem.watch.wrap(x[nb] - x[i])
        if len(R) < 12:
            csp[i] = 99.0
            continue
        R = R[np.argsort((R * R).sum(axis=1))[:12]]
        pairs = np.linalg.norm(R[:, None] + R[None], axis=2)
        np.fill_diagonal(pairs, np.inf)
        csp[i] = float(np.sort((pairs.min(axis=1)) ** 2)[:12:2].sum())
    colour = np.where(csp < 1.0, "#9bbbd9", np.where(csp < 20.0, "#d62728", "#444444"))
    shown = np.ones(len(X), bool)
    if problem.kind == "coupled":
        shown = problem.model.geometry.atom_beta > 0
    cx, cy = slab.corner
    lo, hi = np.array([cx - 45.0, cy - 50.0]), np.array([cx + 45.0, slab.top + 6.0])
    fig, ax = plt.subplots(figsize=(8, 8 * (hi[1] - lo[1]) / (hi[0] - lo[0]) + 1.0))
    if problem.kind == "coupled":
        ax.scatter(p.saddle_state[:, 0], p.saddle_state[:, 1], s=1, c="0.75")
    ax.scatter(x[shown, 0], x[shown, 1], s=14, c=colour[shown])
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_title(f"{problem.kind} saddle at strain {p.strain:.3f}: Q = {p.barrier:.3f} eV "
                 "(blue fcc, red fault/partial, black surface)", fontsize=8)
    ax.set_xlabel("x [110] (Å)")
    ax.set_ylabel("y [001] (Å)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


__all__ = ["plot_paths", "plot_saddle"]
