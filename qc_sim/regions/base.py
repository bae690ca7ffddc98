"""The region interface (docs/design.md section 8): what every region physics offers the run loop,
the checkpoints, its neighbours and the load balancer.

A region is a piece of the domain with a physics. It owns state arrays and offers

- ``physics``: the name a case file uses for it (``"atomistic"``, ``"cauchy_born"``,
  ``"linear_elastic"``, ``"bone"``, ``"diffusion"``, ...);
- ``advance(dt)``: move its state forward by ``dt`` (an explicit step, an implicit step, or
  for quasi-static mechanics a re-solve of equilibrium at the new load);
- ``stable_time_step()``: the largest ``dt`` that ``advance`` takes stably (``math.inf``
  when unconditionally stable);
- ``exports()`` / ``imports(fields)``: fields at shared nodes or points, by name (a
  neighbour's displacement, a density, a concentration, a flux);
- ``state_fields()`` / ``load_state_fields(fields)``: every array a bitwise restart needs,
  by name (copies, in global-id order);
- ``entity_costs()``: relative cost of each owned entity (atom, node, element, point) for
  the load balancer; a region that runs on MPI ranks also gives ``entity_positions()``
  (n, d), where each sits (what the recursive coordinate bisection of
  :mod:`qc_sim.parallel.entities` cuts);
- ``thermo()``: the scalars a thermo line and CSV show (name to float).

Mechanical regions additionally implement the solver protocol
(:class:`qc_sim.solvers.protocol.Minimizable`) so that the shared minimisers drive them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Region(Protocol):
    physics: str

    def advance(self, dt: float) -> None: ...

    def stable_time_step(self) -> float: ...

    def exports(self) -> dict: ...

    def imports(self, fields: dict) -> None: ...

    def state_fields(self) -> dict: ...

    def load_state_fields(self, fields: dict) -> None: ...

    def entity_costs(self): ...

    def thermo(self) -> dict: ...
