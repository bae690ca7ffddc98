"""The atomistic region on the region interface (docs/design.md section 8,
:class:`qc_sim.regions.base.Region`): an :class:`AtomisticSystem` with its dynamical state
(velocities, step, time, optional Langevin thermostat), advanced by velocity Verlet or BAOAB.
The run loop, the checkpoints and the neighbours see only the interface."""

from __future__ import annotations

import math

import numpy as np

from qc_sim.atomistic import dynamics


class AtomisticRegion:
    physics = "atomistic"

    def __init__(self, system, velocities, thermostat=None, step: int = 0, time: float = 0.0):
        self.system = system
        self.thermostat = thermostat
        self.state = dynamics.init_state(system, velocities, step, time)

    def advance(self, dt: float) -> None:
        """As many steps of at most the stable time step as make up ``dt`` ps."""
        steps = max(1, math.ceil(dt / self.stable_time_step() - 1e-12))
        h = dt / steps
        self.state = dynamics.run(self.system, self.state, steps, h, self.thermostat)

    def stable_time_step(self, iterations: int = 20) -> float:
        """Velocity Verlet is stable for dt < 2 / omega_max; omega_max^2 is the largest
        eigenvalue of M^-1/2 H M^-1/2, estimated by power iteration on Hessian-vector
        products from central differences of the forces (2 force calls per iteration). A
        tenth of the limit is returned: accuracy, not stability, sets an MD step."""
        s = self.system
        dev = s.device
        x0 = dev.to_host(s.positions).copy()
        m = dev.to_host(s.masses)[:, None]
        free = dev.to_host(s.free_weights)[:, None]
        rng = np.random.default_rng(0)
        v = rng.standard_normal(x0.shape) * free
        h, lam = 1e-4, 0.0
        for _ in range(iterations):
            v /= np.linalg.norm(v)
            s.set_positions(dev.asarray(x0 + h * v / np.sqrt(m)))
            fp = dev.to_host(s.compute(energy=False, virial=False).forces)
            s.set_positions(dev.asarray(x0 - h * v / np.sqrt(m)))
            fm = dev.to_host(s.compute(energy=False, virial=False).forces)
            hv = -(fp - fm) / (2 * h) / np.sqrt(m) * free
            lam = float((v * hv).sum())
            v = hv
        s.set_positions(dev.asarray(x0))
        s.compute(energy=False, virial=False)
        from qc_sim.units import FTM2V

        omega = math.sqrt(max(lam, 1e-30) * FTM2V)  # 1/ps
        return 0.1 * 2.0 / omega

    def exports(self) -> dict:
        dev = self.system.device
        return {"ids": dev.to_host(self.system.ids), "positions": dev.to_host(
            self.system.positions), "forces": dev.to_host(self.state.result.forces)}

    def imports(self, fields: dict) -> None:
        """``positions`` of the atoms with ``ids`` (for example padding atoms that a mesh
        drives); the forces are recomputed."""
        s = self.system
        dev = s.device
        x = dev.to_host(s.positions).copy()
        index = {int(i): k for k, i in enumerate(dev.to_host(s.ids))}
        for i, p in zip(np.asarray(fields["ids"]), np.asarray(fields["positions"])):
            x[index[int(i)]] = p
        s.set_positions(dev.asarray(x))
        self.state = dynamics.init_state(s, self.state.velocities, self.state.step,
                                         self.state.time)

    def state_fields(self) -> dict:
        dev = self.system.device
        return {"ids": np.array(dev.to_host(self.system.ids)),
                "positions": np.array(dev.to_host(self.system.positions)),
                "velocities": np.array(dev.to_host(self.state.velocities)),
                "step": np.array(self.state.step), "time": np.array(self.state.time)}

    def load_state_fields(self, fields: dict) -> None:
        s = self.system
        dev = s.device
        index = np.argsort(dev.to_host(s.ids))
        order = np.argsort(fields["ids"])
        x = np.empty_like(fields["positions"])
        v = np.empty_like(fields["velocities"])
        x[index] = fields["positions"][order]
        v[index] = fields["velocities"][order]
        s.set_positions(dev.asarray(x))
        self.state = dynamics.init_state(s, v, int(fields["step"]), float(fields["time"]))

    def entity_costs(self) -> np.ndarray:
        """Per atom: its neighbour count (the kernels' work is a loop over neighbours)."""
        s = self.system
        if s.nlist is None:
            s.compute(energy=False, virial=False)
        return np.asarray(s.device.to_host(s.nlist.counts[: s.nlist.rows]), float)

    def thermo(self) -> dict:
        from qc_sim.atomistic.thermo import thermo

        s = self.state
        if s.result.site_energy is None:
            s.result = self.system.compute(energy=True, virial=True)
        t = thermo(self.system, s.velocities, s.result, s.step, s.time)
        return {"step": t.step, "time": t.time, "potential_energy": t.potential,
                "kinetic_energy": t.kinetic, "temperature": t.temperature}
