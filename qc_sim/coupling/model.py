"""The coupled model: energies and forces of bqce, bgfc and bqcf (docs/design.md section 6) on the
solver protocol, and the patch test that checks what each coupling promises.

    bqce:  E = sum_i beta_i E_i(x(y)) + sum_T (1 - beta_T) V_T W(F_T(y))
    bgfc:  E = E_bqce(y) - <dE_bqce(y_F), y - y_F>, y_F = F X the far-field homogeneous state
    bqcf:  f_I = beta_I f_atom,I + (1 - beta_I) f_continuum,I   (no energy behind it)

A model built with ``taylor_strain`` evaluates its elements by the second-order Taylor
expansion of W about the far-field deformation (:class:`TaylorCauchyBorn`, assembled once
into a sparse stiffness: one product for all of them) and hands to the full lattice sum
every element whose largest principal strain exceeds ``taylor_strain``, at the start of a
solve and after each converged pass (:meth:`CoupledModel.update_taylor`, called by
:func:`~qc_sim.coupling.statics.relax`); the handshake's elements included, where the
strain is small (the patch test at the far field is exact either way).

y are the node positions (the atoms of core and handshake are nodes), x(y) = Phi y the atom
positions (padding atoms interpolated), and node forces gather the atoms' forces through
Phi^T. Atomistic terms run on the atomistic kernels with per-atom weights, continuum terms
on the Cauchy-Born element kernels.
"""

from __future__ import annotations

import time

import numpy as np

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.continuum.cauchy_born import CauchyBorn, MixedCauchyBorn
from qc_sim.continuum.fem import element_terms
from qc_sim.coupling.geometry import CONTINUUM, CORE, HANDSHAKE, ZONE_NAMES, CoupledGeometry
from qc_sim.geometry import Atoms, Box

METHODS = ("bqce", "bgfc", "bqcf")
GHOST_TOLERANCE = 1e-8  # eV/Å: docs/design.md section 6


class GhostForceError(RuntimeError):
    """A coupling broke its patch-test promise."""


class NodeDofs:
    """The solver protocol over node positions ``y`` (nn, d) with ``free`` (nn,) bool and
    ``evaluate(y)`` -> (energy, node forces): held nodes keep their positions and feel no
    force."""

    def get_dofs(self):
        return self.y.reshape(-1).copy()

    def set_dofs(self, dofs) -> None:
        new = np.asarray(dofs, float).reshape(self.y.shape)
        self.y = np.where(self.free[:, None], new, self.y)

    def energy_forces(self):
        e, f = self.evaluate(self.y)
        return e, (f * self.free[:, None]).reshape(-1)


class CoupledModel(NodeDofs):
    """A coupled model of ``geometry`` with ``potential`` for ``species``; ``method`` one of
    bqce, bgfc, bqcf; ``far_field`` the homogeneous deformation the outer boundary carries
    (and bgfc corrects at). ``check`` runs the patch test at build time."""

    def __init__(self, geometry: CoupledGeometry, potential, species: str, method="bgfc",
                 far_field=None, device=None, check=True, species_index=0,
                 taylor_strain=None, material=None):
        from qc_sim.backend import get_device

        if method not in METHODS:
            raise ValueError(f"coupling {method!r} is not one of {', '.join(METHODS)}")
        if taylor_strain is not None and method == "bqcf":
            raise ValueError("bqcf promises no ghost force under every homogeneous strain, "
                             "which a Taylor far field breaks at second order in the strain: "
                             "use bgfc or bqce with taylor_strain")
        self.taylor_strain = None if taylor_strain is None else float(taylor_strain)
        self.geometry = g = geometry
        self.method = method
        # seconds spent in the atoms' kernels, the continuum's elements, the handshake's
        # interpolation (x = Phi y and Phi^T f) and assembling the Taylor far field's
        # operator (once per set of Taylor elements) since the model was built
        self.clock = {"atoms": 0.0, "continuum": 0.0, "handshake": 0.0,
                      "taylor_assembly": 0.0}
        self.device = device or get_device()  # None: QC_SIM_BACKEND, else auto
        self.xp = np
        self.dim = d = g.dim
        mesh = g.mesh
        # the Cauchy-Born material (a twin shares its model's, and the expansions made of it)
        self.material = material or CauchyBorn(potential, g.lattice, species=species_index,
                                               device=self.device)
        # the continuum as evaluated: full Cauchy-Born, or Taylor on the far field's elements
        self.continuum = MixedCauchyBorn(self.material, len(mesh.elements), F0=far_field)
        if self.taylor_strain is not None:  # Taylor everywhere, until a strain says not
            self.continuum.linear[:] = True
        span = np.zeros(3)
        span[:d] = g.hi - g.lo
        lo3, hi3 = np.zeros(3), np.ones(3)
        lo3[:d], hi3[:d] = g.lo - span[:d], g.hi + span[:d]
        periodic = np.zeros(3, bool)
        periodic[:d] = g.periodic
        lo3[:d][g.periodic], hi3[:d][g.periodic] = g.lo[g.periodic], g.hi[g.periodic]
        positions = np.zeros((len(g.atom_sites), 3))
        positions[:, :d] = g.atom_sites
        atoms = Atoms(positions, Box(tuple(lo3), tuple(hi3), tuple(periodic.tolist())),
                      species=(species,), masses=(1.0,), dimension=d)
        self.has_offset = bool(np.any(g.atom_offset))
        self.atoms = AtomisticSystem(atoms, potential, self.device, skin=0.5)
        self.atom_weights = self.device.asarray(g.atom_beta)
        self.atom_of_node = np.full(mesh.n_nodes, -1)
        self.atom_of_node[g.atom_node[g.atom_node >= 0]] = np.nonzero(g.atom_node >= 0)[0]
        self.free = ~g.held
        self.y = mesh.nodes.copy()
        # external potentials on the nodes: objects with energy_forces(y) -> (eV, (nn, d)),
        # and on_nodes(nodes, y) -> per-node (eV, forces) for a rank's share of them
        self.external = []
        # a model with defects keeps a defect-free twin (same zones): the patch test and
        # bgfc's correction are properties of the lattice, not of the defect
        self.twin = None
        if g.defect_free is not None:
            from scipy.spatial import cKDTree

            self.twin = CoupledModel(g.defect_free, potential, species, method, device=self.device,
                                     check=False, species_index=species_index,
                                     taylor_strain=taylor_strain, material=self.material)
            gap, index = cKDTree(g.defect_free.mesh.nodes).query(mesh.nodes, k=1)
            if np.any(gap > 1e-6):
                raise AssertionError("a node of the defected mesh is missing from its twin")
            self.twin_node = index
        self.far_field = np.eye(d)
        self.ghost = np.zeros_like(self.y)
        self.y_far = mesh.nodes.copy()
        self.set_far_field(np.eye(d) if far_field is None else far_field)
        if check:
            self.check_patch_test()

    # -- the pieces ----------------------------------------------------------------------

    def _atoms(self, y, weighted: bool):
        t0 = time.perf_counter()
        x = np.zeros((len(self.geometry.atom_sites), 3))
        x[:, : self.dim] = self.geometry.interpolation @ y
        if self.has_offset:  # padding atoms interpolated from elements' periodic images
            x[:, : self.dim] += self.geometry.atom_offset
        t1 = time.perf_counter()
        self.atoms.set_positions(x)
        r = self.atoms.compute(energy=True, virial=False,
                               weights=self.atom_weights if weighted else None)
        f = np.asarray(self.device.to_host(r.forces))[:, : self.dim]
        site = np.asarray(self.device.to_host(r.site_energy))
        t2 = time.perf_counter()
        self.clock["handshake"] += t1 - t0
        self.clock["atoms"] += t2 - t1
        return site, f

    def _continuum(self, y, weighted_forces: bool, relative: bool = False):
        """Energy and node forces of the elements that carry weight: (1 - beta_T) > 0 for
        the energy-based couplings, any node with beta < 1 for bqcf. Elements deep in the core
        are skipped: they carry nothing, and a defect may deform them beyond Cauchy-Born's
        range. ``relative``: the energy counted from W(F0) of each element (F0 the far
        field), as a model with a Taylor far field always computes it; the absolute energy
        then adds the constant :meth:`_continuum_reference`."""
        t0 = time.perf_counter()
        g = self.geometry
        active = self._active_elements(weighted_forces)
        w = 1.0 - g.element_beta[active]
        if self.taylor_strain is None and not relative:
            e, f = element_terms(g.mesh, self.material, y, energy_weights=w,
                                 force_weights=w if weighted_forces else None, active=active,
                                 device=self.device)
        else:  # Taylor elements through their assembled stiffness, the rest one by one
            full = active & ~self.continuum.linear
            e, f = element_terms(g.mesh, self.continuum, y,
                                 energy_weights=1.0 - g.element_beta[full],
                                 force_weights=(1.0 - g.element_beta[full]) if weighted_forces
                                 else None, active=full, device=self.device, scatter=True)
            if self.continuum.linear.any():
                e_t, f_t = self._taylor_terms(y)
                e, f = e + e_t, f + f_t
            e = e if relative else e + self._continuum_reference(weighted_forces)
        self.clock["continuum"] += time.perf_counter() - t0
        return e, f

    def _taylor_terms(self, y):
        """Energy (from W(F0)) and node forces of the Taylor elements, as one sparse product:
        with u = y - y_far, E = -f0 . u + 1/2 u . K u and f = f0 - K u, K the elements'
        assembled weighted stiffness and f0 their forces at F0 (f0 formed once per far field
        and set of Taylor elements; K assembled when first needed away from the far field:
        at y_far itself, where bgfc's correction and the reference energy are evaluated,
        u = 0 and f0 is the whole answer, so a far field that is only evaluated there (a
        twin's, each load step's before its relaxation) never assembles one)."""
        mesh = self.geometry.mesh
        if getattr(self, "_taylor", None) is None:
            t0 = time.perf_counter()
            every = np.arange(len(mesh.elements))
            self._taylor = (None, mesh.gather(self._taylor_forces(every,
                                                                  self._taylor_weights(every))))
            self._spent_on_taylor(t0)
        K, f0 = self._taylor
        u = y - self.y_far
        if not u.any():
            return 0.0, f0.copy()
        if K is None:
            from qc_sim.continuum.fem import assemble_stiffness

            t0 = time.perf_counter()
            every = np.arange(len(mesh.elements))
            K = assemble_stiffness(mesh, self.continuum.taylor.A,
                                   weights=self._taylor_weights(every))
            K.eliminate_zeros()
            self._taylor = (K, f0)
            self._spent_on_taylor(t0)
        Ku = (K @ u.reshape(-1)).reshape(u.shape)
        return float(-(f0 * u).sum() + 0.5 * (u * Ku).sum()), f0 - Ku

    def _spent_on_taylor(self, t0) -> None:
        """Book the time since ``t0`` as the Taylor operator's set-up, not evaluation."""
        spent = time.perf_counter() - t0
        self.clock["taylor_assembly"] += spent
        self.clock["continuum"] -= spent

    def _taylor_weights(self, elements) -> np.ndarray:
        """(m,) the Taylor operator's weight of ``elements`` (indices): 1 - beta_T on the
        active Taylor elements, 0 on the others."""
        sel = self._active_elements(self.method != "bqcf")[elements] & \
            self.continuum.linear[elements]
        return np.where(sel, 1.0 - self.geometry.element_beta[elements], 0.0)

    def _taylor_forces(self, elements, w) -> np.ndarray:
        """(m, d+1, d) the forces -w V P(F0) grad N of ``elements`` at the far field."""
        mesh = self.geometry.mesh
        return -np.einsum("e,df,eaf->ead", mesh.volumes[elements] * w,
                          self.continuum.taylor.P0, mesh.gradients[elements])

    def _without_taylor(self, elements, w):
        """The Taylor operator (K, f0) less the share of ``elements`` (weights ``w`` in it;
        handed to the full sum): a small sparse update instead of a new assembly."""
        from qc_sim.continuum.fem import assemble_elements, unit_element_matrices

        mesh = self.geometry.mesh
        K, f0 = self._taylor
        if K is not None:  # (not yet assembled: it will be, from the flags as they are then)
            Ke = unit_element_matrices(mesh, self.continuum.taylor.A)[elements]
            K = K - assemble_elements(mesh, Ke * w[:, None, None], elements)
        f0 = f0.copy()
        np.add.at(f0, mesh.elements[elements].reshape(-1),
                  -self._taylor_forces(elements, w).reshape(-1, self.dim))
        return K, f0

    def _continuum_reference(self, weighted: bool) -> float:
        """sum_T w_T V_T W(F0) over the active elements: the continuum's energy at F0."""
        g = self.geometry
        active = self._active_elements(weighted)
        w = 1.0 - g.element_beta[active]
        return float((g.mesh.volumes[active] * w).sum() * self.continuum.W0)

    def _active_elements(self, weighted: bool) -> np.ndarray:
        key = "weighted" if weighted else "blended"
        cache = self.__dict__.setdefault("_active", {})
        if key not in cache:
            g = self.geometry
            if weighted:
                cache[key] = (1.0 - g.element_beta) > 0
            else:
                cache[key] = np.any(g.node_beta[g.mesh.elements] < 1.0, axis=1)
        return cache[key]

    def evaluate(self, y):
        """(energy, node forces (nn, d)) of the model at node positions y: its coupling plus
        any ``external`` terms (an indenter)."""
        e, f = self._coupled(y)
        for term in self.external:
            e_term, f_term = term.energy_forces(y)
            e, f = e + e_term, f + f_term
        return e, f

    def evaluate_relative(self, y):
        """(energy - :attr:`reference_energy`, node forces) at y: the same forces as
        :meth:`evaluate`, the energy counted from the far-field state per atom and per
        element before it is summed, so that the changes a minimiser weighs near the minimum
        keep their digits however large the model's total energy."""
        self._reference_state()  # before y's atoms: it evaluates them at the far field
        e, f = self._coupled(y, relative=True)
        for term in self.external:
            e_term, f_term = term.energy_forces(y)
            e, f = e + e_term, f + f_term
        return e, f

    def relative_energy_forces(self):
        """The solver protocol's ``energy_forces`` with the energy from :meth:`evaluate_relative`
        (absolute energy = ``reference_energy`` + this one)."""
        e, f = self.evaluate_relative(self.y)
        return e, (f * self.free[:, None]).reshape(-1)

    def _coupled(self, y, relative: bool = False):
        """(energy, node forces (nn, d)) of the model's coupling at node positions y; with
        ``relative`` the energy less :attr:`reference_energy`."""
        if self.method == "bqce":
            return self._bqce(y, relative)
        if self.method == "bgfc":
            e, f = self._bqce(y, relative)
            return e + float((self.ghost * (y - self.y_far)).sum()), f - self.ghost
        site, f_atoms = self._atoms(y, weighted=False)
        e_c, f_c = self._continuum(y, weighted_forces=False, relative=relative)
        beta = self.geometry.node_beta[:, None]
        f = (1.0 - beta) * f_c
        blended = self.atom_of_node >= 0
        f[blended] += beta[blended] * f_atoms[self.atom_of_node[blended]]
        if relative:
            site = site - self._reference_state()[0]
        return float(site @ self.geometry.atom_beta) + e_c, f

    def bqce(self, y):
        """(energy, node forces (nn, d)) of the blended energy."""
        return self._bqce(y, False)

    def _bqce(self, y, relative: bool):
        site, f_atoms = self._atoms(y, weighted=True)
        e_c, f_c = self._continuum(y, weighted_forces=True, relative=relative)
        if relative:
            site = site - self._reference_state()[0]
        t0 = time.perf_counter()
        f = self.geometry.interpolation.T @ f_atoms + f_c
        self.clock["handshake"] += time.perf_counter() - t0
        return float(site.sum()) + e_c, f

    @property
    def reference_energy(self) -> float:
        """The model's energy at the far-field state, from which :meth:`evaluate_relative`
        counts."""
        return self._reference_state()[1]

    def _reference_state(self):
        """(per-atom energies at the far field, weighted as the coupling weighs them; the
        model's energy there), evaluated when first needed after each far field."""
        if self._reference is None:
            weighted = self.method != "bqcf"
            site, _ = self._atoms(self.y_far, weighted=weighted)
            atoms = float(site.sum() if weighted else site @ self.geometry.atom_beta)
            self._reference = (site.copy(), atoms + self._continuum_reference(weighted))
        return self._reference

    def update_taylor(self, y=None) -> int:
        """Hand every Taylor element whose principal strain at y (default the current
        state) exceeds ``taylor_strain`` to the full lattice sum (for good); the number
        handed over. The energy of the far field's Taylor elements against the full sum is
        :meth:`taylor_error`."""
        if self.taylor_strain is None:
            return 0
        y = self.y if y is None else y
        lin = np.flatnonzero(self.continuum.linear)
        F = self.geometry.mesh.deformation_gradients(y, elements=lin)
        over = lin[self.continuum.strain(F) > self.taylor_strain]
        weights = self._taylor_weights(over)  # their weights in the operator, before
        self.continuum.linear[over] = False
        if len(over) and getattr(self, "_taylor", None) is not None:
            t0 = time.perf_counter()
            self._taylor = self._without_taylor(over, weights)
            self.clock["taylor_assembly"] += time.perf_counter() - t0
        if len(over) and self.method == "bgfc" and self.twin is None:
            self.ghost = self._bqce(self.y_far, False)[1]
        return int(len(over))

    def retaylor(self, states) -> int:
        """Every element back on the Taylor expansion, then handed to the full sum where any
        of ``states`` (node positions) strains it beyond ``taylor_strain``: the number
        handed. :meth:`update_taylor` hands for good, so a relaxation from a rough start (a
        dislocation's Volterra field, strained far out before it relaxes) leaves elements
        on the full sum that its relaxed state no longer needs there; a band between
        relaxed states is evaluated after this."""
        if self.taylor_strain is None:
            return 0
        self.continuum.linear[:] = True
        self._taylor = None
        handed = sum(self.update_taylor(y) for y in states)
        if self.method == "bgfc" and self.twin is None:
            self.ghost = self._bqce(self.y_far, False)[1]
        return handed

    def stiffness(self):
        """The assembled linear elastic stiffness (nn d, nn d) of the whole mesh, core
        included, with Cauchy-Born's moduli at the far field: the Hessian of the continuum's
        Taylor elements exactly, and a stand-in for the atoms' (its long waves) in the core.
        The preconditioner of :func:`~qc_sim.coupling.statics.relax`."""
        from qc_sim.continuum.fem import assemble_stiffness

        return assemble_stiffness(self.geometry.mesh, self.continuum.taylor.A)

    #: relative change of the far field's tangent (largest entry) up to which a
    #: preconditioner built at another far field is kept (a load step's few per cent)
    PRECONDITIONER_RTOL = 0.1

    def preconditioner(self):
        """:class:`~qc_sim.solvers.precon.StiffnessPreconditioner` of :meth:`stiffness` on the
        free nodes. Kept across far fields while the free nodes are the same and the
        tangent it was built from is within :data:`PRECONDITIONER_RTOL` of the present one:
        a preconditioner only steers the solver (what it converges to is set by the
        forces), and a quasi-static loading would otherwise assemble and coarsen one per
        load step."""
        from qc_sim.solvers.precon import StiffnessPreconditioner

        A = np.asarray(self.continuum.taylor.A, float)
        kept = self.__dict__.setdefault("_precon", {})  # free nodes -> (A, preconditioner)
        key = np.packbits(self.free).tobytes()
        if key in kept:
            A_kept, precon = kept[key]
            if np.abs(A - A_kept).max() <= self.PRECONDITIONER_RTOL * np.abs(A_kept).max():
                return precon
        precon = StiffnessPreconditioner(self.stiffness(), np.repeat(self.free, self.dim))
        if len(kept) >= 4 and key not in kept:  # a few sets of free nodes (pinned bands)
            kept.pop(next(iter(kept)))
        kept[key] = (A.copy(), precon)
        return precon

    def taylor_error(self, y=None) -> dict:
        """The Taylor far field's energy error at y against the full Cauchy-Born sum over the
        same elements (eV), the number of Taylor elements and their largest strain."""
        y = self.y if y is None else y
        g = self.geometry
        lin = self.continuum.linear & self._active_elements(self.method != "bqcf")
        if not lin.any():
            return {"taylor_elements": 0, "energy_error": 0.0, "max_strain": 0.0}
        F = g.mesh.deformation_gradients(y, elements=lin)
        w = (1.0 - g.element_beta[lin]) * g.mesh.volumes[lin]
        dW_taylor = self.continuum.taylor.delta_energy_stress(F)[0]
        dW_full = self.material.energy_stress(F)[0] - self.continuum.W0
        return {"taylor_elements": int(lin.sum()),
                "energy_error": float(w @ (dW_taylor - dW_full)),
                "max_strain": float(self.continuum.strain(F).max())}

    def set_far_field(self, F) -> None:
        """The far-field deformation: held nodes move to F X; bgfc recomputes its correction
        (the bqce forces of the homogeneous state F X)."""
        F = np.asarray(F, float)
        keep = self.geometry.periodic
        if np.any(keep) and not np.allclose(F[:, keep], np.eye(self.dim)[:, keep], atol=0.0):
            raise ValueError("a deformation of a model periodic along some axes must leave "
                             "those axes' vectors as they are (the period is fixed)")
        self.far_field = F
        self.y_far = self.geometry.mesh.nodes @ F.T
        self.y[~self.free] = self.y_far[~self.free]
        self.continuum.set_reference(F)
        self._taylor = None
        if self.twin is not None:
            self.twin.set_far_field(F)
            if self.method == "bgfc":
                self.ghost = self.twin.ghost[self.twin_node]
        elif self.method == "bgfc":
            self.ghost = self.bqce(self.y_far)[1]
        self._reference = None

    # -- the solver protocol -------------------------------------------------------------

    def max_force(self, forces) -> float:
        f = np.asarray(forces).reshape(-1, self.dim)
        return float(np.sqrt((f * f).sum(axis=1)).max())

    # -- the patch test ------------------------------------------------------------------

    def patch_test(self, F_list):
        """For each F: every node at F X (the model's defect-free lattice); the largest
        force on a free node, overall and per zone (core, handshake, continuum)."""
        if self.twin is not None:
            return self.twin.patch_test(F_list)
        results = []
        for F in F_list:
            F = np.asarray(F, float)
            _, f = self.evaluate(self.geometry.mesh.nodes @ F.T)
            norms = np.sqrt((f * f).sum(axis=1)) * self.free
            zones = {name: float(norms[self.geometry.node_zone == z].max(initial=0.0))
                     for z, name in enumerate(ZONE_NAMES)}
            results.append({"F": F.tolist(), "max_ghost_force": float(norms.max()), **zones})
        return results

    def check_patch_test(self, random_strains: int = 3, size: float = 1e-3, seed: int = 0):
        """The build-time check: I, the far field and random strains; a coupling that
        breaks its promise (bgfc at its far field, bqcf everywhere) raises GhostForceError."""
        rng = np.random.default_rng(seed)
        fixed = self.geometry.periodic  # the columns of F along periodic axes stay those of I
        F_list = [np.eye(self.dim), self.far_field] + [
            np.eye(self.dim) + size * rng.uniform(-1, 1, (self.dim, self.dim)) * ~fixed
            for _ in range(random_strains)]
        results = self.patch_test(F_list)
        promised = {"bqce": [], "bgfc": [1], "bqcf": list(range(len(F_list)))}[self.method]
        for k in promised:
            r = results[k]
            if r["max_ghost_force"] > GHOST_TOLERANCE:
                zone = max(ZONE_NAMES, key=lambda z: r[z])
                raise GhostForceError(
                    f"{self.method} fails its patch test at F = {np.round(r['F'], 6).tolist()}: "
                    f"ghost force {r['max_ghost_force']:.3g} eV/Å in the {zone} "
                    f"(> {GHOST_TOLERANCE:g})")
        self.patch_results = results
        return results


def patch_test(model: CoupledModel, F_list):
    """``model.patch_test(F_list)``: per F, the largest ghost force overall and per zone."""
    return model.patch_test(F_list)




class CoupledImage:
    """One image of a band over a coupled model: its own node positions, evaluated by the
    shared ``model`` (a Minimizable, so NEB and the minimisers take it as they are)."""

    def __init__(self, model: CoupledModel, y):
        self.model = model
        self.xp = np
        self.y = np.array(y, float).reshape(model.y.shape)

    def get_dofs(self):
        return self.y.reshape(-1).copy()

    def set_dofs(self, dofs) -> None:
        new = np.asarray(dofs, float).reshape(self.y.shape)
        self.y = np.where(self.model.free[:, None], new, self.y)

    def energy_forces(self):
        e, f = self.model.evaluate(self.y)
        return e, (f * self.model.free[:, None]).reshape(-1)

    def max_force(self, forces) -> float:
        return self.model.max_force(forces)


__all__ = ["CoupledModel", "CoupledImage", "GhostForceError", "patch_test", "METHODS",
           "CORE", "HANDSHAKE", "CONTINUUM"]
