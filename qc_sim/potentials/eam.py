"""The embedded-atom method, from LAMMPS's funcfl, setfl and Finnis-Sinclair files.

``Eam.from_file(path)`` reads the tables (:mod:`qc_sim.potentials.eam_files`) and interpolates
them exactly as LAMMPS's ``pair_style eam`` does, so energies and forces agree with LAMMPS to
round-off. Kernels: ``kernels/eam.cu``; reference: :mod:`qc_sim.potentials.eam_reference`.
Daw & Baskes, Phys. Rev. B 29 (1984) 6443; Finnis & Sinclair, Phil. Mag. A 50 (1984) 45.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from qc_sim.potentials.base import ForceResult
from qc_sim.potentials.eam_files import EamTables, read_eam
from qc_sim.potentials.eam_reference import eam_compute


@dataclass(frozen=True)
class Eam:
    """An EAM potential: the LAMMPS spline tables of its elements (``species``)."""

    tables: EamTables = field(repr=False)
    source: str = ""

    @classmethod
    def from_file(cls, path, elements=None) -> "Eam":
        """Read a ``.eam`` (or a list of them), ``.eam.alloy`` or ``.eam.fs`` file; optionally
        keep only ``elements`` (in that order)."""
        tables = read_eam(path)
        if elements is not None:
            tables = tables.select(list(elements))
        if isinstance(path, (list, tuple)):
            return cls(tables, os.pathsep.join(str(p) for p in path))
        return cls(tables, str(path))

    @property
    def species(self) -> tuple[str, ...]:
        return tuple(self.tables.elements)

    @property
    def masses(self) -> np.ndarray:
        return np.asarray(self.tables.masses)

    @property
    def cutoff(self) -> float:
        return float(self.tables.cutoff)

    @property
    def half_rows(self) -> bool:
        """Whether the half-row kernels apply: the pair function of types (a, b) is that of
        (b, a), as it is in every EAM file."""
        t = np.asarray(self.tables.type2z2r)
        return bool(np.array_equal(t, t.T))

    def site_terms(self, r, species: int = 0):
        """Energy of a site of type ``species`` whose neighbours (all of that type) lie at
        distances ``r`` (..., m) Å, and its derivative in each distance: (E (...), dE/dr
        (..., m)), with E = F(sum rho(r)) + 1/2 sum phi(r), interpolated as LAMMPS does. The
        Cauchy-Born material evaluates the potential through this call."""
        from qc_sim.potentials.eam_reference import site_terms

        return site_terms(self.tables, np.asarray(r, float), species)

    def compute(self, device, positions, types, box, nlist, energy=True, virial=True,
                weights=None, halo=None):
        """ForceResult of the energy, or of sum_i w_i E_i with per-atom ``weights``.

        A rank's share (docs/design.md section 7) has list rows for its owned atoms only (the first
        ``len(nlist.counts)``); ``halo(fp)`` then fills the embedding derivatives F'(rho) of
        the ghosts (the rows after) from their owners before the forces, and the ghosts'
        forces, site energies and virials come back zero."""
        if not device.compiled:
            f, e, v = eam_compute(self.tables, positions, types, box.lengths, nlist.neighbors,
                                  nlist.images, nlist.counts, energy=energy, virial=virial,
                                  weights=weights, halo=halo)
            return ForceResult(f, e, v)
        return _compute_compiled(self, device, positions, types, box, nlist, energy, virial,
                                 weights, halo)


def _device_tables(pot: Eam, device):
    """The flattened tables on the device, cached per (potential, device)."""
    cache = pot.__dict__.setdefault("_device_cache", {})
    if device.name not in cache:
        t = pot.tables
        as_dev = device.asarray
        cache[device.name] = dict(
            grid=as_dev(np.array([t.nrho, t.nr, len(t.elements)], np.int32)),
            scal=as_dev(np.array([1.0 / t.drho, 1.0 / t.dr, (t.nrho - 1) * t.drho, t.cutoff**2])),
            frho=as_dev(np.ascontiguousarray(t.frho_spline, np.float64).reshape(-1)),
            rhor=as_dev(np.ascontiguousarray(t.rhor_spline, np.float64).reshape(-1)),
            z2r=as_dev(np.ascontiguousarray(t.z2r_spline, np.float64).reshape(-1)),
            type2frho=as_dev(np.ascontiguousarray(t.type2frho, np.int32)),
            type2rhor=as_dev(np.ascontiguousarray(t.type2rhor, np.int32).reshape(-1)),
            type2z2r=as_dev(np.ascontiguousarray(t.type2z2r, np.int32).reshape(-1)),
        )
    return cache[device.name]


def _compute_compiled(pot: Eam, device, positions, types, box, nlist, energy, virial,
                      weights=None, halo=None):
    xp = device.xp
    n = positions.shape[0]
    rows = nlist.rows  # n, or a rank's owned atoms (the ghosts after them)
    t = _device_tables(pot, device)
    k = device.kernels("eam")
    L = device.asarray(box.lengths)
    half = getattr(nlist, "half", None)
    if half is not None:
        if weights is not None:
            raise ValueError("weighted forces need full rows (AtomisticSystem.use_full_rows)")
        return _compute_half(k, t, positions, types, L, nlist, half, energy, virial, halo)
    fp = xp.empty(n)
    site = xp.zeros(n) if energy else xp.empty(1)
    forces = xp.zeros((n, 3)) if rows < n else xp.empty((n, 3))
    vir = (xp.zeros((n, 6)) if rows < n else xp.empty((n, 6))) if virial else xp.empty((1, 6))
    common = (positions, types, L, nlist.neighbors, nlist.images, nlist.counts, nlist.capacity,
              t["grid"], t["scal"])
    k.eam_density(rows, *common, t["frho"], t["rhor"], t["type2frho"], t["type2rhor"],
                  int(energy), fp, site)
    if rows < n:
        halo(fp)
    if weights is not None:
        fp = fp * weights
    k.eam_force(rows, *common, t["rhor"], t["z2r"], t["type2rhor"], t["type2z2r"], fp,
                xp.ones(1) if weights is None else weights, int(weights is not None),
                int(energy), int(virial), forces, site, vir)
    if energy and weights is not None:
        site = site * weights
    return ForceResult(forces, site if energy else None, vir if virial else None)


def _compute_half(k, t, positions, types, L, nlist, half, energy, virial, halo):
    """The half-row kernels over upper rows (one CPU thread): bitwise the full-row results,
    half the pairs."""
    n = positions.shape[0]
    fp, rho, scratch = np.empty(n), np.empty(n), np.empty(n)
    site = np.zeros(n) if energy else np.empty(1)
    forces = np.empty((n, 3))
    vir = np.empty((n, 6)) if virial else np.empty((1, 6))
    common = (half.order, positions, types, L, nlist.neighbors, nlist.images, nlist.counts,
              nlist.capacity, t["grid"], t["scal"])
    k.eam_density_half(n, half.owned, *common, t["frho"], t["rhor"], t["type2frho"],
                       t["type2rhor"], int(energy), rho, fp, site)
    if half.owned < n:
        halo(fp)
    k.eam_force_half(n, half.owned, *common, t["rhor"], t["z2r"], t["type2rhor"], t["type2z2r"],
                     fp, int(energy), int(virial), forces, scratch, site, vir)
    return ForceResult(forces, site if energy else None, vir if virial else None)
