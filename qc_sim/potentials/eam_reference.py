"""Readable NumPy EAM over a full neighbour list: the oracle for ``kernels/eam.cu``.

Same tables, same interpolation and the same summation order per atom as the kernels (each
atom's bonds are added in list order, starting from zero), vectorised over all bonds.

    rho_i = sum_j rho_{t_j -> t_i}(r_ij)
    E_i   = F_{t_i}(rho_i) + 1/2 sum_j phi_{t_i t_j}(r_ij),   phi = z2r / r
    f_i   = -sum_j [F'_i rho'_{t_j -> t_i} + F'_j rho'_{t_i -> t_j} + phi'] (x_i - x_j) / r
"""

from __future__ import annotations

import numpy as np

from qc_sim.potentials.base import bond_virial, pair_vectors


def spline_index(x: np.ndarray, rdx: float, npoints: int, lowest: int = 0):
    """LAMMPS's table lookup: row m (clamped to [lowest, npoints - 1]) and fraction p <= 1."""
    q = x * rdx + 1.0
    m = np.clip(q.astype(np.int64), lowest, npoints - 1)
    return m, np.minimum(q - m, 1.0)


def spline_value(c: np.ndarray, p: np.ndarray) -> np.ndarray:
    return ((c[:, 3] * p + c[:, 4]) * p + c[:, 5]) * p + c[:, 6]


def spline_slope(c: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (c[:, 0] * p + c[:, 1]) * p + c[:, 2]


def _per_atom(n, i, values):
    """Sum bond values into their atom i, in bond order (as the kernels' loops do)."""
    return np.bincount(i, weights=values, minlength=n)


def eam_compute(tables, positions, types, box_lengths, neighbors, images, counts,
                energy=True, virial=True, weights=None, halo=None):
    """Forces (n, 3), site energies (n,) or None, per-atom virials (n, 6) or None; with
    per-atom ``weights`` those of sum_i w_i E_i. With list rows for the first atoms only (a
    rank's owned atoms), ``halo(fp)`` fills the others' F'(rho) from their owners and their
    forces, energies and virials are zero."""
    t = tables
    n = positions.shape[0]
    types = np.asarray(types)
    i, j, d = pair_vectors(np, positions, box_lengths, neighbors, images, counts)
    rsq = np.einsum("ij,ij->i", d, d)
    keep = rsq < t.cutoff * t.cutoff
    i, j, d, rsq = i[keep], j[keep], d[keep], rsq[keep]
    r = np.sqrt(rsq)
    ti, tj = types[i], types[j]
    m, p = spline_index(r, 1.0 / t.dr, t.nr)

    rho = _per_atom(n, i, spline_value(t.rhor_spline[t.type2rhor[tj, ti], m], p))
    mrho, prho = spline_index(rho, 1.0 / t.drho, t.nrho, lowest=1)
    cf = t.frho_spline[t.type2frho[types], mrho]
    fp = spline_slope(cf, prho)
    rows = len(counts)
    if rows < n:
        halo(fp)
    fp_w = fp if weights is None else fp * weights

    rhoip = spline_slope(t.rhor_spline[t.type2rhor[ti, tj], m], p)
    rhojp = spline_slope(t.rhor_spline[t.type2rhor[tj, ti], m], p)
    cz = t.z2r_spline[t.type2z2r[ti, tj], m]
    z2, z2p = spline_value(cz, p), spline_slope(cz, p)
    recip = 1.0 / r
    phi = z2 * recip
    phip = z2p * recip - phi * recip
    if weights is not None:
        phip = phip * (0.5 * (weights[i] + weights[j]))
    fpair = -(fp_w[i] * rhojp + fp_w[j] * rhoip + phip) * recip
    forces = np.stack([_per_atom(n, i, d[:, a] * fpair) for a in range(3)], axis=1)

    site = None
    if energy:
        embed = spline_value(cf, prho)
        above = rho > t.rhomax
        embed[above] += fp[above] * (rho[above] - t.rhomax)
        site = embed + 0.5 * _per_atom(n, i, phi)
        site[rows:] = 0.0
        if weights is not None:
            site = site * weights
    vir = None
    if virial:
        bonds = bond_virial(d, fpair)
        vir = np.stack([_per_atom(n, i, bonds[:, a]) for a in range(6)], axis=1)
    return forces, site, vir


def site_terms(tables, r, t: int = 0):
    """Site energy (...) and dE/dr (..., m) of a type-``t`` site with type-``t`` neighbours at
    distances ``r`` (..., m): the same interpolation as :func:`eam_compute`."""
    tb = tables
    shape = r.shape
    inside = r < tb.cutoff
    flat = np.where(inside, r, tb.cutoff).reshape(-1)
    m, p = spline_index(flat, 1.0 / tb.dr, tb.nr)
    crho = tb.rhor_spline[tb.type2rhor[t, t], m]
    cz = tb.z2r_spline[tb.type2z2r[t, t], m]
    keep = inside.reshape(-1)
    rho_r = np.where(keep, spline_value(crho, p), 0.0).reshape(shape)
    rho_p = np.where(keep, spline_slope(crho, p), 0.0).reshape(shape)
    z2, z2p = spline_value(cz, p), spline_slope(cz, p)
    phi = z2 / flat
    phip = z2p / flat - phi / flat
    phi = np.where(keep, phi, 0.0).reshape(shape)
    phip = np.where(keep, phip, 0.0).reshape(shape)
    rho = rho_r.sum(axis=-1)
    mr, pr = spline_index(rho.reshape(-1), 1.0 / tb.drho, tb.nrho, lowest=1)
    cf = tb.frho_spline[tb.type2frho[t], mr]
    fp = spline_slope(cf, pr)
    embed = spline_value(cf, pr)
    above = rho.reshape(-1) > tb.rhomax
    embed = np.where(above, embed + fp * (rho.reshape(-1) - tb.rhomax), embed)
    energy = embed.reshape(rho.shape) + 0.5 * phi.sum(axis=-1)
    return energy, fp.reshape(rho.shape)[..., None] * rho_p + 0.5 * phip
