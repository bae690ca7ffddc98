"""LAMMPS 'metal' units, with LAMMPS's own constants so temperatures and pressures compare.

Length Å, time ps, energy eV, mass g/mol, velocity Å/ps, force eV/Å, temperature K, pressure bar.
"""

BOLTZMANN = 8.617343e-5  # eV/K (LAMMPS force->boltz, metal)
MVV2E = 1.0364269e-4  # (g/mol)(Å/ps)^2 -> eV (LAMMPS force->mvv2e, metal)
FTM2V = 1.0 / MVV2E  # (eV/Å)/(g/mol) * ps -> Å/ps
NKTV2P = 1.6021765e6  # eV/Å^3 -> bar (LAMMPS force->nktv2p, metal)
EV_PER_A3_TO_GPA = 160.21766208  # stress and elastic constants
EV_PER_A2_TO_MJ_PER_M2 = 16021.766208  # surface and fault energies
