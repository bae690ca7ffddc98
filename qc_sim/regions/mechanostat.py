"""Density-dependent linear elasticity and the mechanical stimulus of bone (the macroscale).

Units: length mm, force N, stress and Young's modulus MPa (N/mm^2), apparent density
g/cm^3, strain energy density U in MPa = J/cm^3, stimulus S = U / rho in J/g. In 2D the
plate has unit thickness and tractions are N/mm per mm of thickness, i.e. MPa.

- :class:`DensityElasticity`: isotropic, E = C rho^gamma (Carter & Hayes 1977 form), a given
  Poisson ratio, rho bounded in [rho_min, rho_max]; plane stress or plane strain in 2D.
- :class:`ElasticProblem`: the P1 mesh, its supports and loads; :meth:`ElasticProblem.solve`
  assembles the stiffness through :class:`qc_sim.continuum.fem.ContinuumRegion` with the
  per-element Young's moduli as its ``element_weights`` (one FE assembly for the whole code)
  and solves with SciPy's sparse direct solver or pyamg (smoothed aggregation with the rigid
  body modes, conjugate gradients).
- :class:`StimulusLaw`: Weinans, Huiskes & Grootenboer (1992, J Biomech 25:1425):
  drho/dt = B (U/rho - k), rho in [rho_min, rho_max].
- :class:`MechanicalBias`: how the stimulus biases the Komarova cells (see its docstring).
- Checkerboard and pattern metrics of a density field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qc_sim.continuum.fem import ContinuumRegion
from qc_sim.continuum.linear_elastic import LinearElastic
from qc_sim.errors import InputError

PLANES = ("stress", "strain")
SOLVERS = ("auto", "direct", "amg")


def _positive(name: str, value, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


@dataclass(frozen=True)
class DensityElasticity:
    """E = C rho^gamma (MPa, rho in g/cm^3), Poisson ratio ``poisson``, rho in
    [rho_min, rho_max]; ``plane`` ("stress" or "strain") says what a 2D mesh means."""

    C: float = 100.0
    gamma: float = 2.0
    poisson: float = 0.3
    rho_min: float = 0.01
    rho_max: float = 1.74
    plane: str = "stress"

    def __post_init__(self):
        _positive("elasticity.C", self.C)
        _positive("elasticity.gamma", self.gamma, allow_zero=True)
        nu = float(self.poisson)
        if not -1.0 < nu < 0.5:
            raise InputError(f"elasticity.poisson must be in (-1, 0.5), got {self.poisson!r}")
        lo = _positive("elasticity.rho_min", self.rho_min)
        hi = _positive("elasticity.rho_max", self.rho_max)
        if not lo < hi:
            raise InputError(f"elasticity: rho_min must be < rho_max, got rho_min={lo}, "
                             f"rho_max={hi}")
        if self.plane not in PLANES:
            raise InputError(f"elasticity.plane must be one of {', '.join(PLANES)}, "
                             f"got {self.plane!r}")

    def young(self, rho):
        """Young's modulus (MPa) at density rho (g/cm^3)."""
        return self.C * np.power(np.asarray(rho, float), self.gamma)

    def unit_material(self, dim: int) -> LinearElastic:
        """The isotropic tensor for E = 1 (its energy scales linearly with E)."""
        nu = self.poisson
        mu = 0.5 / (1.0 + nu)
        lam = nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
        if dim == 2 and self.plane == "stress":
            lam = nu / (1.0 - nu * nu)
        return LinearElastic.isotropic(lam, mu, dim)

    def uniaxial_compliance(self, dim: int) -> float:
        """U / sigma^2 * E for uniaxial stress sigma with free lateral faces: 1/2 in 3D and
        plane stress, (1 - nu^2)/2 in plane strain (the lateral stress there is nu sigma)."""
        if dim == 2 and self.plane == "strain":
            return 0.5 * (1.0 - self.poisson**2)
        return 0.5


@dataclass(frozen=True)
class StimulusLaw:
    """Weinans, Huiskes & Grootenboer (1992): drho/dt = B (S - k), S = U / rho (J/g), rho
    bounded; ``rate`` B in (g/cm^3) per (J/g) per time unit, ``reference`` k in J/g."""

    rate: float = 1.0
    reference: float = 0.25

    def __post_init__(self):
        _positive("stimulus_law.rate", self.rate)
        _positive("stimulus_law.reference", self.reference)

    def equilibrium_density(self, stress: float, elasticity: DensityElasticity,
                            dim: int = 3) -> float:
        """The density where a bar under uniaxial stress sigma is in equilibrium:
        U/rho = c sigma^2 / (C rho^(gamma+1)) = k, so rho = (c sigma^2 / (C k))^(1/(gamma+1))
        with c = 1/2 (3D, plane stress) or (1 - nu^2)/2 (plane strain)."""
        c = elasticity.uniaxial_compliance(dim)
        return (c * stress**2 / (elasticity.C * self.reference)) ** (1.0 / (elasticity.gamma + 1))


@dataclass(frozen=True)
class MechanicalBias:
    """How the stimulus S = U / rho biases the Komarova cells at an element.

    The osteoblast production rate is scaled, alpha2 -> f(r) alpha2, with r = S / S_ref and

        f(r) = 1 + a tanh((r - 1) / w),     0 <= a < 1, w > 0,

    smooth, bounded in (1 - a, 1 + a), and f(1) = 1 exactly, so at S = S_ref the published
    model runs unchanged (bit for bit). The biased steady state is
    x1* = x1_bar f^(-g21/Gamma), x2* = x2_bar f^(-(1 - g11)/Gamma) (for the published
    exponents x1_bar f^(-1/2) and x2_bar f^(1/2)), so with y_i measured from the UNBIASED
    x_i_bar, overload (f > 1) keeps osteoblasts above and osteoclasts below their reference
    levels: dz/dt = k2 (x2* - x2_bar) > 0, net formation; disuse (f < 1) the reverse:
    dz/dt = -k1 (x1* - x1_bar) < 0, net resorption. Bone mass sets density
    (rho = rho_ref z / z_ref), density stiffness, and under a fixed load a denser element
    carries the same stress with less strain energy per gram, so S returns towards S_ref: the
    only equilibrium of the loop is S = S_ref (a mechanostat, Frost's set point).
    """

    reference: float
    amplitude: float = 0.5
    width: float = 1.0

    def __post_init__(self):
        _positive("bias.reference", self.reference)
        a = float(self.amplitude)
        if not 0.0 <= a < 1.0:
            raise InputError(f"bias.amplitude must be in [0, 1), got {self.amplitude!r}")
        _positive("bias.width", self.width)

    def factor(self, stimulus) -> np.ndarray:
        """f(S / S_ref) (n,) for stimuli S (n,) in J/g."""
        r = np.asarray(stimulus, float) / self.reference
        return 1.0 + self.amplitude * np.tanh((r - 1.0) / self.width)

    def slope(self, stimulus) -> np.ndarray:
        """df/dS (n,) per J/g."""
        r = np.asarray(stimulus, float) / self.reference
        return self.amplitude / (self.width * self.reference) / np.cosh((r - 1.0) / self.width) ** 2


class ElasticProblem:
    """Small-strain elasticity on ``mesh`` (P1, 2D or 3D) with per-element Young's moduli.

    ``fixed`` (nn, d) bool: displacement components held at zero; ``loads`` (nn, d) N: dead
    nodal loads (e.g. :meth:`Mesh.traction_loads`). ``solver``: "direct" (SuperLU),
    "amg" (pyamg smoothed aggregation + CG to ``rtol``) or "auto" (direct up to
    ``direct_limit`` free unknowns: 200 000 in 2D, 30 000 in 3D).
    """

    def __init__(self, mesh, elasticity: DensityElasticity, fixed, loads, solver: str = "auto",
                 rtol: float = 1e-10):
        if solver not in SOLVERS:
            raise InputError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
        self.mesh = mesh
        self.elasticity = elasticity
        d = mesh.dim
        self.fixed = np.asarray(fixed, bool).reshape(mesh.n_nodes, d)
        self.loads = np.asarray(loads, float).reshape(mesh.n_nodes, d)
        if not self.fixed.any():
            raise InputError("bone mechanics: no displacement is fixed (a floating body)")
        self.free = np.flatnonzero(~self.fixed.reshape(-1))
        self.solver = solver
        self.rtol = rtol
        self.direct_limit = 200_000 if d == 2 else 30_000
        self.material = elasticity.unit_material(d)
        self.fe = ContinuumRegion(mesh, self.material, element_weights=np.ones(len(mesh.elements)),
                                  external_forces=self.loads)

    def set_loads(self, loads) -> None:
        self.loads = np.asarray(loads, float).reshape(self.mesh.n_nodes, self.mesh.dim)
        self.fe.external = self.loads

    def solve(self, young):
        """Displacements u (nn, d) mm, strain energy densities U (ne,) MPa and the compliance
        f.u (N mm) for element Young's moduli ``young`` (ne,) MPa."""
        import scipy.sparse.linalg as spla

        fe = self.fe
        fe.element_weights = np.asarray(young, float)
        fe.x = self.mesh.nodes.copy()
        K = fe.tangent_matrix()
        Kff = K[self.free][:, self.free]
        f = self.loads.reshape(-1)[self.free]
        method = self.solver
        if method == "auto":
            method = "direct" if len(self.free) <= self.direct_limit else "amg"
        if method == "direct":
            uf = spla.spsolve(Kff.tocsc(), f)
        else:
            uf = self._amg(Kff.tocsr(), f)
        u = np.zeros(self.mesh.n_nodes * self.mesh.dim)
        u[self.free] = uf
        u = u.reshape(self.mesh.n_nodes, self.mesh.dim)
        F = fe.deformation_gradients(self.mesh.nodes + u)
        W, _ = self.material.energy_stress(F)
        return u, fe.element_weights * W, float((self.loads * u).sum())

    def _amg(self, A, f):
        from qc_sim.solvers.amg import smoothed_aggregation

        from qc_sim.solvers.amg import rigid_body_modes

        B = rigid_body_modes(self.mesh.nodes)[self.free]
        ml = smoothed_aggregation(A, B=B, symmetry="hermitian", max_coarse=500)
        residuals = []
        u = ml.solve(f, tol=self.rtol, accel="cg", maxiter=1000, residuals=residuals)
        if residuals[-1] > self.rtol * max(residuals[0], 1e-300) * 10:
            raise RuntimeError(f"bone mechanics: AMG-CG reached only {residuals[-1]:.2e} "
                               f"relative to {residuals[0]:.2e}")
        return u


# -- element <-> node averaging (the node-based remedy of Jacobs et al. 1995) ------------------

def element_to_node(mesh, values) -> np.ndarray:
    """Volume-weighted nodal average (nn,) of element values (ne,)."""
    k = mesh.dim + 1
    w = np.repeat((mesh.volumes / k)[:, None], k, axis=1)
    num = mesh.gather(w * np.asarray(values, float)[:, None])
    den = mesh.gather(w)
    return num / den


def node_to_element(mesh, nodal) -> np.ndarray:
    """Element means (ne,) of nodal values (nn,) (the P1 field's element average)."""
    return np.asarray(nodal, float)[mesh.elements].mean(axis=1)


# -- metrics of a density field ----------------------------------------------------------

def face_neighbours(mesh) -> np.ndarray:
    """(m, 2) element pairs that share a face (an edge in 2D)."""
    k = mesh.dim + 1
    faces = np.concatenate([np.sort(np.delete(mesh.elements, drop, axis=1), axis=1)
                            for drop in range(k)])
    owner = np.tile(np.arange(len(mesh.elements)), k)
    order = np.lexsort(faces.T[::-1])
    faces, owner = faces[order], owner[order]
    same = np.all(faces[1:] == faces[:-1], axis=1)
    return np.column_stack([owner[:-1][same], owner[1:][same]])


def checkerboard_metrics(mesh, rho, rho_min: float, rho_max: float, tol: float = 1e-3) -> dict:
    """How discontinuous an element density field (ne,) is.

    ``neighbour_contrast``: mean |rho_i - rho_j| over element pairs that share a face,
    divided by rho_max - rho_min (0 for a smooth field on a fine mesh, near 1 for a
    checkerboard of the two bounds); ``at_bounds``: the fraction of elements within ``tol``
    (relative to the range) of rho_min or rho_max; ``alternation``: the fraction of pairs
    whose two elements sit at opposite bounds."""
    rho = np.asarray(rho, float)
    span = rho_max - rho_min
    pairs = face_neighbours(mesh)
    jump = np.abs(rho[pairs[:, 0]] - rho[pairs[:, 1]]) / span
    low = rho <= rho_min + tol * span
    high = rho >= rho_max - tol * span
    opposite = (low[pairs[:, 0]] & high[pairs[:, 1]]) | (high[pairs[:, 0]] & low[pairs[:, 1]])
    return {"neighbour_contrast": float(jump.mean()), "at_bounds": float((low | high).mean()),
            "alternation": float(opposite.mean())}


def density_orientation(mesh, rho) -> dict:
    """The gradient structure tensor of the density field, T = <grad rho (x) grad rho>
    (volume average, gradients of the nodal-averaged P1 field): ``anisotropy`` = largest over
    smallest eigenvalue, ``gradient_angle`` (degrees from the x axis, in [0, 180)) of the
    direction in which density varies most, ``strut_angle`` the direction normal to it in
    2D (along which the material is continuous); in 3D the smallest-eigenvalue direction's
    angle to the x axis."""
    nodal = element_to_node(mesh, rho)
    g = np.einsum("ea,ead->ed", nodal[mesh.elements], mesh.gradients)
    T = np.einsum("e,ed,ef->df", mesh.volumes, g, g) / mesh.volumes.sum()
    vals, vecs = np.linalg.eigh(T)
    big, small = vecs[:, -1], vecs[:, 0]
    angle = float(np.degrees(np.arctan2(big[1], big[0])) % 180.0)
    strut = float(np.degrees(np.arctan2(small[1], small[0])) % 180.0) if mesh.dim == 2 else \
        float(np.degrees(np.arccos(min(1.0, abs(small[0])))))
    return {"anisotropy": float(vals[-1] / max(vals[0], 1e-300)), "gradient_angle": angle,
            "strut_angle": strut, "tensor": T}
