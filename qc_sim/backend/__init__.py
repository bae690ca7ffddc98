"""Backends: where arrays live and how kernels run (docs/design.md section 2).

Only this package imports CuPy or loads the compiled CPU libraries. Everything else
receives a :class:`Device` and uses ``device.xp`` and ``device.kernels(name)``.
"""

from qc_sim.backend.device import Device, available_backends, get_device

__all__ = ["Device", "available_backends", "get_device"]
