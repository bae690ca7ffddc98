"""Material properties computed from a potential: the bridging numbers the continuum needs
(lattice constant, cohesive energy, elastic constants, ...), by the same code that later
drives the coupled model."""

from qc_sim.properties.bulk import Bulk, cubic_elastic_constants, equilibrium_lattice

__all__ = ["Bulk", "equilibrium_lattice", "cubic_elastic_constants"]
