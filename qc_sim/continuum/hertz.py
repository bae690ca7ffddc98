"""Hertz's elastic contact of a rigid sphere with an isotropic half-space (K. L. Johnson,
Contact Mechanics, Cambridge 1985, sections 3.4 and 4.2), and the isotropic moduli of a
cubic crystal that it needs.

    P = (4/3) E* R^(1/2) h^(3/2),  E* = E / (1 - nu^2)    (rigid indenter)
    a = (3 P R / 4 E*)^(1/3),  p0 = 3 P / (2 pi a^2)

Under the centre of the contact, at depth z, the stresses are (Johnson eq. 3.45)

    sigma_z = -p0 / (1 + z^2/a^2)
    sigma_r = -p0 [(1 + nu) (1 - (z/a) arctan(a/z)) - 1 / (2 (1 + z^2/a^2))]

and the largest shear stress (sigma_r - sigma_z) / 2 beneath the surface is about 0.31 p0 at
z = 0.48 a for nu = 0.3; :func:`max_shear_under_contact` finds it for any nu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def hill_moduli(c11: float, c12: float, c44: float) -> tuple[float, float]:
    """(E, nu) of the Hill average (the mean of the Voigt and Reuss shear moduli; the bulk
    modulus is the same in both) of a cubic crystal with constants C11, C12, C44 (any
    stress unit; E comes in the same)."""
    bulk = (c11 + 2 * c12) / 3
    voigt = (c11 - c12 + 3 * c44) / 5
    reuss = 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))
    shear = 0.5 * (voigt + reuss)
    young = 9 * bulk * shear / (3 * bulk + shear)
    poisson = (3 * bulk - 2 * shear) / (2 * (3 * bulk + shear))
    return float(young), float(poisson)


def hertz_load(reduced_modulus: float, radius: float, depth):
    """P = (4/3) E* R^(1/2) h^(3/2) for ``depth`` h >= 0 (same length unit as R; P in E*
    times length^2)."""
    h = np.maximum(np.asarray(depth, float), 0.0)
    return 4.0 / 3.0 * reduced_modulus * np.sqrt(radius) * h**1.5


@dataclass(frozen=True)
class Contact:
    """Hertz's contact at load P: radius ``a``, peak pressure ``p0``, the largest shear
    stress ``tau_max`` beneath the surface and its depth ``z_max`` (units of P / length^2
    and of length)."""

    a: float
    p0: float
    tau_max: float
    z_max: float


def max_shear_under_contact(load: float, radius: float, reduced_modulus: float,
                            poisson: float) -> Contact:
    """Hertz's contact of a rigid sphere of ``radius`` pressed by ``load`` into a half-space
    of reduced modulus E* and Poisson ratio ``poisson``: the largest (sigma_r - sigma_z) / 2
    on the axis, over depths 0 < z < 3 a."""
    a = (3 * load * radius / (4 * reduced_modulus)) ** (1 / 3)
    p0 = 3 * load / (2 * np.pi * a**2)
    z = np.linspace(1e-4, 3.0, 30_001) * a
    s = z / a
    sigma_z = -p0 / (1 + s**2)
    sigma_r = -p0 * ((1 + poisson) * (1 - s * np.arctan(1 / s)) - 0.5 / (1 + s**2))
    tau = 0.5 * (sigma_r - sigma_z)
    k = int(np.argmax(tau))
    return Contact(float(a), float(p0), float(tau[k]), float(z[k]))
