"""The ASE calculator adapter (energy, per-atom energies, forces, stress)."""

from __future__ import annotations

import numpy as np
from ase.calculators.calculator import Calculator as AseCalculator
from ase.calculators.calculator import all_changes

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.geometry import Atoms, Box
from qc_sim.potentials import load_potential


def to_qc_atoms(atoms) -> Atoms:
    """An ``ase.Atoms`` with an orthogonal cell as qc-sim :class:`Atoms` (ids = ASE order)."""
    cell = np.asarray(atoms.cell)
    if np.abs(cell - np.diag(np.diag(cell))).max() > 1e-10:
        raise ValueError("qc-sim needs an orthogonal cell (a diagonal ase cell)")
    lengths = np.diag(cell).copy()
    pos = atoms.get_positions()
    per = tuple(bool(p) for p in atoms.pbc)
    lo = np.where(per, 0.0, np.minimum(pos.min(axis=0) if len(pos) else 0, 0.0))
    hi = np.where(per, lengths, np.maximum(pos.max(axis=0) + 1.0 if len(pos) else 1, lengths))
    hi = np.where(hi > lo, hi, lo + 1.0)
    symbols = atoms.get_chemical_symbols()
    species = tuple(dict.fromkeys(symbols))
    types = np.array([species.index(s) for s in symbols], np.int32)
    masses = [atoms.get_masses()[symbols.index(s)] for s in species]
    return Atoms(pos, Box(tuple(lo), tuple(hi), per), species, masses, types)


class Calculator(AseCalculator):
    """qc-sim potentials under ASE.

    potential: a potential file path (``.eam``, ``.eam.alloy``, ``.eam.fs``) or a pair spec
    dict (see :func:`qc_sim.potentials.load_potential`); backend: auto, gpu, cpu or numpy.
    Stress is in eV/Å^3 (ASE's convention: positive under tension), Voigt order.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, potential, backend: str | None = None, skin: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.potential = load_potential(potential) if not hasattr(potential, "compute") else potential
        self.device = get_device(backend)
        self.skin = skin

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        qc_atoms = to_qc_atoms(self.atoms)
        system = AtomisticSystem(qc_atoms, self.potential, self.device, skin=self.skin)
        result = system.compute(energy=True, virial=True)
        energies = self.device.to_host(result.site_energy)
        w = result.total_virial()
        volume = self.atoms.get_volume() if all(self.atoms.pbc) else qc_atoms.box.volume
        # ASE stress = -virial / V in Voigt order (xx, yy, zz, yz, xz, xy)
        stress = -np.array([w[0], w[1], w[2], w[5], w[4], w[3]]) / volume
        self.results = {
            "energy": float(energies.sum()),
            "free_energy": float(energies.sum()),
            "energies": energies,
            "forces": self.device.to_host(result.forces),
            "stress": stress,
        }
