"""Parallel runs (docs/design.md section 7): the one seam through which global sums pass, so that no
partition of the work over ranks (or over threads, or a reordering of atoms) changes a
result by a single bit."""

from qc_sim.parallel.reduce import ExactSum, exact_sum

__all__ = ["ExactSum", "exact_sum"]
