"""The grid cell's pond parameterisation, in the form of the CESM and level-ice pond schemes
of CICE/Icepack (Holland et al. 2012; Hunke, Hebert & Lecomte 2013, Ocean Modelling 71,
26-42; ``icepack_meltpond_cesm.F90`` / ``icepack_meltpond_lvl.F90``), and its fit to an
ensemble of resolved process models (:mod:`melt_ponds_physics`).

The scheme carries one pond volume per cell, fed by the accumulated surface melt:

    dV = r dM_dry + dM_wet - refreezing - drainage,

with r the retained fraction of the unponded surface's meltwater (Icepack eq. ``meltvol``),
dM_wet the melt under the ponds (stays in them), refreezing from the pond surface's energy
balance at 0 degC (negative when the surface freezes), and drainage once the ice is
permeable, which the scheme dates by the accumulated melt: after the cumulative melt passes
``M_perm`` (the resolved model's ice warms to the permeability threshold as the melt
proceeds) V decays on a time ``tau`` towards the volume of ponds at sea level, not below
it (Icepack drains ponds whose weight or the ice's permeability allows, down to sea level).
The pond fraction is the CESM shape a_p = min(sqrt(V / delta_p), 1), depth delta_p a_p
(``pndaspect``); at sea level the ponds cover a_sl = 1 - exp(-max(s - f, 0) / s), the part
of an exponential surface of mean height s (``sea_roughness``) below sea level with the
freeboard f = h_i (1 - rho_i/rho_w) - rho_s h_s / rho_w. The cell albedo is
a_p alpha_pond(h_p) + (1 - a_p) alpha_surface(T_s, h_s), so pond fraction and albedo are
functions of the surface temperature, the accumulated melt and the ice's thickness.
(r, delta_p, tau, s) are fitted by least squares (scipy) to the pond fraction, albedo and
melt of the ensemble it replaces; M_perm is read off the ensemble.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from qc_sim.regions.melt_ponds_physics import (
    Columns, freeboard, permeability, step_columns, visible_area)


@dataclass(frozen=True)
class LevelIcePonds:
    """The fitted scheme: ``retained`` r (-), ``aspect`` delta_p (m), ``drainage_days`` tau
    (days), ``sea_roughness`` s (m), ``permeable_melt`` M_perm (m of water)."""

    retained: float
    aspect: float
    drainage_days: float
    sea_roughness: float
    permeable_melt: float

    def area(self, volume):
        return np.minimum(np.sqrt(np.maximum(volume, 0.0) / self.aspect), 1.0)

    def visible(self, state: Columns):
        return visible_area(state, self.area(state.pond_volume))

    def interior(self, t_int, t_surface, ice, dt):
        return t_int

    def drain(self, state: Columns, dt):
        decay = np.exp(-dt / (self.drainage_days * 86400.0))
        s = self.sea_roughness
        area_at_sea_level = -np.expm1(-np.maximum(s - freeboard(state.ice, state.snow), 0.0) / s)
        floor = np.minimum(self.aspect * area_at_sea_level**2, state.pond_volume)
        drained = np.maximum(state.pond_volume * decay, floor)
        return np.where(state.melt > self.permeable_melt, drained, state.pond_volume)


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
               guess=(0.5, 0.3, 20.0, 0.2), weights=(0.3, 1.0, 1.0)):
    """Least-squares fit of (r, delta_p, tau, s) from ``guess`` to an ensemble's cell means
    (``targets``, the
    first four of :func:`ensemble_targets`: pond fraction, albedo, cumulative melt, M_perm),
    the scheme run from the cells' ``start`` state with the ensemble's M_perm. The residuals:
    pond fraction, albedo and cumulative melt (m) at every step and cell, times ``weights``
    (the pond fraction's less: albedo and melt are what the grid's energy balance uses).
    Returns the scheme and the fit's RMS residuals (unweighted)."""
    target_fraction, target_albedo, target_melt, permeable_melt = targets[:4]

    def residuals(p):
        scheme = LevelIcePonds(*p, permeable_melt=permeable_melt)
        fraction, albedo, melt, _ = run_season(start, scheme, start_day, days, longwave_offset,
                                               steps_per_day=steps_per_day)
        return np.concatenate([weights[0] * (fraction - target_fraction).ravel(),
                               weights[1] * (albedo - target_albedo).ravel(),
                               weights[2] * (melt - target_melt).ravel()])

    result = least_squares(residuals, guess, bounds=([0.05, 0.02, 0.5, 0.02],
                                                     [1.0, 2.0, 500.0, 2.0]),
                           x_scale=[0.1, 0.1, 10.0, 0.1], diff_step=1e-3)
    rms = [float(np.sqrt(np.mean(part**2))) / w
           for part, w in zip(np.split(result.fun, 3), weights)]
    return LevelIcePonds(*map(float, result.x), permeable_melt=permeable_melt), {
        "rms_pond_fraction": rms[0], "rms_albedo": rms[1], "rms_melt_m": rms[2],
        "evaluations": int(result.nfev), "residuals": len(result.fun)}

