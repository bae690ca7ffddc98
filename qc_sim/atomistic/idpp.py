"""Image-dependent pair potential initial paths for the nudged elastic band (Smidstrup,
Pedersen, Stokbro & Jónsson, J. Chem. Phys. 140 (2014) 214106).

Image k of n inner images should have every pair distance near the linear interpolation of
the end points' distances, ``D_ij = d0_ij + k/(n+1) (d1_ij - d0_ij)``; each image minimises
``S = sum_{i<j} (d_ij - D_ij)^2 / d_ij^4`` in a band (springs keep the images apart), which
avoids the atoms running through each other that linear interpolation of positions can
produce. Distances use the minimum image along periodic axes.
"""

from __future__ import annotations

import numpy as np

from qc_sim.solvers.fire import Fire
from qc_sim.solvers.neb import Band, interpolate, run_neb


class IdppImage:
    """One image on its IDPP surface (host arrays): a Minimizable."""

    xp = np

    def __init__(self, positions, target, box):
        self.x = np.array(positions, float)
        self.target = target
        self.box = box

    def get_dofs(self):
        return self.x.reshape(-1).copy()

    def set_dofs(self, y) -> None:
        self.x = np.asarray(y, float).reshape(-1, 3)

    def energy_forces(self):
        d = self.box.minimum_image(self.x[:, None, :] - self.x[None, :, :])
        r = np.sqrt((d * d).sum(axis=-1))
        np.fill_diagonal(r, 1.0)
        diff = r - self.target
        np.fill_diagonal(diff, 0.0)
        energy = 0.5 * float((diff**2 / r**4).sum())
        de_dr = 2.0 * diff / r**4 - 4.0 * diff**2 / r**5  # per ordered pair, halves summed
        forces = -((de_dr / r)[:, :, None] * d).sum(axis=1)
        return energy, forces.reshape(-1)

    def max_force(self, forces) -> float:
        return float(np.sqrt((forces.reshape(-1, 3) ** 2).sum(axis=1)).max())


def idpp_path(first, last, box, n_inner: int, fmax: float = 0.01, max_steps: int = 2000):
    """``n_inner`` position arrays (n, 3) between ``first`` and ``last`` on the IDPP path."""
    first, last = np.asarray(first, float), np.asarray(last, float)

    def distances(x):
        d = box.minimum_image(x[:, None, :] - x[None, :, :])
        return np.sqrt((d * d).sum(axis=-1))

    d0, d1 = distances(first), distances(last)
    linear = interpolate(first.reshape(-1), last.reshape(-1), n_inner)
    images = [IdppImage(first, d0, box)]
    for k, y in enumerate(linear, start=1):
        images.append(IdppImage(y.reshape(-1, 3), d0 + k / (n_inner + 1) * (d1 - d0), box))
    images.append(IdppImage(last, d1, box))
    run_neb(Band(images, k=0.1, climb=False), fmax=fmax, max_steps=max_steps,
            params=Fire(n_delay=20))
    return [im.x for im in images[1:-1]]
