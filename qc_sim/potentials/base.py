"""What every potential gives: one call, the same on every backend (STYLE habit 2).

``potential.compute(device, positions, types, box, nlist, energy=..., virial=...)`` takes
positions (n, 3) Å, types (n,) int32 indices into ``potential.species``, the box and a
full neighbour list (:mod:`qc_sim.neighbor`), all on ``device``, and returns a
:class:`ForceResult`. Compiled backends run the kernels in ``kernels/``; the NumPy backend
runs the readable reference implementation that the tests hold both targets to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ForceResult:
    """forces (n, 3) eV/Å; site_energy (n,) eV or None; virial (n, 6) eV or None.

    The per-atom virial is ``0.5 * sum_j d_ij (x) f_ij`` with ``d_ij = x_i - x_j`` in the
    order (xx, yy, zz, xy, xz, yz), LAMMPS's convention: the pressure is
    ``(N k T + trace(sum virial) / 3) / V`` (times the unit factor).
    """

    forces: object
    site_energy: object = None
    virial: object = None

    def energy(self) -> float:
        """Total potential energy, eV (needs ``site_energy``)."""
        return float(self.site_energy.sum())

    def total_virial(self) -> np.ndarray:
        """Sum of the per-atom virials, (6,) eV, on the host."""
        v = self.virial.sum(axis=0)
        return v.get() if hasattr(v, "get") else np.asarray(v)


def pair_vectors(xp, positions, box_lengths, neighbors, images, counts):
    """Every valid list entry as (i, j, d) with d = x_i - x_j - shift*L (n_pairs, 3), Å.

    The NumPy reference implementations use this to vectorise over all bonds at once.
    """
    from qc_sim.neighbor.images import decode

    n, cap = neighbors.shape
    valid = xp.arange(cap)[None, :] < counts[:, None]
    i = xp.nonzero(valid)[0]
    j = neighbors[valid]
    shift = decode(images[valid])
    d = positions[i] - positions[j] - shift * xp.asarray(box_lengths)[None, :]
    return i, j, d


def gather_pairs(xp, n, i, values):
    """Sum per-bond ``values`` (n_pairs, ...) into atoms by ``i`` (rows are contiguous in i)."""
    out = xp.zeros((n,) + values.shape[1:])
    xp.add.at(out, i, values)
    return out


def bond_virial(d, g):
    """Per-bond virial contributions 0.5 * d (x) (g d): (n_pairs, 6) eV."""
    dd = np.stack([d[:, 0] * d[:, 0], d[:, 1] * d[:, 1], d[:, 2] * d[:, 2],
                   d[:, 0] * d[:, 1], d[:, 0] * d[:, 2], d[:, 1] * d[:, 2]], axis=1)
    return 0.5 * dd * g[:, None]
