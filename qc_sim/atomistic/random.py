"""Counter-based random numbers: Langevin noise and Maxwell-Boltzmann velocities.

Every number is a pure function of (seed, step, global atom id), so a restarted or
re-partitioned run draws the same numbers on every backend (docs/design.md section 2.4). This is
the NumPy twin of ``kernels/qc_random.h``, whose header comment is the specification:

- key = (seed low, seed high), counter = (gid low, gid high | block << 31, step low,
  step high) with block 0 and 1 (gid >= 0, so bit 63 of the id is free): 8 words x0..x7;
- uniforms ``u_k = (2 m + 1) 2^-53`` with ``m = (x_2k << 20) | (x_2k+1 >> 12)`` (52 bits),
  exact doubles in (0, 1);
- Box-Muller: ``z0, z1 = r (cos t, sin t)`` with ``r = sqrt(-2 log u0)``, ``t = 2 pi u1``;
  ``z2 = sqrt(-2 log u2) cos(2 pi u3)``.

The integer words and the uniforms are bitwise identical to the kernels'; the gaussians
agree to ~1e-15 relative (log, cos and sin differ between maths libraries in the last ulp).

Philox4x32-10: Salmon, Moraes, Dror & Shaw, SC'11. Box & Muller, Ann. Math. Stat. 29
(1958) 610.
"""

from __future__ import annotations

import numpy as np

from qc_sim.units import BOLTZMANN, MVV2E

PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
PHILOX_ROUNDS = 10

#: the step of the stream that initial velocities are drawn from (never a dynamics step)
VELOCITY_STREAM = -1

_MASK32 = np.uint64(0xFFFFFFFF)
_MASK64 = (1 << 64) - 1


def philox4x32(counter, key) -> np.ndarray:
    """Philox4x32-10 blocks: ``counter`` (..., 4) and ``key`` (..., 2) uint32 words
    (broadcast against each other) to the output words (..., 4) uint32."""
    counter = np.asarray(counter, dtype=np.uint32)
    key = np.asarray(key, dtype=np.uint32)
    shape = np.broadcast_shapes(counter.shape[:-1], key.shape[:-1])
    c = [np.broadcast_to(counter[..., j], shape).astype(np.uint64) for j in range(4)]
    k = [np.broadcast_to(key[..., j], shape).astype(np.uint64) for j in range(2)]
    m0, m1 = np.uint64(PHILOX_M[0]), np.uint64(PHILOX_M[1])
    for rnd in range(PHILOX_ROUNDS):
        if rnd > 0:
            k = [(k[j] + np.uint64(PHILOX_W[j])) & _MASK32 for j in range(2)]
        p0 = m0 * c[0]
        p1 = m1 * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k[0], p1 & _MASK32,
             (p0 >> np.uint64(32)) ^ c[3] ^ k[1], p0 & _MASK32]
    return np.stack(c, axis=-1).astype(np.uint32)


def u01(hi, lo) -> np.ndarray:
    """Uniform doubles in (0, 1) from two uint32 words: ``(2 m + 1) 2^-53`` with
    ``m = (hi << 20) | (lo >> 12)``, exactly as ``qc_u01`` in ``kernels/qc_random.h``."""
    m = (np.asarray(hi, np.uint64) << np.uint64(20)) | (np.asarray(lo, np.uint64) >> np.uint64(12))
    return (np.uint64(2) * m + np.uint64(1)).astype(np.float64) * 2.0**-53


def _check_gid(gid) -> np.ndarray:
    gid = np.ascontiguousarray(gid, dtype=np.int64)
    if gid.ndim != 1:
        raise ValueError(f"gid must be a 1-d array of global atom ids, got shape {gid.shape}")
    if gid.size and gid.min() < 0:
        raise ValueError("global atom ids must be >= 0")
    return gid


def _seed_step(seed: int, step: int) -> tuple[int, int]:
    """The seed as an unsigned 64-bit key (taken modulo 2^64) and the step as int64 words."""
    step = int(step)
    if not -(1 << 63) <= step < (1 << 63):
        raise ValueError(f"step {step} does not fit a signed 64-bit integer")
    return int(seed) & _MASK64, step & _MASK64


def random_blocks(seed: int, step: int, gid) -> np.ndarray:
    """The 8 Philox words (n, 8) uint32 for each atom: block 0 then block 1."""
    gid = _check_gid(gid)
    seed, step = _seed_step(seed, step)
    g = gid.view(np.uint64)
    ctr = np.empty((2, gid.size, 4), dtype=np.uint32)
    ctr[:, :, 0] = (g & _MASK32).astype(np.uint32)
    ctr[0, :, 1] = (g >> np.uint64(32)).astype(np.uint32)
    ctr[1, :, 1] = ctr[0, :, 1] | np.uint32(1 << 31)
    ctr[:, :, 2] = step & 0xFFFFFFFF
    ctr[:, :, 3] = step >> 32
    key = np.array([seed & 0xFFFFFFFF, seed >> 32], dtype=np.uint32)
    x = philox4x32(ctr, key)
    return np.concatenate([x[0], x[1]], axis=1)


def uniform4(seed: int, step: int, gid) -> np.ndarray:
    """The four uniforms (n, 4) in (0, 1) behind :func:`gaussian3`, bitwise as the kernels."""
    x = random_blocks(seed, step, gid)
    return u01(x[:, 0::2], x[:, 1::2])


def gaussian3(seed: int, step: int, gid) -> np.ndarray:
    """Three standard normal deviates (n, 3) per atom, a pure function of
    (seed, step, gid): the same numbers as the ``gaussian_noise`` kernel."""
    u = uniform4(seed, step, gid)
    r = np.sqrt(-2.0 * np.log(u[:, 0::2]))
    t = (2.0 * np.pi) * u[:, 1::2]
    z = np.empty((u.shape[0], 3))
    z[:, 0] = r[:, 0] * np.cos(t[:, 0])
    z[:, 1] = r[:, 0] * np.sin(t[:, 0])
    z[:, 2] = r[:, 1] * np.cos(t[:, 1])
    return z


def gaussian_noise(device, seed: int, step: int, gid):
    """:func:`gaussian3` on ``device``: ``gid`` (n,) int64 on the device, result (n, 3) there."""
    if not device.compiled:
        return gaussian3(seed, step, gid)
    seed, _ = _seed_step(seed, step)
    n = int(gid.shape[0])
    out = device.xp.empty((n, 3), dtype=np.float64)
    device.kernels("random").gaussian_noise(n, seed, int(step), gid, out)
    return out


def kinetic_temperature(velocities, masses, dof: int) -> float:
    """Kinetic temperature (K) ``sum m v^2 / (dof kB)``: velocities (n, 3) Å/ps, masses (n,)
    g/mol, ``dof`` degrees of freedom, in LAMMPS metal units."""
    v = np.asarray(velocities, dtype=np.float64)
    m = np.asarray(masses, dtype=np.float64)
    return float(MVV2E * (m[:, None] * v * v).sum() / (dof * BOLTZMANN))


def maxwell_boltzmann_velocities(masses, gid, temperature: float, seed: int, dimension: int = 3,
                                 fixed_mask=None, dof: int | None = None) -> np.ndarray:
    """Initial velocities (n, 3) Å/ps at ``temperature`` K, as LAMMPS ``velocity create``
    with ``mom yes``, in metal units.

    Each free atom gets ``sqrt(kB T / m) z`` with ``z`` from :func:`gaussian3` on the stream
    ``step = VELOCITY_STREAM``, so an atom's draw depends only on (seed, its id), never on
    the rank count or atom order. The free atoms' total momentum is then removed and the
    velocities are scaled so that the kinetic temperature over ``dof`` degrees of freedom
    (default ``dimension * n_free - dimension``) is exactly ``temperature``. Sums run in
    id order, so the result is bitwise independent of the order of the atoms. Fixed atoms
    and components beyond ``dimension`` are zero. ``masses`` (n,) g/mol, ``gid`` (n,) the
    global ids of all atoms (this is a global operation).
    """
    masses = np.asarray(masses, dtype=np.float64)
    gid = _check_gid(gid)
    n = gid.size
    if masses.shape != (n,):
        raise ValueError(f"masses must have shape ({n},), got {masses.shape}")
    if dimension not in (2, 3):
        raise ValueError(f"dimension must be 2 or 3, got {dimension}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 K, got {temperature}")
    if n and masses.min() <= 0:
        raise ValueError("masses must be positive")
    free = np.ones(n, bool) if fixed_mask is None else ~np.asarray(fixed_mask, bool)
    if free.shape != (n,):
        raise ValueError(f"fixed_mask must have shape ({n},), got {free.shape}")
    n_free = int(free.sum())
    dof = dimension * n_free - dimension if dof is None else int(dof)
    v = np.zeros((n, 3))
    if n_free < 2 or dof <= 0 or temperature == 0:
        return v
    order = np.argsort(gid, kind="stable")
    ids, m, on = gid[order], masses[order], free[order]
    w = np.zeros((n, 3))
    w[:, :dimension] = gaussian3(seed, VELOCITY_STREAM, ids)[:, :dimension]
    w *= np.sqrt(BOLTZMANN * temperature / (MVV2E * m))[:, None]
    w[~on] = 0.0
    momentum = (m[on, None] * w[on]).sum(axis=0)
    w[on] -= momentum / m[on].sum()
    w *= np.sqrt(temperature / kinetic_temperature(w, m, dof))
    v[order] = w
    return v
