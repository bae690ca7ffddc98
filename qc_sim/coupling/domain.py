"""A coupled model split over MPI ranks (docs/design.md section 7): nodes, elements and atoms owned
by the ranks of a cost-weighted RCB, each computed by its owner, the forces on a node summed
by the node's owner in the serial order, so statics, dynamics and the patch test give the
same bits on any rank count.

Every rank builds the whole serial :class:`~qc_sim.coupling.model.CoupledModel` from the case
(its geometry, its bgfc correction, its twin) and keeps only its share for the run:

- RCB cuts the domain over one set of points: the nodes, the centroids of the elements that
  carry weight and the atom sites, each with its measured cost (an atom of the EAM kernels
  costs far more than a node). A blended atom and its node sit at one point, so one rank owns
  both.
- Per evaluation, point-to-point with neighbour ranks only: node owners send positions to the
  ranks whose elements or padding atoms use them (ghost nodes); atom owners interpolate their
  atoms (the serial rows of Phi, in their stored order) and send positions to the ranks that
  hold them as ghosts (the atoms within a cutoff and the skin of a rank's own, chosen
  again when atoms pass half the skin; for EAM their F'(rho) follows from their owners); element owners evaluate Cauchy-Born on their elements
  and send the corner forces, and atom owners send their atoms' forces, to the owners of the
  nodes they act on.
- A node owner sums its nodes' element forces in the mesh's CSR order (by element id, from
  0.0, as ``Mesh.gather``) and its padding atoms' forces in ascending atom order (as the serial
  ``Phi^T @ f``): every node force is the serial one, bit for bit, whatever the partition.
- The energy is one exact sum (site energies, element energies, bgfc's correction), rounded
  once; dot products and maxes of the solvers are exact global reductions.
"""

from __future__ import annotations

import time as _time

import numpy as np

from qc_sim.atomistic.domain import GhostShell, SplitReductions
from qc_sim.coupling.geometry import ZONE_NAMES
from qc_sim.coupling.model import CoupledModel, NodeDofs
from qc_sim.parallel.decompose import rcb
from qc_sim.parallel.mpi import exchange, gather_rows, global_exact_sum, global_max


class _Clock:
    """CPU seconds of this process in its exchanges and collectives (waiting for partners
    included) and in everything else of an evaluation (its own work: the load measure).
    Process time, not wall time, so that ranks sharing a core are measured fairly."""

    def __init__(self):
        self.communication = 0.0
        self.total = 0.0

    @property
    def compute(self) -> float:
        return self.total - self.communication


def _plan(comm, wanted: dict):
    """``wanted[q]``: the global indices this rank needs from rank q. Returns (send, receive,
    partners): what each partner needs from this rank, what this rank gets from each, and the
    partners (the symmetric set of ranks that exchange anything with this one)."""
    rank, size = comm.Get_rank(), comm.Get_size()
    empty = np.zeros(0, np.int64)
    requests = [np.asarray(wanted.get(q, empty), np.int64) for q in range(size)]
    asked = comm.alltoall(requests)
    partners = [q for q in range(size) if q != rank and (len(requests[q]) or len(asked[q]))]
    return ({q: np.asarray(asked[q], np.int64) for q in partners},
            {q: requests[q] for q in partners}, partners)


def _grouped(indices, owner, rank) -> dict:
    """``indices`` not owned by ``rank``, grouped by their owner."""
    indices = np.asarray(indices, np.int64)
    others = indices[owner[indices] != rank]
    return {int(q): others[owner[others] == q] for q in np.unique(owner[others])}


def measured_costs(model, repeats: int = 3) -> dict:
    """Seconds per atom, per weighted element and per node of one evaluation of ``model``
    (the medians of ``repeats`` timings of its atomistic and Cauchy-Born parts), for the
    cost-weighted RCB."""
    weighted = model.method != "bqcf"
    y = model.y
    atoms, elements = [], []
    for _ in range(repeats):
        t0 = _time.process_time()
        model._atoms(y, weighted=weighted)
        t1 = _time.process_time()
        model._continuum(y, weighted_forces=weighted)
        t2 = _time.process_time()
        atoms.append(t1 - t0)
        elements.append(t2 - t1)
    active = max(int(model._active_elements(weighted).sum()), 1)
    per_element = float(np.median(elements)) / active
    return {"atom": float(np.median(atoms)) / max(len(model.geometry.atom_sites), 1),
            "element": per_element, "node": 0.05 * per_element}


class DomainCoupledModel(SplitReductions, NodeDofs):
    """This rank's share of ``model`` (a CoupledModel built identically on every rank of
    ``comm``): a Minimizable over the owned nodes (y (n_owned_nodes, d) Å, in global node
    order), with ``evaluate(y)`` for :class:`~qc_sim.coupling.dynamics.CoupledDynamics`.
    ``costs`` (seconds per atom, element and node) weight the partition; measured on rank 0
    when not given."""

    def __init__(self, comm, model, costs: dict | None = None, skin: float = 0.5):
        if getattr(model, "taylor_strain", None) is not None:
            raise ValueError("a coupled model with a Taylor far field runs on one rank (its "
                             "elements are not split over ranks yet): build it without "
                             "taylor_strain to run on several")
        self.comm, self.rank, self.size = comm, comm.Get_rank(), comm.Get_size()
        self.model = model
        self.method, self.dim = model.method, model.dim
        self.xp, self.row, self.to_host = np, model.dim, np.asarray
        self.weighted = model.method != "bqcf"
        if costs is None:
            costs = comm.bcast(measured_costs(model) if self.rank == 0 else None, root=0)
        self.costs = costs
        owners = self._partition(model._active_elements(self.weighted))
        node_local = self._plan_nodes(owners)
        self._plan_elements(owners, node_local)
        own_atom_index = self._plan_atom_forces(owners)
        self._take_nodes(own_atom_index)
        # atoms: the owned ones and their ghosts, carrying their blending weights
        template, g = model.atoms, model.geometry
        self.shell = GhostShell(comm, template.atoms, template.potential, template.device,
                                self.atoms,
                                {"types": np.asarray(template.atoms.types)[self.atoms],
                                 "weights": g.atom_beta[self.atoms]}, skin)
        self.clock = _Clock()
        self.shell.choose(self._atom_positions(self._local_nodes(self.y)))
        self._twin = None

    # -- set-up: who owns what, and who sends what to whom ---------------------------------

    def _partition(self, active):
        """Cost-weighted RCB over nodes, weighted elements (at their centroids) and atom
        sites; this rank's nodes, elements and atoms. Returns the owners (nodes, elements,
        atoms) and keeps the active mask."""
        g = self.model.geometry
        mesh, costs = g.mesh, self.costs
        nn, ne, na = mesh.n_nodes, len(mesh.elements), len(g.atom_sites)
        centroids = mesh.nodes[mesh.elements].mean(axis=1)
        points = np.concatenate([mesh.nodes, centroids, g.atom_sites])
        self.entity_cost = np.concatenate([np.full(nn, costs["node"]),
                                           np.where(active, costs["element"], 0.0),
                                           np.full(na, costs["atom"])])
        self.partition = rcb(points, self.entity_cost, self.size, g.lo, g.hi)
        node_owner, elem_owner, atom_owner = np.split(self.partition.owner, [nn, nn + ne])
        self.nodes = np.flatnonzero(node_owner == self.rank)
        self._own_elements = np.flatnonzero((elem_owner == self.rank) & active)
        self.atoms = np.flatnonzero(atom_owner == self.rank)
        self._active = active
        return node_owner, elem_owner, atom_owner

    def _plan_nodes(self, owners):
        """Local nodes (owned first, then the ghost nodes owned elements and atoms use), the
        node exchange, and the serial rows of Phi for the owned atoms (columns renumbered,
        order kept). Returns the global-to-local node map."""
        import scipy.sparse as sp

        g = self.model.geometry
        mesh, nn = g.mesh, g.mesh.n_nodes
        phi_rows = g.interpolation.tocsr()[self.atoms]
        ghosts = np.setdiff1d(np.concatenate([mesh.elements[self._own_elements].ravel(),
                                              phi_rows.indices]), self.nodes)
        local = np.concatenate([self.nodes, ghosts])
        node_local = np.full(nn, -1, np.int64)
        node_local[local] = np.arange(len(local))
        self._n_local_nodes = len(local)
        send, recv, self._node_partners = _plan(self.comm,
                                                _grouped(ghosts, owners[0], self.rank))
        self._node_send = {q: node_local[i] for q, i in send.items()}
        self._node_recv = {q: node_local[i] for q, i in recv.items()}
        self._phi = sp.csr_matrix((phi_rows.data, node_local[phi_rows.indices],
                                   phi_rows.indptr), shape=(len(self.atoms), len(local)))
        self._offset = g.atom_offset[self.atoms] if self.model.has_offset else None
        return node_local

    def _plan_elements(self, owners, node_local):
        """The owned elements' geometry, and the element entries of the owned nodes in CSR
        order (inactive ones read a zero row) with the exchange of corner forces."""
        g = self.model.geometry
        mesh, ne, active, own = g.mesh, len(g.mesh.elements), self._active, self._own_elements
        self._corners = node_local[mesh.elements[own]]
        self._period = mesh.period if np.any(mesh.period) else None
        self._shifts = mesh.shifts[own]
        self._grads, self._volumes = mesh.gradients[own], mesh.volumes[own]
        self._element_weight = 1.0 - g.element_beta[own]
        start = mesh.csr_start
        entries = np.concatenate([np.arange(start[a], start[a + 1]) for a in self.nodes]) \
            if len(self.nodes) else np.zeros(0, np.int64)
        entry_element = mesh.csr_element[entries]
        self._entry_local = mesh.csr_local[entries]
        self._entry_node = np.repeat(np.arange(len(self.nodes)),
                                     np.diff(start)[self.nodes]) if len(self.nodes) else entries
        wanted = np.unique(entry_element[active[entry_element]])
        slots = np.concatenate([own, np.setdiff1d(wanted, own)])
        slot_of = np.full(ne + 1, len(slots), np.int64)  # len(slots): the zero row
        slot_of[slots] = np.arange(len(slots))
        self._n_element_slots = len(slots)
        self._entry_slot = np.where(active[entry_element], slot_of[entry_element], len(slots))
        send, recv, self._element_partners = _plan(
            self.comm, _grouped(np.setdiff1d(wanted, own), owners[1], self.rank))
        own_index = np.full(ne, -1, np.int64)
        own_index[own] = np.arange(len(own))
        self._element_send = {q: own_index[i] for q, i in send.items()}
        self._element_recv = {q: slot_of[i] for q, i in recv.items()}

    def _plan_atom_forces(self, owners):
        """Phi^T rows of the owned nodes, atoms ascending (the serial sum's order), and the
        exchange of the atom forces they need. Returns the global-to-owned atom map."""
        import scipy.sparse as sp

        g = self.model.geometry
        na = len(g.atom_sites)
        phi_t = g.interpolation.tocsr().T.tocsr()
        phi_t.sort_indices()
        rows = phi_t[self.nodes]
        needed = np.unique(rows.indices)
        self._phi_t = sp.csr_matrix((rows.data, np.searchsorted(needed, rows.indices),
                                     rows.indptr), shape=(len(self.nodes), len(needed)))
        self._n_needed_atoms = len(needed)
        own_atom_index = np.full(na, -1, np.int64)
        own_atom_index[self.atoms] = np.arange(len(self.atoms))
        mine = owners[2][needed] == self.rank
        self._needed_own = (np.flatnonzero(mine), own_atom_index[needed[mine]])
        send, recv, self._force_partners = _plan(self.comm,
                                                 _grouped(needed, owners[2], self.rank))
        self._force_send = {q: own_atom_index[i] for q, i in send.items()}
        self._force_recv = {q: np.searchsorted(needed, i) for q, i in recv.items()}
        return own_atom_index

    def _take_nodes(self, own_atom_index) -> None:
        """The owned nodes' state, bgfc's correction and bqcf's blending."""
        model, g, own = self.model, self.model.geometry, self.nodes
        self.free = model.free[own]
        self.y = model.y[own].copy()
        self._ghost_force = model.ghost[own]
        self._y_far = model.y_far[own]
        self._node_beta = g.node_beta[own]
        of_node = model.atom_of_node[own]
        self._blended = of_node >= 0
        self._blended_atom = own_atom_index[of_node[self._blended]]
        self.zone = g.node_zone[own]

    def _exchange(self, partners, outgoing, tag):
        t0 = _time.process_time()
        incoming = exchange(self.comm, partners, outgoing, tag)
        self.clock.communication += _time.process_time() - t0
        return incoming

    # -- one evaluation ------------------------------------------------------------------

    def _local_nodes(self, y):
        """Owned and ghost node positions (n_local, d): the ghosts from their owners."""
        out = np.empty((self._n_local_nodes, self.dim))
        out[: len(y)] = y
        incoming = self._exchange(self._node_partners,
                                  {q: y[i] for q, i in self._node_send.items()}, tag=31)
        for q, i in self._node_recv.items():
            out[i] = incoming[q]
        return out

    def _atom_positions(self, y_local):
        x = np.zeros((len(self.atoms), 3))
        x[:, : self.dim] = self._phi @ y_local
        if self._offset is not None:
            x[:, : self.dim] += self._offset
        return x

    def _atom_terms(self, y_local):
        """Site energies and forces (n_owned_atoms, d) of the owned atoms."""
        shell, dev = self.shell, self.shell.device
        x = self._atom_positions(y_local)
        shell.owned_positions[...] = dev.asarray(x)
        t0 = _time.process_time()
        if shell.moved_past_skin():
            shell.choose(x)
        else:
            shell.update()
        self.clock.communication += _time.process_time() - t0
        weights = dev.asarray(shell.local_static["weights"]) if self.weighted else None
        r = shell.system.compute(energy=True, virial=False, weights=weights)
        n = len(self.atoms)
        return (np.asarray(dev.to_host(r.site_energy))[:n],
                np.asarray(dev.to_host(r.forces))[:n, : self.dim])

    def _element_terms(self, y_local):
        """Energies (n_owned_elements,) and node forces of the owned nodes from every element
        on them (n_owned_nodes, d), summed in CSR order."""
        model, d = self.model, self.dim
        corners = y_local[self._corners]
        if self._period is not None:  # as Mesh.element_coordinates: the corners' images
            corners = corners + self._shifts * self._period[None, None, :]
        F = np.einsum("ead,eaf->edf", corners, self._grads)
        W, P = model.material.energy_stress(F)
        energy = self._volumes * self._element_weight * W
        wf = self._element_weight if self.weighted else 1.0
        forces = -np.einsum("e,edf,eaf->ead", self._volumes * wf, P, self._grads)
        incoming = self._exchange(self._element_partners,
                                  {q: forces[i] for q, i in self._element_send.items()}, tag=32)
        values = np.zeros((self._n_element_slots + 1, d + 1, d))
        values[: len(forces)] = forces
        for q, i in self._element_recv.items():
            values[i] = incoming[q]
        out = np.zeros((len(self.nodes), d))
        np.add.at(out, self._entry_node, values[self._entry_slot, self._entry_local])
        return energy, out

    def _gathered_atom_forces(self, f_atoms):
        """The forces of every atom that acts on an owned node, atoms ascending."""
        out = np.zeros((self._n_needed_atoms, self.dim))
        slots, rows = self._needed_own
        out[slots] = f_atoms[rows]
        incoming = self._exchange(self._force_partners,
                                  {q: f_atoms[i] for q, i in self._force_send.items()}, tag=33)
        for q, i in self._force_recv.items():
            out[i] = incoming[q]
        return out

    def evaluate(self, y):
        """(energy eV, forces on the owned nodes (n_owned_nodes, d) eV/Å) at owned node
        positions ``y``; collective. The energy is the exact sum over every rank."""
        t0 = _time.process_time()
        energy, f = self._evaluate(y)
        self.clock.total += _time.process_time() - t0
        return energy, f

    def _evaluate(self, y):
        y_local = self._local_nodes(y)
        site, f_atoms = self._atom_terms(y_local)
        e_elements, f_c = self._element_terms(y_local)
        if self.weighted:
            f = self._phi_t @ self._gathered_atom_forces(f_atoms) + f_c
            terms = [site, e_elements]
            if self.method == "bgfc":
                terms.append((self._ghost_force * (y - self._y_far)).ravel())
                f = f - self._ghost_force
        else:
            beta = self._node_beta[:, None]
            f = (1.0 - beta) * f_c
            f[self._blended] += beta[self._blended] * f_atoms[self._blended_atom]
            terms = [site * self.model.geometry.atom_beta[self.atoms], e_elements]
        for term in self.model.external:  # an indenter: each rank adds it on its own nodes
            e_nodes, f_nodes = term.on_nodes(self.nodes, y)
            terms.append(e_nodes)
            f = f + f_nodes
        t0 = _time.process_time()
        energy = global_exact_sum(self.comm, np.concatenate(terms))
        self.clock.communication += _time.process_time() - t0
        return energy, f

    # the solver protocol: get_dofs, set_dofs, energy_forces (NodeDofs); max_force, dot,
    # largest (SplitReductions)

    # -- the patch test and the load --------------------------------------------------------

    def patch_test(self, F_list):
        """The serial patch test (:meth:`CoupledModel.patch_test`) computed over the ranks:
        per F, the largest force on a free node, overall and per zone; collective."""
        if self.model.twin is not None:
            if self._twin is None:
                self._twin = DomainCoupledModel(self.comm, self.model.twin, self.costs,
                                                self.shell.skin)
            return self._twin.patch_test(F_list)
        results = []
        for F in F_list:
            F = np.asarray(F, float)
            _, f = self.evaluate(self.model.geometry.mesh.nodes[self.nodes] @ F.T)
            norms = np.sqrt((f * f).sum(axis=1)) * self.free
            zones = {name: global_max(self.comm, float(norms[self.zone == z].max(initial=0.0)))
                     for z, name in enumerate(ZONE_NAMES)}
            results.append({"F": F.tolist(), "max_ghost_force": max(zones.values()), **zones})
        return results

    @property
    def far_field(self):
        return self.model.far_field

    @property
    def geometry(self):
        return self.model.geometry

    def check_patch_test(self, random_strains: int = 3, size: float = 1e-3, seed: int = 0):
        """The build-time check of :meth:`CoupledModel.check_patch_test` (I, the far field,
        random strains; GhostForceError when a coupling breaks its promise), over the
        ranks; collective, and the same verdict on every rank."""
        return CoupledModel.check_patch_test(self, random_strains, size, seed)

    def gather_nodes(self, values, root: int | None = 0):
        """Per-owned-node ``values`` (n_owned_nodes, ...) of every rank in global node order,
        on ``root`` (None elsewhere) or with ``root`` None on every rank; collective. For
        output frames and load steps, never in an evaluation."""
        return gather_rows(self.comm, self.nodes, values, self.model.y.shape[0], root)

    def imbalance(self) -> float:
        """Max over mean of the per-rank summed entity cost of the partition."""
        return self.partition.imbalance(self.entity_cost)
