"""The grid cell's pond parameterisation, in the form of the CESM and level-ice pond schemes
of CICE/Icepack (Holland et al. 2012; Hunke, Hebert & Lecomte 2013, Ocean Modelling 71,
26-42; ``icepack_meltpond_cesm.F90`` / ``icepack_meltpond_lvl.F90``), and its fit to an
ensemble of resolved process models (:mod:`melt_ponds_physics`).

The scheme carries one pond volume per cell, fed by the accumulated surface melt:

    dV = r dM_dry + dM_wet - refreezing - drainage,

with r the retained fraction of the unponded surface's meltwater (Icepack eq. ``meltvol``),
dM_wet the melt under the ponds (stays in them), refreezing from the pond surface's energy
balance at 0 degC (negative when the surface freezes), and drainage once the ice is
permeable, which the scheme dates by the accumulated melt: V decays on a time ``tau``
after the cumulative melt passes ``M_perm`` (the resolved model's ice warms to the
permeability threshold as the melt proceeds). The pond fraction is the CESM shape
a_p = min(sqrt(V / delta_p), 1), depth delta_p a_p (``pndaspect``); the cell albedo is
a_p alpha_pond(h_p) + (1 - a_p) alpha_surface(T_s, h_s), so pond fraction and albedo are
functions of the surface temperature and the accumulated melt. The four numbers
(r, delta_p, tau, M_perm) are fitted by least squares (scipy) to the pond fraction and
albedo of the ensemble it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from qc_sim.regions.melt_ponds_physics import Columns, permeability, step_columns, visible_area


@dataclass(frozen=True)
class LevelIcePonds:
    """The fitted scheme: ``retained`` r (-), ``aspect`` delta_p (m), ``drainage_days`` tau
    (days), ``permeable_melt`` M_perm (m of water)."""

    retained: float
    aspect: float
    drainage_days: float
    permeable_melt: float

    def area(self, volume):
        return np.minimum(np.sqrt(np.maximum(volume, 0.0) / self.aspect), 1.0)

    def visible(self, state: Columns):
        return visible_area(state, self.area(state.pond_volume))

    def interior(self, t_int, t_surface, ice, dt):
        return t_int

    def drain(self, state: Columns, dt):
        decay = np.exp(-dt / (self.drainage_days * 86400.0))
        return np.where(state.melt > self.permeable_melt, state.pond_volume * decay,
                        state.pond_volume)


def run_season(state: Columns, ponds, start_day, days, longwave_offset=0.0, feedback=True,
               steps_per_day=4):
    """Step ``days`` days in steps of 1/``steps_per_day``; the histories of pond fraction,
    albedo and cumulative melt, each (n_steps, *state shape), and the last state."""
    fractions, albedos, melts = [], [], []
    dt = 1.0 / steps_per_day
    for k in range(int(round(days * steps_per_day))):
        state = step_columns(state, ponds, start_day + k * dt, dt, longwave_offset, feedback)
        fractions.append(state.pond_fraction)
        albedos.append(state.albedo)
        melts.append(state.melt)
    return np.array(fractions), np.array(albedos), np.array(melts), state


def ensemble_targets(start: Columns, resolved, start_day, days, longwave_offset,
                     steps_per_day=4):
    """Run the resolved ensemble (state shape (members, cells)); its cell means of pond
    fraction, albedo and cumulative melt (m of water), each (n_steps, cells); the median
    over members of the cumulative melt (m of water) at which each column's ice first
    turned permeable (the scheme's M_perm; members that never do count as never); and its
    last state."""
    fractions, albedos, melts, state = [], [], [], start
    onset = np.full(start.ice.shape, np.inf)
    dt = 1.0 / steps_per_day
    for k in range(int(round(days * steps_per_day))):
        state = step_columns(state, resolved, start_day + k * dt, dt, longwave_offset)
        fresh = np.isinf(onset) & (permeability(resolved.salinity, state.interior) > 0.0)
        onset = np.where(fresh, state.melt, onset)
        fractions.append(state.pond_fraction.mean(0))
        albedos.append(state.albedo.mean(0))
        melts.append(state.melt.mean(0))
    return (np.array(fractions), np.array(albedos), np.array(melts),
            float(np.median(onset)), state)


def fit_scheme(targets, start: Columns, start_day, days, longwave_offset, steps_per_day=4,
               guess=(0.5, 0.3, 20.0), melt_scale=1.0):
    """Least-squares fit of (r, delta_p, tau) to an ensemble's cell means (``targets``, the
    first four of :func:`ensemble_targets`: pond fraction, albedo, cumulative melt, M_perm),
    the scheme run from the cells' ``start`` state with the ensemble's M_perm. The residuals:
    pond fraction, albedo and cumulative melt / ``melt_scale`` (m) at every step and cell.
    Returns the scheme and the fit's RMS residuals."""
    target_fraction, target_albedo, target_melt, permeable_melt = targets[:4]

    def residuals(p):
        scheme = LevelIcePonds(*p, permeable_melt)
        fraction, albedo, melt, _ = run_season(start, scheme, start_day, days, longwave_offset,
                                               steps_per_day=steps_per_day)
        return np.concatenate([(fraction - target_fraction).ravel(),
                               (albedo - target_albedo).ravel(),
                               ((melt - target_melt) / melt_scale).ravel()])

    result = least_squares(residuals, guess, bounds=([0.05, 0.02, 0.5], [1.0, 2.0, 500.0]),
                           x_scale=[0.1, 0.1, 10.0], diff_step=1e-3)
    rms = [float(np.sqrt(np.mean(part**2))) for part in np.split(result.fun, 3)]
    return LevelIcePonds(*map(float, result.x), permeable_melt), {
        "rms_pond_fraction": rms[0], "rms_albedo": rms[1], "rms_melt_m": rms[2] * melt_scale,
        "evaluations": int(result.nfev), "residuals": len(result.fun)}

