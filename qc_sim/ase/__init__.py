"""qc-sim as an ASE calculator: ``from qc_sim.ase import Calculator``.

    calc = Calculator(potential="Cu_u3.eam", backend="cpu")
    atoms.calc = calc
    atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()

Orthogonal cells only (qc-sim's boxes are orthogonal); non-periodic axes are open.
"""

from qc_sim.ase.calculator import Calculator

__all__ = ["Calculator"]
