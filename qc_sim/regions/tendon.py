"""Tendon: the tissue's J-shaped stress-strain curve from its microstructure, as the material
of a finite-element region loaded in tension (plug-in physics ``"tendon"``, docs/tendon.md).

Three scales, each a stated law:

1. crosslinks -> fibril modulus: Cox's shear-lag load transfer between the staggered
   molecules of a fibril (:mod:`qc_sim.regions.tendon_fibril`);
2. fibrils -> tissue: recruitment of crimped fibrils with a distribution of critical
   stretch, Shearer's (2015) helically crimped fascicle or a triangular density
   (:mod:`qc_sim.regions.tendon_recruitment`);
3. tissue -> specimen: a fibre-reinforced, nearly incompressible neo-Hookean material
   (:mod:`qc_sim.regions.tendon_material`) on a P1 tetrahedral mesh of a specimen pulled
   along its axis, solved quasi-statically by Newton's method at each macro step of a
   strain ramp (:class:`TendonRegion`). Region time is the load history: the applied
   strain grows at ``strain_rate``.

Grips: ``"rollers"`` (the x = 0 face held in x, the y = 0 and z = 0 faces in y and z, the
x = L face moved in x, lateral faces free) make the exact solution homogeneous uniaxial
stress, which P1 elements represent, so the specimen's nominal stress must equal the 1D law
(:class:`~qc_sim.regions.tendon_material.UniaxialLaw`) to the Newton tolerance;
``"clamped"`` holds both end faces whole (no lateral contraction there): a stiffer,
inhomogeneous specimen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qc_sim.errors import InputError
from qc_sim.regions.tendon_fibril import fibril_modulus
from qc_sim.regions.tendon_material import FibreReinforcedNeoHookean, UniaxialLaw
from qc_sim.regions.tendon_recruitment import (EVALUATIONS, RecruitmentLaw, ShearerCrimp,
                                               TriangularCrimp)

GRIPS = ("rollers", "clamped")
CRIMPS = ("shearer", "triangular")


class TendonRegion:
    """A specimen ``mesh`` (3D P1, its box sides tagged) of ``material`` pulled along x at
    ``strain_rate`` (1/s); ``grips`` "rollers" or "clamped"; Newton to
    ``newton_tolerance`` (the largest free residual force over the largest reaction force)
    in at most ``max_newton`` iterations a step. Lengths mm, stresses MPa, forces N."""

    physics = "tendon"

    def __init__(self, mesh, material, strain_rate: float = 0.01, grips: str = "rollers",
                 newton_tolerance: float = 1e-10, max_newton: int = 25):
        if grips not in GRIPS:
            raise InputError(f"tendon.grips must be one of {', '.join(GRIPS)}, got {grips!r}")
        if mesh.dim != 3:
            raise InputError("tendon: the specimen mesh must be 3D")
        self.mesh, self.material = mesh, material
        self.law = UniaxialLaw(material)
        self.strain_rate = float(strain_rate)
        self.grips = grips
        self.tolerance, self.max_newton = float(newton_tolerance), int(max_newton)
        X = mesh.nodes
        lo, hi = X.min(axis=0), X.max(axis=0)
        self.length = float(hi[0] - lo[0])
        self.area = float((hi[1] - lo[1]) * (hi[2] - lo[2]))
        sets = mesh.node_sets
        held = np.zeros_like(X, bool)
        if grips == "rollers":
            held[sets["xlo"], 0] = held[sets["xhi"], 0] = True
            held[sets["ylo"], 1] = held[sets["zlo"], 2] = True
        else:
            held[sets["xlo"]] = held[sets["xhi"]] = True
        self.held = held
        self.pulled = np.zeros_like(held)
        self.pulled[sets["xhi"], 0] = True
        self.time = 0.0
        self.applied_strain = 0.0
        self.x = X.copy()
        self.iterations = 0
        self.residuals = []
        self._measure()
        self.history = [self._row()]

    # -- the mechanics --------------------------------------------------------------------

    def _targets(self, strain: float) -> np.ndarray:
        """Positions (nn, 3) of the held degrees of freedom at ``strain``: X stretched by
        1 + strain along x (the x = 0 face stays put)."""
        target = self.mesh.nodes.copy()
        target[:, 0] *= 1.0 + strain
        return target

    def _gradient(self, x):
        """Energy (N mm) and its gradient dE/dx (nn, 3) (N)."""
        from qc_sim.continuum.fem import element_terms

        energy, forces = element_terms(self.mesh, self.material, x)
        return energy, -forces

    def _stiffness(self, x):
        from qc_sim.continuum.fem import assemble_stiffness

        return assemble_stiffness(self.mesh, self.material.tangent(
            self.mesh.deformation_gradients(x))).tocsc()

    def solve(self, strain: float) -> None:
        """Equilibrium at applied ``strain``: Newton's method with a direct (SuperLU) solve
        of the free block, from the previous state stretched affinely; a step is halved
        until neither the energy nor the residual grows (or an element would invert)."""
        import scipy.sparse.linalg as spla

        free = ~self.held.reshape(-1)
        x = self.x.copy()
        x[:, 0] *= (1.0 + strain) / (1.0 + self.applied_strain)
        x[self.held] = self._targets(strain)[self.held]
        energy, grad = self._gradient(x)
        residuals = []
        for iteration in range(self.max_newton + 1):
            r = grad.reshape(-1)[free]
            scale = max(np.abs(grad.reshape(-1)[~free]).max(initial=0.0),
                        self.material.mu * self.area / max(len(self.mesh.elements), 1))
            residuals.append(float(np.abs(r).max(initial=0.0) / scale))
            if residuals[-1] <= self.tolerance:
                break
            if iteration == self.max_newton:
                raise RuntimeError(f"tendon: Newton did not converge at strain {strain:.6g} in "
                                   f"{self.max_newton} iterations (residual {residuals[-1]:.3e})")
            du = -spla.spsolve(self._stiffness(x)[free][:, free], r)
            alpha = 1.0
            for _ in range(40):
                trial = x.copy()
                trial.reshape(-1)[free] += alpha * du
                e_try, g_try = self._gradient(trial)
                if math.isfinite(e_try) and (
                        e_try <= energy or np.abs(g_try.reshape(-1)[free]).max() < np.abs(r).max()):
                    break
                alpha *= 0.5
            x, energy, grad = trial, e_try, g_try
        self.x, self.applied_strain = x, float(strain)
        self.iterations, self.residuals = iteration, residuals
        self._measure()

    def _measure(self) -> None:
        """Reaction, nominal stress and the specimen's tangent modulus at the current state:
        dR/du of the pulled face with the free nodes re-equilibrated (the stiffness
        condensed onto the pulled degrees of freedom), times L / A."""
        import scipy.sparse.linalg as spla

        _, grad = self._gradient(self.x)
        pulled = self.pulled.reshape(-1)
        self.reaction = float(grad.reshape(-1)[pulled].sum())
        K = self._stiffness(self.x)
        free = ~self.held.reshape(-1)
        move = pulled.astype(float)
        response = K @ move
        du = -spla.spsolve(K[free][:, free], response[free])
        full = move.copy()
        full[free] = du
        stiffness = float((K @ full)[pulled].sum())
        self.tangent_modulus = stiffness * self.length / self.area
        self.stress = self.reaction / self.area
        F = self.mesh.deformation_gradients(self.x)
        v = self.mesh.volumes
        self.recruited = float(v @ self.material.recruited_fraction(F) / v.sum())

    def _row(self):
        return (self.time, self.applied_strain, self.stress, self.tangent_modulus,
                self.recruited)

    # -- the region interface -------------------------------------------------------------

    def advance(self, dt: float) -> None:
        """Strain the specimen by ``strain_rate`` dt and solve equilibrium."""
        if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
            raise InputError(f"tendon: dt must be a positive number, got {dt!r}")
        self.solve(self.applied_strain + self.strain_rate * dt)
        self.time += float(dt)
        self.history.append(self._row())

    def stable_time_step(self) -> float:
        return math.inf  # quasi-static

    def exports(self) -> dict:
        """Node displacements (nn, 3) mm; per element the fibre stretch, recruited fraction
        and axial nominal stress P_11 (MPa)."""
        F = self.mesh.deformation_gradients(self.x)
        _, P = self.material.energy_stress(F)
        return {"displacement": self.x - self.mesh.nodes,
                "fibre_stretch": self.material.fibre_stretch(F),
                "recruited_fraction": self.material.recruited_fraction(F),
                "axial_stress": P[:, 0, 0].copy()}

    def imports(self, fields: dict) -> None:
        """``strain``: an applied strain set by a neighbour (the ramp goes on from it)."""
        for key, value in fields.items():
            if key != "strain":
                raise InputError(f"tendon.imports: unknown field {key!r}; allowed: strain")
            value = float(value)
            if not (value > -1.0 and math.isfinite(value)):
                raise InputError(f"tendon.imports: strain must be > -1, got {value!r}")
            self.solve(value)

    def state_fields(self) -> dict:
        return {"time": np.array(self.time), "applied_strain": np.array(self.applied_strain),
                "positions": self.x.copy(), "history": np.array(self.history, float),
                "reaction": np.array(self.reaction),
                "tangent_modulus": np.array(self.tangent_modulus),
                "recruited_fraction": np.array(self.recruited),
                "newton_iterations": np.array(self.iterations)}

    def load_state_fields(self, fields: dict) -> None:
        want = self.state_fields()
        missing = sorted(set(want) - set(fields))
        if missing:
            raise InputError(f"tendon checkpoint: missing fields {', '.join(missing)}")
        for key, value in fields.items():
            if key not in want:
                raise InputError(f"tendon checkpoint: unknown field {key!r}")
            shape = np.shape(value)
            if key == "history" and (len(shape) != 2 or shape[1] != 5):
                raise InputError(f"tendon checkpoint: history has shape {shape}, expected (k, 5)")
            if key != "history" and shape != want[key].shape:
                raise InputError(f"tendon checkpoint: field {key!r} has shape {shape}, "
                                 f"expected {want[key].shape}")
        self.time = float(fields["time"])
        self.applied_strain = float(fields["applied_strain"])
        self.x = np.array(fields["positions"], float)
        self.history = [tuple(float(v) for v in row) for row in np.asarray(fields["history"])]
        self.reaction = float(fields["reaction"])
        self.stress = self.reaction / self.area
        self.tangent_modulus = float(fields["tangent_modulus"])
        self.recruited = float(fields["recruited_fraction"])
        self.iterations = int(fields["newton_iterations"])

    def entity_costs(self) -> np.ndarray:
        """One material evaluation per element (P1: one quadrature point)."""
        return np.ones(len(self.mesh.elements))

    def entity_positions(self) -> np.ndarray:
        return self.mesh.nodes[self.mesh.elements].mean(axis=1)

    def thermo(self) -> dict:
        return {"time": self.time, "strain": self.applied_strain, "stress": self.stress,
                "law_stress": float(self.law.stress(1.0 + self.applied_strain)),
                "tangent_modulus": self.tangent_modulus,
                "recruited_fraction": self.recruited,
                "newton_iterations": float(self.iterations)}

    def picture(self, folder):
        """The J-shaped curve: the 1D law, the specimen's points on it, the toe region
        shaded up to the transition (every fibril straight), and the recruited fraction."""
        from qc_sim.regions.tendon_picture import j_curve

        return j_curve(self, folder)


# -- the case-file plug-in (qc_sim.cases.plugins) ---------------------------------------------

@dataclass(frozen=True)
class Spec:
    crosslinks: float = 1.0
    reference_crosslinks: float = 1.0
    fibril_modulus: float = 700.0
    crosslink_stiffness_ratio: float = 16400.0
    fibre_fraction: float = 0.7
    crimp: str = "shearer"
    outer_crimp_angle: float = 15.1
    critical_stretch: tuple = (1.0, 1.02, 1.05)
    evaluation: str = "closed_form"
    quadrature_points: int = 24
    matrix_shear_modulus: float = 1.0
    matrix_bulk_modulus: float = 1000.0
    strain_rate: float = 0.01
    size: tuple = (20.0, 4.0, 4.0)
    divisions: tuple = (5, 2, 2)
    grips: str = "rollers"
    newton_tolerance: float = 1e-10
    max_newton: int = 25


KEY_DOCS = {
    "crosslinks": "enzymatic crosslinks per tropocollagen molecule, n (sets the fibril "
                  "modulus through shear-lag load transfer)",
    "reference_crosslinks": "the crosslink density at which the fibril modulus is "
                            "fibril_modulus",
    "fibril_modulus": "collagen fibril Young's modulus at reference_crosslinks, MPa",
    "crosslink_stiffness_ratio": "eta: one crosslink's stiffness over a molecule's axial "
                                 "stiffness (shear-lag (beta L)^2 = n eta)",
    "fibre_fraction": "fibril volume fraction phi of the tissue",
    "crimp": "distribution of fibril critical stretch: shearer (helically crimped fascicle, "
             "Shearer 2015) or triangular",
    "outer_crimp_angle": "shearer: crimp angle of the outermost fibrils, degrees (the toe "
                         "ends at stretch 1 / cos of it)",
    "critical_stretch": "triangular: lower, mode, upper critical stretch",
    "evaluation": "recruitment integrals in closed form or by Gauss-Legendre quadrature",
    "quadrature_points": "Gauss-Legendre points per smooth piece of the crimp density",
    "matrix_shear_modulus": "neo-Hookean matrix shear modulus mu, MPa",
    "matrix_bulk_modulus": "matrix bulk modulus K, MPa (K >> mu: nearly incompressible)",
    "strain_rate": "applied axial strain per unit region time, 1/s (region time is the load "
                   "history)",
    "size": "specimen length along the fibres (x) and cross-section (y, z), mm",
    "divisions": "grid cells along x, y, z (the grid points meshed by Delaunay tetrahedra)",
    "grips": "rollers: ends free to contract (homogeneous uniaxial stress); clamped: end "
             "faces held whole",
    "newton_tolerance": "largest free residual force over the largest reaction force at "
                        "equilibrium",
    "max_newton": "Newton iterations allowed per step",
}
CHOICES = {"crimp": CRIMPS, "evaluation": EVALUATIONS, "grips": GRIPS}
UNIT = "s"


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def check(spec: Spec, case_dir) -> list:
    """The problems of a [tendon] section as (key, message), empty when it is good."""
    problems = []

    def need(ok, key, message):
        if not ok:
            problems.append((key, message))

    for key in ("crosslinks", "reference_crosslinks", "fibril_modulus",
                "crosslink_stiffness_ratio", "matrix_shear_modulus", "strain_rate"):
        value = getattr(spec, key)
        need(_finite(value) and value > 0, key, f"must be a positive number, got {value!r}")
    need(_finite(spec.fibre_fraction) and 0 < spec.fibre_fraction < 1, "fibre_fraction",
         f"must be in (0, 1), got {spec.fibre_fraction!r}")
    need(_finite(spec.matrix_bulk_modulus)
         and spec.matrix_bulk_modulus > 2.0 * spec.matrix_shear_modulus / 3.0,
         "matrix_bulk_modulus", f"must exceed 2/3 of matrix_shear_modulus, got "
         f"{spec.matrix_bulk_modulus!r}")
    need(_finite(spec.outer_crimp_angle) and 0 < spec.outer_crimp_angle < 90,
         "outer_crimp_angle", f"must be in (0, 90) degrees, got {spec.outer_crimp_angle!r}")
    a = spec.critical_stretch
    need(len(a) == 3 and all(_finite(v) for v in a) and 1.0 <= a[0] <= a[1] <= a[2]
         and a[0] < a[2], "critical_stretch",
         f"must be [lower, mode, upper] with 1 <= lower <= mode <= upper, lower < upper, "
         f"got {list(a)}")
    need(2 <= spec.quadrature_points <= 200, "quadrature_points",
         f"must be in [2, 200], got {spec.quadrature_points}")
    need(len(spec.size) == 3 and all(_finite(v) and v > 0 for v in spec.size), "size",
         f"must be 3 positive lengths (mm), got {list(spec.size)}")
    need(len(spec.divisions) == 3 and all(v >= 1 for v in spec.divisions)
         and int(np.prod(spec.divisions)) <= 20000, "divisions",
         f"must be 3 integers >= 1 (at most 20000 cells), got {list(spec.divisions)}")
    need(_finite(spec.newton_tolerance) and 0 < spec.newton_tolerance <= 1e-3,
         "newton_tolerance", f"must be in (0, 1e-3], got {spec.newton_tolerance!r}")
    need(1 <= spec.max_newton <= 200, "max_newton",
         f"must be in [1, 200], got {spec.max_newton}")
    return problems


def recruitment_law(spec: Spec) -> RecruitmentLaw:
    """The fibrils' recruitment law of a [tendon] section (the fibril modulus from its
    crosslink density)."""
    crimp = (ShearerCrimp(spec.outer_crimp_angle) if spec.crimp == "shearer"
             else TriangularCrimp(*spec.critical_stretch))
    modulus = float(fibril_modulus(spec.crosslinks, spec.fibril_modulus,
                                   spec.reference_crosslinks, spec.crosslink_stiffness_ratio))
    return RecruitmentLaw(modulus, crimp, spec.evaluation, spec.quadrature_points)


def material(spec: Spec) -> FibreReinforcedNeoHookean:
    return FibreReinforcedNeoHookean(spec.matrix_shear_modulus, spec.matrix_bulk_modulus,
                                     spec.fibre_fraction, recruitment_law(spec))


def build(spec: Spec, case_dir=None, backend=None) -> TendonRegion:
    """The specimen of a [tendon] section (``backend``: NumPy throughout, for every value)."""
    from qc_sim.regions.bone import grid_mesh

    mesh = grid_mesh(tuple(spec.size), tuple(spec.divisions))
    return TendonRegion(mesh, material(spec), spec.strain_rate, spec.grips,
                        spec.newton_tolerance, spec.max_newton)

