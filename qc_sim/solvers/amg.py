"""The one way qc-sim builds an algebraic multigrid preconditioner (pyamg smoothed
aggregation): reproducibly.

pyamg estimates the spectral radius for its prolongation smoother from a random start drawn
from NumPy's global generator, so two runs on the same matrix get hierarchies (and solutions)
that differ in the last bits. A restart that rebuilds a solver must find the bits the run
had, so the generator is seeded here and the caller's state put back.
"""

from __future__ import annotations

import numpy as np


def smoothed_aggregation(matrix, **options):
    """``pyamg.smoothed_aggregation_solver(matrix, **options)``, the same for the same
    matrix in every process."""
    import pyamg

    state = np.random.get_state()
    np.random.seed(0)
    try:
        return pyamg.smoothed_aggregation_solver(matrix, **options)
    finally:
        np.random.set_state(state)


def rigid_body_modes(nodes: np.ndarray) -> np.ndarray:
    """(nn*d, 3 or 6) translations and infinitesimal rotations: the near null space of
    elasticity that smoothed aggregation needs."""
    nn, d = nodes.shape
    x = nodes - nodes.mean(axis=0)
    modes = []
    for a in range(d):
        m = np.zeros((nn, d))
        m[:, a] = 1.0
        modes.append(m)
    for a, b in ([(0, 1)] if d == 2 else [(0, 1), (1, 2), (0, 2)]):
        m = np.zeros((nn, d))
        m[:, a], m[:, b] = -x[:, b], x[:, a]
        modes.append(m)
    return np.column_stack([m.reshape(-1) for m in modes])
