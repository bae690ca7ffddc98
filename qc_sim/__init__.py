"""qc-sim: a GPU-accelerated concurrent atomistic-continuum simulator.

The package is layered; each folder imports only the ones before it in this list (the
order tests/test_packaging.py checks): errors, units, backend, parallel, geometry,
neighbor, potentials, solvers, atomistic, continuum (atomistic and continuum are siblings),
coupling, regions, properties, io, cases, cli; ase and reference adapt qc-sim to outside
tools. docs/design.md has the architecture and the mathematics.
"""

__version__ = "0.1.0"
