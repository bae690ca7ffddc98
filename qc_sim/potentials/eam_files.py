"""Reading LAMMPS's EAM tables: funcfl (``.eam``), setfl (``.eam.alloy``), Finnis-Sinclair
(``.eam.fs``), and turning them into the cubic-spline tables LAMMPS interpolates.

The arithmetic follows LAMMPS's ``pair_style eam``, ``eam/alloy`` and ``eam/fs``
(``file2array`` and ``array2spline``), so that qc-sim and LAMMPS agree to round-off:

* funcfl files are put on one common grid by 4-point Lagrange interpolation (even a single
  file, as LAMMPS does), and the pair term is ``z2r = 27.2 * 0.529 * Z_i(r) Z_j(r)``
  (Hartree x Bohr, so that ``phi = z2r / r`` is in eV);
* setfl and Finnis-Sinclair tables are used as written;
* every table ``f`` on points ``m = 1..n`` (spacing ``delta``) becomes 7 coefficients per point:
  ``[6] = f``; ``[5]`` a finite-difference slope (one-sided at the ends, central next to them,
  five-point inside); ``[4]``, ``[3]`` the cubic's remaining coefficients per interval; and
  ``[2] = [5]/delta``, ``[1] = 2 [4]/delta``, ``[0] = 3 [3]/delta`` the derivative's.
  Row 0 is unused, as in LAMMPS.

Malformed files raise :class:`qc_sim.errors.InputError` naming the file, the line and what was
expected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from qc_sim.errors import InputError
from qc_sim.geometry import elements

HARTREE_BOHR = 27.2 * 0.529  # LAMMPS's conversion of funcfl Z(r)^2 to eV * Å
SIXTH = 1.0 / 6.0


@dataclass(frozen=True)
class EamTables:
    """Spline tables for ``elements`` (one per atom type, in type order).

    frho_spline (n_frho, nrho + 1, 7), rhor_spline (n_rhor, nr + 1, 7), z2r_spline
    (n_z2r, nr + 1, 7); type2frho (t,), type2rhor (t, t), type2z2r (t, t) pick the table of
    each type or type pair exactly as LAMMPS's arrays of the same names: the density of atom i
    gains ``rhor[type2rhor[t_j, t_i]](r_ij)`` from each neighbour j.
    """

    elements: tuple
    masses: tuple
    nrho: int
    drho: float
    nr: int
    dr: float
    cutoff: float
    frho_spline: np.ndarray
    rhor_spline: np.ndarray
    z2r_spline: np.ndarray
    type2frho: np.ndarray
    type2rhor: np.ndarray
    type2z2r: np.ndarray
    style: str = "setfl"

    @property
    def rhomax(self) -> float:
        return (self.nrho - 1) * self.drho

    def select(self, names) -> "EamTables":
        """Tables for atom types ``names`` (each an element of this file, repeats allowed)."""
        names = list(names)
        missing = [e for e in names if e not in self.elements]
        if missing:
            raise InputError(f"elements {missing} are not in the potential "
                             f"(it has {list(self.elements)})")
        index = [self.elements.index(e) for e in names]
        sub = np.ix_(index, index)
        return replace(self, elements=tuple(names),
                       masses=tuple(self.masses[k] for k in index),
                       type2frho=self.type2frho[index], type2rhor=self.type2rhor[sub],
                       type2z2r=self.type2z2r[sub])


def spline_coefficients(values: np.ndarray, delta: float) -> np.ndarray:
    """LAMMPS's ``interpolate``: ``values`` f[1..n] (given as an array of n) to (n + 1, 7)."""
    f = np.asarray(values, float)
    n = len(f)
    if n < 5:
        raise ValueError("a spline table needs at least 5 points")
    s = np.zeros((n + 1, 7))
    s[1:, 6] = f
    y = s[:, 6]
    s[1, 5] = y[2] - y[1]
    s[2, 5] = 0.5 * (y[3] - y[1])
    s[n - 1, 5] = 0.5 * (y[n] - y[n - 2])
    s[n, 5] = y[n] - y[n - 1]
    m = np.arange(3, n - 1)
    s[m, 5] = ((y[m - 2] - y[m + 2]) + 8.0 * (y[m + 1] - y[m - 1])) / 12.0
    m = np.arange(1, n)
    s[m, 4] = 3.0 * (y[m + 1] - y[m]) - 2.0 * s[m, 5] - s[m + 1, 5]
    s[m, 3] = s[m, 5] + s[m + 1, 5] - 2.0 * (y[m + 1] - y[m])
    s[n, 4] = 0.0
    s[n, 3] = 0.0
    s[1:, 2] = s[1:, 5] / delta
    s[1:, 1] = 2.0 * s[1:, 4] / delta
    s[1:, 0] = 3.0 * s[1:, 3] / delta
    return s


class _Lines:
    """The lines of a potential file read as LAMMPS's potential reader does: text after
    ``#`` is dropped, blank lines skipped, a table of n numbers may span lines (values left
    on its last line are ignored). Errors name the file and line."""

    def __init__(self, path, lines, first):
        self.path = path
        self.lines = lines
        self.k = first  # 0-based index of the next line

    def fail(self, line_no, what, found=None):
        tail = "" if found is None else f", found {found!r}"
        raise InputError(f"{self.path}: line {line_no}: expected {what}{tail}")

    def next_line(self, what):
        while self.k < len(self.lines):
            self.k += 1
            words = self.lines[self.k - 1].split("#", 1)[0].split()
            if words:
                return words, self.k
        raise InputError(f"{self.path}: line {len(self.lines)}: file ends early; "
                         f"expected {what}")

    def values(self, count, what):
        """The next non-blank line, which must hold at least ``count`` words."""
        words, line_no = self.next_line(what)
        if len(words) < count:
            self.fail(line_no, what, " ".join(words))
        return words, line_no

    def floats(self, count, what) -> np.ndarray:
        start = self.k
        words, lines, k = [], self.lines, self.k
        while len(words) < count and k < len(lines):  # the fast path: one conversion
            line = lines[k]
            k += 1
            if "#" in line:
                line = line.split("#", 1)[0]
            words.extend(line.split()[: count - len(words)])
        if len(words) == count:
            try:
                out = np.array(words, dtype=float)
                if np.all(np.isfinite(out)):
                    self.k = k
                    return out
            except ValueError:  # Fortran's D exponents, or a bad word: the careful path
                pass
        out = np.empty(count)
        got = 0
        while got < count:
            words, line_no = self.next_line(f"{count} values of {what} (got {got})")
            for w in words[: count - got]:
                out[got] = _float(w, lambda: self.fail(
                    line_no, f"a number (value {got + 1} of {count} of {what})", w))
                got += 1
        return out


def _float(word, on_error):
    """A finite number (Fortran's 1.0D-3 accepted); otherwise ``on_error()`` raises."""
    try:
        value = float(word.replace("D", "e").replace("d", "e"))
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        on_error()
    return value


def _int(word, on_error):
    try:
        return int(word)
    except ValueError:
        on_error()


def _read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read potential file ({exc.strerror})") from None


def _grid(reader):
    what = "'Nrho drho Nr dr cutoff'"
    words, line = reader.values(5, what)
    bad = lambda: reader.fail(line, what, " ".join(words))  # noqa: E731
    nrho, nr = _int(words[0], bad), _int(words[2], bad)
    drho, dr, cut = (_float(w, bad) for w in (words[1], words[3], words[4]))
    if nrho < 5 or nr < 5 or drho <= 0 or dr <= 0 or cut <= 0:
        raise InputError(f"{reader.path}: line {line}: need Nrho >= 5, Nr >= 5 and positive "
                         f"drho, dr and cutoff; got {' '.join(words[:5])}")
    return nrho, drho, nr, dr, cut


@dataclass
class Funcfl:
    """One funcfl file: F(rho), Z(r), rho(r) on their own grids (arrays of length n)."""

    element: str
    mass: float
    nrho: int
    drho: float
    nr: int
    dr: float
    cutoff: float
    frho: np.ndarray
    zr: np.ndarray
    rhor: np.ndarray


def read_funcfl_file(path) -> Funcfl:
    reader = _Lines(path, _read_lines(path), 1)  # line 1 is a comment
    what = "'atomic-number mass' (then lattice constant and type)"
    words, line = reader.values(2, what)
    bad = lambda: reader.fail(line, what, " ".join(words))  # noqa: E731
    z, mass = _int(words[0], bad), _float(words[1], bad)
    if mass <= 0:
        raise InputError(f"{path}: line {line}: the mass must be positive, got {mass}")
    try:
        element = elements.symbol(z)
    except KeyError:
        element = f"Z{z}"
    nrho, drho, nr, dr, cut = _grid(reader)
    frho = reader.floats(nrho, "F(rho)")
    zr = reader.floats(nr, "Z(r)")
    rhor = reader.floats(nr, "rho(r)")
    return Funcfl(element, mass, nrho, drho, nr, dr, cut, frho, zr, rhor)


def _lagrange(table: np.ndarray, spacing: float, x: np.ndarray) -> np.ndarray:
    """LAMMPS's 4-point Lagrange interpolation of ``table`` (points 1..n at spacing) at x."""
    n = len(table)
    f = np.concatenate([[0.0], table])  # 1-based
    p = x / spacing + 1.0
    k = p.astype(np.int64)
    k = np.maximum(np.minimum(k, n - 2), 2)
    p = np.minimum(p - k, 2.0)
    c1 = -SIXTH * p * (p - 1.0) * (p - 2.0)
    c2 = 0.5 * (p * p - 1.0) * (p - 2.0)
    c3 = -0.5 * p * (p + 1.0) * (p - 2.0)
    c4 = SIXTH * p * (p * p - 1.0)
    return c1 * f[k - 1] + c2 * f[k] + c3 * f[k + 1] + c4 * f[k + 2]


def read_funcfl(paths) -> EamTables:
    """One or more funcfl files (one element each), merged as LAMMPS's ``pair_style eam``."""
    files = [read_funcfl_file(p) for p in paths]
    dr = max(f.dr for f in files)
    drho = max(f.drho for f in files)
    rmax = max((f.nr - 1) * f.dr for f in files)
    rhomax = max((f.nrho - 1) * f.drho for f in files)
    nr = int(rmax / dr + 0.5)
    nrho = int(rhomax / drho + 0.5)
    rho_grid = np.arange(nrho) * drho
    r_grid = np.arange(nr) * dr
    frho = [spline_coefficients(_lagrange(f.frho, f.drho, rho_grid), drho) for f in files]
    rhor = [spline_coefficients(_lagrange(f.rhor, f.dr, r_grid), dr) for f in files]
    zr = [_lagrange(f.zr, f.dr, r_grid) for f in files]
    z2r = [spline_coefficients(HARTREE_BOHR * zr[i] * zr[j], dr)
           for i in range(len(files)) for j in range(i + 1)]
    n = len(files)
    return EamTables(
        elements=tuple(f.element for f in files), masses=tuple(f.mass for f in files),
        nrho=nrho, drho=drho, nr=nr, dr=dr, cutoff=max(f.cutoff for f in files),
        frho_spline=np.array(frho), rhor_spline=np.array(rhor), z2r_spline=np.array(z2r),
        type2frho=np.arange(n, dtype=np.int32),
        type2rhor=np.repeat(np.arange(n, dtype=np.int32)[:, None], n, axis=1),
        type2z2r=_lower_triangle_map(n), style="funcfl")


def _lower_triangle_map(n) -> np.ndarray:
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    hi, lo = np.maximum(i, j), np.minimum(i, j)
    return (hi * (hi + 1) // 2 + lo).astype(np.int32)


def read_setfl(path, finnis_sinclair=False) -> EamTables:
    """A setfl (``.eam.alloy``) or, with ``finnis_sinclair``, an ``.eam.fs`` file."""
    reader = _Lines(path, _read_lines(path), 3)  # three comment lines
    what = "the number of elements and their names"
    words, line = reader.values(1, what)
    ne = _int(words[0], lambda: reader.fail(line, what, " ".join(words)))
    if ne < 1 or len(words) != ne + 1:
        reader.fail(line, f"{max(ne, 1)} element names after the count {ne}",
                    " ".join(words[1:]))
    names = tuple(words[1:])
    if len(set(names)) != ne:
        raise InputError(f"{path}: line {line}: element names repeat: {list(names)}")
    nrho, drho, nr, dr, cut = _grid(reader)
    masses, frho, rhor = [], [], []
    for e in names:
        what = f"'atomic-number mass lattice-constant lattice' of {e}"
        words, line = reader.values(2, what)
        mass = _float(words[1], lambda: reader.fail(line, what, " ".join(words)))
        if mass <= 0:
            raise InputError(f"{path}: line {line}: the mass of {e} must be positive, "
                             f"got {mass}")
        masses.append(mass)
        frho.append(spline_coefficients(reader.floats(nrho, f"F(rho) of {e}"), drho))
        for other in (names if finnis_sinclair else (None,)):
            what = f"rho(r) of {e}" + (f"-{other}" if other else "")
            rhor.append(spline_coefficients(reader.floats(nr, what), dr))
    z2r = []
    for i in range(ne):
        for j in range(i + 1):
            what = f"r*phi(r) of {names[i]}-{names[j]}"
            z2r.append(spline_coefficients(reader.floats(nr, what), dr))
    idx = np.arange(ne, dtype=np.int32)
    type2rhor = (idx[:, None] * ne + idx[None, :] if finnis_sinclair
                 else np.repeat(idx[:, None], ne, axis=1))
    return EamTables(
        elements=names, masses=tuple(masses), nrho=nrho, drho=drho, nr=nr, dr=dr, cutoff=cut,
        frho_spline=np.array(frho), rhor_spline=np.array(rhor), z2r_spline=np.array(z2r),
        type2frho=idx.copy(), type2rhor=type2rhor.astype(np.int32),
        type2z2r=_lower_triangle_map(ne), style="fs" if finnis_sinclair else "setfl")


def read_eam(path) -> EamTables:
    """Any LAMMPS EAM file by its name: ``*.eam.fs``, ``*.eam.alloy`` (or ``*.setfl``), or
    ``*.eam`` funcfl; a list or tuple of paths is a set of funcfl files."""
    if isinstance(path, (list, tuple)):
        return read_funcfl(path)
    name = os.fspath(path)
    if name.endswith(".fs"):
        return read_setfl(name, finnis_sinclair=True)
    if name.endswith(".alloy") or name.endswith(".setfl"):
        return read_setfl(name)
    if name.endswith(".eam"):
        return read_funcfl([name])
    raise InputError(f"{name}: cannot tell the EAM format from the name; expected a name "
                     "ending .eam (funcfl), .eam.alloy (setfl) or .eam.fs (Finnis-Sinclair)")
