"""The tendon's continuum material and its uniaxial (1D) law.

:class:`FibreReinforcedNeoHookean` is a hyperelastic strain energy per unit reference volume
(MPa = MJ/m^3) with one fibre family along the unit vector a (the tendon's axis):

    W(F) = (1 - phi) W_m(F) + phi W_f(lambda),       lambda = |F a| = sqrt(a . C a),

- the matrix W_m = mu/2 (I1 - 3) - mu ln J + Lambda/2 (ln J)^2, a compressible neo-Hookean
  solid, nearly incompressible when the bulk modulus K = Lambda + 2 mu / 3 is large against
  mu (Ogden, Non-linear Elastic Deformations, 1984; the form of Simo & Pister 1984);
- the fibrils W_f from :class:`~qc_sim.regions.tendon_recruitment.RecruitmentLaw` (zero for
  lambda <= 1: a crimped or compressed fibril carries nothing), with the full stretch of C,
  not its isochoric part (which would let a stretched fibril family stay unloaded at
  constant volume: Sansour, Eur. J. Mech. A 27 (2008) 28);
- phi the fibril volume fraction.

First Piola stress and tangent (i, j, k, l over 3 axes):

    P   = (1 - phi) [mu F + (Lambda ln J - mu) F^-T] + phi S(lambda) / lambda (F a) (x) a
    dP/dF_ijkl = (1 - phi) [mu d_ik d_jl + Lambda Finv_ji Finv_lk
                            - (Lambda ln J - mu) Finv_jk Finv_li]
                 + phi [(T / lambda^2 - S / lambda^3) (Fa)_i a_j (Fa)_k a_l
                        + S / lambda d_ik a_j a_l]

with S = W_f', T = W_f''. :class:`UniaxialLaw` is the same material in uniaxial stress along
a: F = diag(lambda, l, l), the lateral stretch l from P_22 = 0 (the fibrils add nothing
across: mu l^2 - mu + Lambda ln(lambda l^2) = 0, one root, Newton), and the nominal stress
P_11(lambda); with an incompressible matrix (K -> inf) it is (1 - phi) mu (lambda -
lambda^-2) + phi S(lambda).
"""

from __future__ import annotations

import math

import numpy as np

from qc_sim.errors import InputError


class FibreReinforcedNeoHookean:
    """``shear_modulus`` mu and ``bulk_modulus`` K of the matrix (MPa), ``fibre_fraction``
    phi, ``law`` (:class:`RecruitmentLaw`), fibre ``direction`` (3,) (normalised)."""

    physics = "tendon"

    def __init__(self, shear_modulus: float, bulk_modulus: float, fibre_fraction: float, law,
                 direction=(1.0, 0.0, 0.0)):
        if not (shear_modulus > 0 and math.isfinite(shear_modulus)):
            raise InputError(f"matrix shear modulus must be > 0 (MPa), got {shear_modulus!r}")
        if not (bulk_modulus > 2.0 * shear_modulus / 3.0 and math.isfinite(bulk_modulus)):
            raise InputError(f"matrix bulk modulus must exceed 2/3 of the shear modulus "
                             f"(Lambda > 0), got {bulk_modulus!r}")
        if not 0.0 <= fibre_fraction < 1.0:
            raise InputError(f"fibre fraction must be in [0, 1), got {fibre_fraction!r}")
        a = np.asarray(direction, float)
        if a.shape != (3,) or not np.linalg.norm(a) > 0:
            raise InputError("fibre direction must be a nonzero 3-vector")
        self.mu, self.bulk = float(shear_modulus), float(bulk_modulus)
        self.lam = self.bulk - 2.0 * self.mu / 3.0
        self.phi = float(fibre_fraction)
        self.law = law
        self.a = a / np.linalg.norm(a)

    def fibre_stretch(self, F) -> np.ndarray:
        """lambda = |F a| (...,)."""
        return np.linalg.norm(np.asarray(F, float) @ self.a, axis=-1)

    def energy_stress(self, F):
        """W (...,) MPa and P (..., 3, 3) MPa; W = inf where J <= 0."""
        F = np.asarray(F, float)
        J = np.linalg.det(F)
        bad = ~(J > 0)
        J = np.where(bad, 1.0, J)
        Finv_T = np.swapaxes(np.linalg.inv(np.where(bad[..., None, None], np.eye(3), F)), -1, -2)
        lnJ = np.log(J)
        mu, lam, phi = self.mu, self.lam, self.phi
        I1 = np.einsum("...ij,...ij->...", F, F)
        Wm = 0.5 * mu * (I1 - 3.0) - mu * lnJ + 0.5 * lam * lnJ**2
        Pm = mu * F + (lam * lnJ - mu)[..., None, None] * Finv_T
        Fa = F @ self.a
        stretch = np.linalg.norm(Fa, axis=-1)
        Wf, S, _, _ = self.law.all(stretch)
        Pf = (S / stretch)[..., None, None] * Fa[..., :, None] * self.a[None, :]
        W = (1.0 - phi) * Wm + phi * Wf
        return np.where(bad, np.inf, W), (1.0 - phi) * Pm + phi * Pf

    def tangent(self, F) -> np.ndarray:
        """dP/dF (..., 3, 3, 3, 3) MPa."""
        F = np.asarray(F, float)
        J = np.linalg.det(F)
        Finv = np.linalg.inv(F)
        lnJ = np.log(J)
        mu, lam, phi = self.mu, self.lam, self.phi
        eye = np.eye(3)
        Am = (mu * np.einsum("ik,jl->ijkl", eye, eye)
              + lam * np.einsum("...ji,...lk->...ijkl", Finv, Finv)
              - (lam * lnJ - mu)[..., None, None, None, None]
              * np.einsum("...jk,...li->...ijkl", Finv, Finv))
        a = self.a
        Fa = F @ a
        stretch = np.linalg.norm(Fa, axis=-1)
        _, S, T, _ = self.law.all(stretch)
        c1 = T / stretch**2 - S / stretch**3
        c2 = S / stretch
        Fa_a = Fa[..., :, None] * a[None, :]  # (..., i, j)
        Af = (c1[..., None, None, None, None] * np.einsum("...ij,...kl->...ijkl", Fa_a, Fa_a)
              + c2[..., None, None, None, None] * np.einsum("ik,j,l->ijkl", eye, a, a))
        return (1.0 - phi) * Am + phi * Af

    def recruited_fraction(self, F) -> np.ndarray:
        return self.law.recruited_fraction(self.fibre_stretch(F))


class UniaxialLaw:
    """The uniaxial-stress response along the fibres of a :class:`FibreReinforcedNeoHookean`
    ``material`` (fibres along x): the 1D law the FE specimen is checked against."""

    def __init__(self, material: FibreReinforcedNeoHookean):
        if not np.allclose(material.a, (1.0, 0.0, 0.0)):
            raise InputError("UniaxialLaw: the fibres must lie along x")
        self.material = material

    def lateral_stretch(self, stretch) -> np.ndarray:
        """l(lambda) with P_22 = 0: mu l^2 - mu + Lambda ln(lambda l^2) = 0 (Newton from
        lambda^-1/2, to round-off)."""
        m = self.material
        lam = np.asarray(stretch, float)
        lat = lam**-0.5
        for _ in range(60):
            g = m.mu * lat**2 - m.mu + m.lam * np.log(lam * lat**2)
            dg = 2.0 * m.mu * lat + 2.0 * m.lam / lat
            step = g / dg
            lat = lat - step
            if np.all(np.abs(step) <= 1e-16 * lat):
                break
        return lat

    def matrix_stress(self, stretch) -> np.ndarray:
        """(1 - phi) P_11 of the matrix (MPa)."""
        m = self.material
        lam = np.asarray(stretch, float)
        J = lam * self.lateral_stretch(lam) ** 2
        return (1.0 - m.phi) * (m.mu * lam + (m.lam * np.log(J) - m.mu) / lam)

    def stress(self, stretch) -> np.ndarray:
        """Nominal stress P_11 (MPa) at axial ``stretch``."""
        m = self.material
        return self.matrix_stress(stretch) + m.phi * m.law.stress(stretch)

    def tangent(self, stretch) -> np.ndarray:
        """dP_11/dlambda (MPa) along the uniaxial path (the lateral stretch following)."""
        m = self.material
        lam = np.asarray(stretch, float)
        lat = self.lateral_stretch(lam)
        lnJ = np.log(lam * lat**2)
        dP_dlam = m.mu + m.lam / lam**2 - (m.lam * lnJ - m.mu) / lam**2
        dP_dlat = 2.0 * m.lam / (lam * lat)
        dlat = -(m.lam / lam) / (2.0 * m.mu * lat + 2.0 * m.lam / lat)
        return (1.0 - m.phi) * (dP_dlam + dP_dlat * dlat) + m.phi * m.law.tangent(lam)

    def incompressible_stress(self, stretch) -> np.ndarray:
        """The incompressible limit (1 - phi) mu (lambda - lambda^-2) + phi S(lambda)."""
        m = self.material
        lam = np.asarray(stretch, float)
        return (1.0 - m.phi) * m.mu * (lam - lam**-2) + m.phi * m.law.stress(lam)

    def linear_modulus(self) -> float:
        """dP/dlambda just past the transition (MPa): the slope of the linear region."""
        return float(self.tangent(self.material.law.transition_stretch * (1.0 + 1e-9)))
