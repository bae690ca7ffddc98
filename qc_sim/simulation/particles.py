"""The particle trajectories (``[output] trajectory``, H5MD; ``gsd``, GSD) of a coupled model:
its atoms (the blended ones and their padding, at ``x = Phi y + offset``) as the lattice's
species and its mesh nodes that are not atoms as a second particle type ``node``, each with
its ``blend_weight`` (the atoms' beta, 1 in the core, 0 for padding; the nodes') and ``zone``
(0 core, 1 handshake, 2 continuum, 3 padding atom). Ids: the atoms 0 .. na - 1 in the
geometry's order, node j na + j. On several MPI ranks rank 0 gathers the nodes at each frame
(never in a step) and writes the files the serial run writes.

Dynamics write a frame every ``trajectory_every`` steps (a restart continuing the files);
statics one per load step: the relaxed state of a vacancy or dipole (step 0), of each K of a
crack, of each depth of an indentation (step k, the load as a GSD attribute ``K`` or
``depth``)."""

from __future__ import annotations

import numpy as np

PADDING = 3


class CoupledTrajectory:
    """Frames of the coupled model ``runner`` (the model itself, or this rank's share of
    ``serial``, a :class:`~qc_sim.coupling.domain.DomainCoupledModel`) to the case's H5MD and
    GSD files; ``start`` a restart's first step."""

    def __init__(self, case, runner, serial, start: int | None = None):
        from qc_sim.geometry import Box
        from qc_sim.io.trajectory import open_writer, outputs

        self.runner, self.serial = runner, serial
        self.split = hasattr(runner, "gather_nodes")
        self.lead = not self.split or runner.comm.Get_rank() == 0
        self.on = bool(outputs(case.output))
        self.writers = []
        if not (self.on and self.lead):
            return
        g = serial.geometry
        d = g.dim
        na, nn = len(g.atom_sites), g.mesh.n_nodes
        is_atom = np.zeros(nn, bool)
        is_atom[g.atom_node[g.atom_node >= 0]] = True
        self.nodes = np.flatnonzero(~is_atom)
        ids = np.concatenate([np.arange(na), na + self.nodes])
        types = np.concatenate([np.zeros(na, np.int32), np.ones(len(self.nodes), np.int32)])
        zone = np.asarray(g.node_zone, np.int32)
        # a blended atom (beta > 0) is a node: its zone; padding (beta 0, interpolated or
        # on a node of the fine mesh) is zone 3
        atom_zone = np.where(g.atom_beta > 0, zone[np.maximum(g.atom_node, 0)], PADDING)
        properties = {"blend_weight": np.concatenate([g.atom_beta, g.node_beta[self.nodes]]),
                      "zone": np.concatenate([atom_zone, zone[self.nodes]]).astype(np.int32)}
        lo, hi = np.zeros(3), np.ones(3)
        periodic = np.zeros(3, bool)
        lo[:d], hi[:d], periodic[:d] = g.lo, g.hi, g.periodic
        box = Box(tuple(lo), tuple(hi), tuple(periodic))
        species = [case.lattice.species[0], "node"]
        self.writers = [open_writer(name, box, ids, types, species, d, properties=properties,
                                    start=start) for name in outputs(case.output)]

    def _gather(self, values):
        return self.runner.gather_nodes(values) if self.split else np.asarray(values)

    def append(self, step: int, time: float = 0.0, velocities=None, **attributes) -> None:
        """One frame of the model's current state (collective on ranks); ``attributes``
        (numbers) go into the GSD frame as global attributes."""
        if not self.on:
            return
        y = self._gather(self.runner.y)
        v = self._gather(velocities) if velocities is not None else None
        if not self.lead:
            return
        from qc_sim.io.gsd import GSDWriter

        g = self.serial.geometry
        y = np.asarray(y, float)
        v = np.zeros_like(y) if v is None else np.asarray(v, float)
        x = np.vstack([g.interpolation @ y + g.atom_offset, y[self.nodes]])
        u = np.vstack([g.interpolation @ v, v[self.nodes]])
        for writer in self.writers:
            if isinstance(writer, GSDWriter):
                writer.append(step, time, x, u, attributes=attributes)
            else:
                writer.append(step, time, x, u)

    def close(self) -> None:
        for writer in self.writers:
            writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
