"""The centrosymmetry parameter of fcc atoms (Kelchner, Plimpton & Hamilton, Phys. Rev. B 58
(1998) 11085): for an atom with its 12 nearest neighbours in six opposite pairs (i, j),
``P = sum |R_i + R_j|^2`` over the pairs, 0 in the perfect lattice, about 8 Å^2 in a
stacking fault's planes (a^2 / 2 for Al) and more at a surface or a dislocation's core. The
pairs are chosen once in the reference configuration and followed as the atoms move."""

from __future__ import annotations

import numpy as np

CSP_FAULT = 1.0  # Å^2: centrosymmetry above this marks a fault or a dislocation core


def _same(d):
    return d


def opposite_pairs(reference, atoms, tree, r_nn: float, wrap=_same, shift=0.0):
    """(atoms kept, pairs (n, 6, 2)): for each of ``atoms`` (indices into ``reference``
    (na, d) Å) with exactly 12 neighbours within 1.05 ``r_nn`` (found by ``tree``, a cKDTree
    of ``reference - shift``), its neighbours in six pairs opposite in the reference;
    ``wrap`` takes separations to their minimum image (periodic axes)."""
    pairs, keep = [], []
    for a in atoms:
        nb = [n for n in tree.query_ball_point(reference[a] - shift, 1.05 * r_nn) if n != a]
        if len(nb) != 12:
            continue
        R = wrap(reference[nb] - reference[a])
        opposite = np.argmin(np.linalg.norm(R[:, None] + R[None], axis=2), axis=1)
        chosen = [(nb[k], nb[opposite[k]]) for k in range(12) if k < opposite[k]]
        if len(chosen) == 6:
            pairs.append(chosen)
            keep.append(a)
    return np.array(keep, np.int64), np.array(pairs, np.int64).reshape(-1, 6, 2)


def centrosymmetry(x, atoms, pairs, wrap=_same) -> np.ndarray:
    """(n,) Å^2 the centrosymmetry of ``atoms`` at positions ``x`` (na, d), with their
    reference ``pairs`` (n, 6, 2) from :func:`opposite_pairs`."""
    centre = x[atoms][:, None, :]
    a = wrap(x[pairs[:, :, 0]] - centre)
    b = wrap(x[pairs[:, :, 1]] - centre)
    return ((a + b) ** 2).sum(axis=(1, 2))
