"""The blending function: 1 in the core, 0 in the continuum, a C^2 ramp across the handshake.

``beta(d) = 1 - s(d / w)`` with ``s(t) = 10 t^3 - 15 t^4 + 6 t^5`` (the quintic smoothstep,
whose first and second derivatives vanish at both ends), d the distance outside the core
and w the handshake width.
"""

from __future__ import annotations

import numpy as np


def blend_weight(distance, width: float) -> np.ndarray:
    t = np.clip(np.asarray(distance, float) / float(width), 0.0, 1.0)
    # clipped: near t = 1 round-off would give -1e-17, an atom neither blended nor padding
    return np.clip(1.0 - t**3 * (10.0 - 15.0 * t + 6.0 * t * t), 0.0, 1.0)
