"""qc-sim: a GPU-accelerated concurrent atomistic-continuum simulator.

The package is layered; each folder imports only the ones above it in this list:
backend, geometry, neighbor, potentials, atomistic, io, cases, cli (and ase, reference,
which adapt qc-sim to outside tools). See DESIGN.md for the architecture.
"""

__version__ = "0.1.0"
