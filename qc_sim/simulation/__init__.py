"""Simulations a user scripts: one function per kind of run, over built objects or a parsed
case, returning a result object and reporting progress through a callback. The command line
(:mod:`qc_sim.cli`) is a thin layer over this package; nothing here imports it."""
