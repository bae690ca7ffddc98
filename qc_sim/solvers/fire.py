"""FIRE, the fast inertial relaxation engine (Bitzek, Bitzek, Gähler, Koch & Gumbsch,
Phys. Rev. Lett. 97 (2006) 170201), in the FIRE 2.0 form of Guénolé, Nöhring, Vaid, Houllé,
Xie, Prakash & Bitzek (Comput. Mater. Sci. 175 (2020) 109584), on any
:class:`~qc_sim.solvers.protocol.Minimizable`.

MD with unit masses by semi-implicit Euler, the velocity mixed towards the force direction,
``v <- (1 - alpha) v + alpha |v| f/|f|``. After ``n_min`` downhill steps (power
``P = f.v > 0``) the time step grows by ``f_inc`` (up to ``dt_max``) and alpha shrinks by
``f_alpha``. An uphill step takes half a step back, stops, and (after the first ``n_delay``
steps) cuts the time step by ``f_dec`` (down to ``dt_min``) and resets alpha. The
parameters are Bitzek et al.'s (n_min 5, f_inc 1.1, f_dec 0.5, alpha 0.1, f_alpha 0.99);
``dt_min`` and the initial delay are FIRE 2.0's. The delay (no time-step cut for the first
``n_delay`` steps) is off by default: it lets a stiff start with too large a step run away
(an LJ13 cluster in Å with epsilon = 1 eV does); the band of :mod:`~qc_sim.solvers.neb`,
whose first steps undo the linear interpolation, uses FIRE 2.0's 20. Steps are limited to
``max_move`` per degree of freedom so a bad start cannot throw atoms apart. Every dot product
and max goes through the model's reductions (:func:`~qc_sim.solvers.protocol.dot`), so a
model split over MPI ranks relaxes to the same bits on any rank count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qc_sim.solvers.protocol import MinimizeResult, dot, finished, largest


@dataclass(frozen=True)
class Fire:
    """FIRE parameters: time steps in the model's time unit (Å for unit mass and eV/Å)."""

    dt: float = 0.1
    dt_max: float = 1.0
    dt_min: float = 0.002
    n_min: int = 5
    n_delay: int = 0
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha_start: float = 0.1
    f_alpha: float = 0.99
    max_move: float = 0.2


def fire_step(model, y, v, f, dt: float, alpha: float, downhill: int, step: int,
              params: Fire, inv_mass=None):
    """One FIRE update from the state (``y``, ``v``, ``dt``, ``alpha``, ``downhill``) at
    iteration ``step`` with forces ``f``: the new (y, v, dt, alpha, downhill). The power
    test, the time-step and alpha updates, the half step back when uphill, the velocity mix
    and the move limit, with every reduction through ``model`` (so a band or a model split
    over ranks steps to the same bits); the caller sets ``y`` and evaluates. ``inv_mass``
    (per degree of freedom; default unit masses): the dynamics of M dv/dt = f, a diagonal
    preconditioner (heavy nodes where a coarse element makes them stiff), the power test
    still f . v; the minimum it finds is the same."""
    xp = model.xp
    g = f if inv_mass is None else f * inv_mass
    if dot(model, f, v) > 0.0:
        downhill += 1
        if downhill > params.n_min:
            dt = min(dt * params.f_inc, params.dt_max)
            alpha *= params.f_alpha
    else:
        downhill = 0
        if step >= params.n_delay:
            dt = max(dt * params.f_dec, params.dt_min)
            alpha = params.alpha_start
        y = y - (0.5 * dt) * v
        v = xp.zeros_like(v)
    v = v + dt * g
    gnorm = math.sqrt(dot(model, g, g))
    if gnorm > 0.0:
        v = (1.0 - alpha) * v + (alpha * math.sqrt(dot(model, v, v)) / gnorm) * g
    dy = dt * v
    biggest = largest(model, dy)
    if biggest > params.max_move:
        dy = dy * (params.max_move / biggest)
    return y + dy, v, dt, alpha, downhill


def fire(model, fmax: float = 1e-3, max_steps: int = 10_000, params: Fire = Fire(),
         on_step=None) -> MinimizeResult:
    """Minimise ``model`` until its max force is at most ``fmax`` eV/Å or ``max_steps``."""
    xp = model.xp
    y = model.get_dofs()
    v = xp.zeros_like(y)
    energy, f = model.energy_forces()
    evaluations = 1
    dt, alpha, downhill = params.dt, params.alpha_start, 0
    for step in range(max_steps + 1):
        fm = model.max_force(f)
        if on_step is not None:
            on_step(step, energy, fm)
        if fm <= fmax:
            return finished("FIRE", True, step, evaluations, energy, fm, fmax)
        if step == max_steps:
            break
        y, v, dt, alpha, downhill = fire_step(model, y, v, f, dt, alpha, downhill, step,
                                              params)
        model.set_dofs(y)
        energy, f = model.energy_forces()
        evaluations += 1
    return finished("FIRE", False, max_steps, evaluations, energy, fm, fmax)
