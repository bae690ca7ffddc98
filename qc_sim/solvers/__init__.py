"""Solvers written once over one protocol (STYLE habit 4): minimisers and the nudged elastic
band see only degrees of freedom, energy and forces, so they drive the atoms, the continuum
and the coupled model unchanged."""

from qc_sim.solvers.fire import Fire, fire
from qc_sim.solvers.lbfgs import lbfgs
from qc_sim.solvers.masked import Masked
from qc_sim.solvers.newton import newton_krylov
from qc_sim.solvers.protocol import MinimizeResult, Minimizable, NotConverged

__all__ = ["Minimizable", "MinimizeResult", "NotConverged", "Fire", "fire", "lbfgs", "Masked",
           "newton_krylov"]
