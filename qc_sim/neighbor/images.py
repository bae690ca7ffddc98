"""Periodic image codes, packed as in ``kernels/qc_kernel.h``.

A neighbour entry is ``(j, code)``; the bond vector from atom i to its neighbour is
``x[j] - x[i] + shift(code) * box_lengths`` with ``shift`` three integers in [-511, 511].
"""

from __future__ import annotations

import numpy as np

BITS = 10
BIAS = 511
ZERO = BIAS | (BIAS << BITS) | (BIAS << 2 * BITS)


def encode(shift: np.ndarray) -> np.ndarray:
    """Image codes (...,) int32 from integer shifts (..., 3)."""
    s = np.asarray(shift, dtype=np.int64) + BIAS
    return (s[..., 0] | (s[..., 1] << BITS) | (s[..., 2] << 2 * BITS)).astype(np.int32)


def decode(code: np.ndarray) -> np.ndarray:
    """Integer shifts (..., 3) from image codes (...,)."""
    c = np.asarray(code, dtype=np.int64)
    mask = (1 << BITS) - 1
    return np.stack([((c >> (BITS * a)) & mask) - BIAS for a in range(3)], axis=-1)
