"""The mode-I near-tip field of a straight crack in an anisotropic crystal, plane strain
(Sih, Paris & Irwin, Int. J. Fract. Mech. 1 (1965) 189): the displacement a K field imposes,
and the energy release rate that goes with K.

Crack along -x (faces on y = 0, x < 0), front along z. With the compliance ``S`` (6 x 6,
Voigt, engineering shear) in the crack frame, plane strain reduces it to
``b_ij = S_ij - S_i3 S_j3 / S_33`` (i, j in 1, 2, 6); mu_1, mu_2 are the roots with positive
imaginary part of ``b11 mu^4 - 2 b16 mu^3 + (2 b12 + b66) mu^2 - 2 b26 mu + b22 = 0``, and

    u_x = K sqrt(2r/pi) Re[(mu1 p2 sqrt(cos t + mu2 sin t) - mu2 p1 sqrt(cos t + mu1 sin t))
                           / (mu1 - mu2)]
    u_y = the same with q for p,    p_k = b11 mu_k^2 - b16 mu_k + b12,
                                    q_k = b12 mu_k - b26 + b22 / mu_k,
    G = -(K^2 / 2) b22 Im[(mu1 + mu2) / (mu1 mu2)].

The principal square root puts its branch cut on the crack faces (t = +-pi), where the two
faces part. Units: stiffness eV/Å^3, K eV/Å^2.5 (``MPA_SQRT_M`` converts), G eV/Å^2.
"""

from __future__ import annotations

import numpy as np

from qc_sim.units import EV_PER_A3_TO_GPA

MPA_SQRT_M = 1e-3 / EV_PER_A3_TO_GPA * 1e5  # 1 MPa m^0.5 in eV/Å^2.5
J_PER_M2 = 16.021766  # 1 eV/Å^2 in J/m^2

_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def cubic_stiffness(c11: float, c12: float, c44: float, orientation) -> np.ndarray:
    """The 6 x 6 Voigt stiffness of a cubic crystal in the frame whose x, y, z are the Miller
    directions of ``orientation`` (rows), in the units of the constants."""
    rot = np.asarray(orientation, float)
    rot = rot / np.linalg.norm(rot, axis=1)[:, None]
    C = np.zeros((3, 3, 3, 3))
    for i in range(3):
        for j in range(3):
            for k in range(3):
                for m in range(3):
                    C[i, j, k, m] = (c12 * (i == j) * (k == m)
                                     + c44 * ((i == k) * (j == m) + (i == m) * (j == k))
                                     + (c11 - c12 - 2 * c44) * (i == j == k == m))
    Cr = np.einsum("ia,jb,kc,md,abcd->ijkm", rot, rot, rot, rot, C)
    return np.array([[Cr[a + b] for b in _VOIGT] for a in _VOIGT])


class CrackField:
    """The plane-strain mode-I K field of a crack along -x with front along z in a crystal
    of Voigt stiffness ``C`` (crack frame, eV/Å^3)."""

    def __init__(self, C):
        S = np.linalg.inv(np.asarray(C, float))
        k = (0, 1, 5)
        b = np.array([[S[i, j] - S[i, 2] * S[j, 2] / S[2, 2] for j in k] for i in k])
        b11, b12, b16 = b[0, 0], b[0, 1], b[0, 2]
        b22, b26, b66 = b[1, 1], b[1, 2], b[2, 2]
        roots = np.roots([b11, -2 * b16, 2 * b12 + b66, -2 * b26, b22])
        upper = roots[roots.imag > 0]
        if len(upper) != 2:
            raise ValueError("the characteristic equation has no pair of complex roots")
        self.mu = mu1, mu2 = upper
        if abs(mu1 - mu2) < 1e-8 * abs(mu1):
            raise ValueError("repeated roots: an isotropic crystal (use distinct constants or "
                             "perturb them by 1e-6)")
        self.p = b11 * upper**2 - b16 * upper + b12
        self.q = b12 * upper - b26 + b22 / upper
        self.g_per_k2 = float(-0.5 * b22 * np.imag((mu1 + mu2) / (mu1 * mu2)))

    def displacement(self, points, tip, K: float) -> np.ndarray:
        """(n, 2) Å: the displacement at reference ``points`` (n, >= 2) of the K field
        (eV/Å^2.5) of a crack whose tip is at ``tip`` (2,)."""
        dx = np.asarray(points, float)[:, :2] - np.asarray(tip, float)[:2]
        r = np.hypot(dx[:, 0], dx[:, 1])
        t = np.arctan2(dx[:, 1], dx[:, 0])
        (mu1, mu2), (p1, p2), (q1, q2) = self.mu, self.p, self.q
        s1 = np.sqrt(np.cos(t) + mu1 * np.sin(t) + 0j)
        s2 = np.sqrt(np.cos(t) + mu2 * np.sin(t) + 0j)
        scale = K * np.sqrt(2.0 * r / np.pi)
        ux = scale * np.real((mu1 * p2 * s2 - mu2 * p1 * s1) / (mu1 - mu2))
        uy = scale * np.real((mu1 * q2 * s2 - mu2 * q1 * s1) / (mu1 - mu2))
        return np.column_stack([ux, uy])

    def energy_release_rate(self, K: float) -> float:
        """G (eV/Å^2) of the K field K (eV/Å^2.5)."""
        return self.g_per_k2 * K * K

    def stress_intensity(self, G: float) -> float:
        """The K (eV/Å^2.5) whose energy release rate is G (eV/Å^2)."""
        return float(np.sqrt(G / self.g_per_k2))
