"""The process model of melt ponds on level sea ice: one column (a patch of level ice with its
pond network) per array element, vectorised over any array shape (members x cells).

Per column the state is ice thickness ``h_i`` (m), snow depth ``h_s`` (m), pond water volume
per unit area ``v_p`` (m), upper-ice temperature (degC) and the cumulative surface melt
(m of water). One explicit step of ``dt_days``:

1. forcing: the monthly climatology of Fletcher (1965) as tabulated by Semtner (1976,
   table 1), linear in time between mid-months, at the step's midpoint;
2. surface energy balance of the unponded surface (snow or bare ice) for its temperature,
   with conduction through snow and ice (zero-layer, Semtner 1976), melting at 0 degC;
   the pond surface is held at 0 degC and its surplus melts the ice under it (enhanced
   melt below ponds, Taylor & Feltham 2004), its deficit refreezes pond water;
3. pond geometry from the volume by the column's hypsometry: surface heights above the
   lowest point exponentially distributed with mean ``roughness`` (m), so a water level w
   covers ``a_p = 1 - exp(-w/sigma)`` and holds ``v_p = w - sigma a_p``;
4. meltwater: a fraction ``retained`` of the surface melt of the unponded area runs into
   the ponds (the rest runs off: Icepack's r = r_min + (r_max - r_min) a_i), melt under
   ponds stays in them; the snow's pores fill first (Icepack level-ice infiltration);
5. drainage through permeable ice by Darcy's law (Icepack ``compute_ponds_lvl``): the
   liquid fraction phi = S / S_br(T) with S_br = 1 / (1e-3 - 0.054 / T) (Notz 2005), the
   ice permeable where phi >= 0.05 with permeability 3e-8 phi^3 m^2 (Golden et al. 2007),
   the head the pond level above sea level (hydrostatic freeboard), down to sea level;
6. the upper ice's temperature relaxes to the linear profile's a quarter down on the
   slab's diffusion time h^2 rho_i c / (pi^2 k_i), with the brine heat capacity
   c = c_i + L mu S / T^2 (Ono 1967, as in Bitz & Lipscomb 1999), so ice warms slowly to
   permeability after the melt begins; the base melts by the ocean heat flux less
   conduction.

Albedos (broadband): dry snow 0.85, melting snow 0.72 (Perovich et al. 2002, SHEBA, as
compiled in NEMO-SI3 ``icealb.F90``); bare ice 0.60 and ponds 0.26, the SHEBA July 1998
surface-type albedos of Tschudi, Curry & Maslanik (2001, JGR 106(D14), by regressing the
aircraft albedo on the imaged pond, ice and open-water fractions; 0.60 is also NEMO-SI3's
default bare-ice albedo with explicit ponds, inside its compiled range 0.54-0.65, and 0.26
inside its ponded-ice range 0.10-0.30); snow-depth dependence exp(-h_s/0.02 m) dry,
exp(-h_s/0.03 m) melting (Grenfell & Perovich 2004); pond albedo
0.26 - (0.26 - 0.60) exp(-h_p/0.05 m) (the depth law of Lecomte et al. 2015).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

SECONDS_PER_DAY = 86400.0
KELVIN = 273.15
STEFAN_BOLTZMANN = 5.670374419e-8  # W m^-2 K^-4
EMISSIVITY = 0.985  # snow and ice (Icepack icepack_parameters)
RHO_ICE, RHO_SNOW = 917.0, 330.0  # kg m^-3 (Icepack rhoi, rhos)
RHO_SEAWATER, RHO_FRESH = 1026.0, 1000.0  # kg m^-3 (Icepack rhow, rhofresh)
LATENT_FUSION = 3.34e5  # J kg^-1 (Icepack Lfresh)
K_ICE, K_SNOW = 2.03, 0.30  # W m^-1 K^-1 (Icepack kice, ksno)
C_ICE = 2106.0  # J kg^-1 K^-1, fresh ice (Icepack cp_ice)
MU_LIQUIDUS = 0.054  # K per ppt, T_melt = -mu S (Icepack depressT)
T_FREEZE_OCEAN = -1.8  # degC (Icepack tfrz_option 'minus1p8')
VISCOSITY = 1.79e-3  # kg m^-1 s^-1, brine (Icepack viscosity_dyn)
GRAVITY = 9.80616  # m s^-2 (Icepack gravit)
PERMEABLE_LIQUID_FRACTION = 0.05  # Golden et al. (1998, 2007): the rule of fives

# Fletcher (1965) via Semtner (1976) table 1, kcal cm^-2 per 30-day month, positive towards
# the surface: shortwave down, longwave down, sensible, latent; Jan..Dec
FLETCHER_KCAL_CM2 = np.array([
    [0.0, 0.0, 1.9, 9.9, 17.7, 19.2, 13.6, 9.0, 3.7, 0.4, 0.0, 0.0],
    [10.4, 10.3, 10.3, 11.6, 15.1, 18.0, 19.1, 18.7, 16.5, 13.9, 11.2, 10.9],
    [1.18, 0.76, 0.72, 0.29, -0.45, -0.39, -0.30, -0.40, -0.17, 0.1, 0.56, 0.79],
    [0.0, -0.02, -0.03, -0.09, -0.46, -0.70, -0.64, -0.66, -0.39, -0.19, -0.01, -0.01],
])
KCAL_CM2_MONTH_TO_W_M2 = 1e4 * 4184.0 / (30 * SECONDS_PER_DAY)

# dry and melting snow: Perovich et al. (2002), SHEBA, as compiled in NEMO-SI3 icealb.F90;
# bare ice and deep ponds: Tschudi, Curry & Maslanik (2001), SHEBA July 1998 (0.60, 0.26);
# the pond albedo's depth scale: Lecomte et al. (2015), as in icealb.F90
ALBEDO_DRY_SNOW, ALBEDO_MELTING_SNOW, ALBEDO_BARE_ICE = 0.85, 0.72, 0.60
ALBEDO_DEEP_POND, POND_ALBEDO_DEPTH = 0.26, 0.05  # -, m


@dataclass(frozen=True)
class Forcing:
    """Surface fluxes (W m^-2, towards the surface) on day ``day`` of a 360-day year."""

    shortwave: np.ndarray
    longwave: np.ndarray
    turbulent: np.ndarray  # sensible + latent


def climatology(day, longwave_offset=0.0) -> Forcing:
    """Fletcher's monthly fluxes linear between mid-months (day 15, 45, ...), periodic;
    ``longwave_offset`` (W m^-2, any shape) adds to the downwelling longwave (a warmer,
    cloudier cell)."""
    mid = 15.0 + 30.0 * np.arange(12)
    sw, lw, sens, lat = (np.interp(day, mid, row * KCAL_CM2_MONTH_TO_W_M2, period=360.0)
                         for row in FLETCHER_KCAL_CM2)
    return Forcing(np.float64(sw), lw + np.asarray(longwave_offset, float),
                   np.float64(sens + lat))


def snow_albedo(snow_depth, melting):
    """Albedo of snow of depth ``snow_depth`` (m) on bare ice (Grenfell & Perovich 2004)."""
    top = np.where(melting, ALBEDO_MELTING_SNOW, ALBEDO_DRY_SNOW)
    scale = np.where(melting, 0.03, 0.02)
    return top - (top - ALBEDO_BARE_ICE) * np.exp(-snow_depth / scale)


def pond_albedo(pond_depth):
    """Albedo of ponded ice under ``pond_depth`` (m) of water (Lecomte et al. 2015)."""
    return ALBEDO_DEEP_POND - (ALBEDO_DEEP_POND - ALBEDO_BARE_ICE) * np.exp(
        -pond_depth / POND_ALBEDO_DEPTH)


def conductance(ice_thickness, snow_depth):
    """Thermal conductance of snow over ice in series, W m^-2 K^-1."""
    return 1.0 / (np.maximum(ice_thickness, 0.05) / K_ICE + snow_depth / K_SNOW)


def surface_balance(albedo, forcing: Forcing, conduct, iterations=8):
    """Surface temperature (degC, at most 0) and melt flux (W m^-2, >= 0) of a zero-heat-
    capacity surface: (1 - albedo) SW + eps LW + turbulent - eps sigma T^4 + G (T_f - T) = 0
    solved by Newton's method from 0 degC (the balance is concave, so the iterates from
    the melting point decrease monotonically to the root)."""
    absorbed = (1.0 - albedo) * forcing.shortwave + EMISSIVITY * forcing.longwave \
        + forcing.turbulent + conduct * T_FREEZE_OCEAN

    def balance(t):
        return absorbed - EMISSIVITY * STEFAN_BOLTZMANN * (t + KELVIN) ** 4 - conduct * t

    at_melt = balance(0.0)
    t = np.zeros_like(at_melt)
    for _ in range(iterations):
        slope = -4.0 * EMISSIVITY * STEFAN_BOLTZMANN * (t + KELVIN) ** 3 - conduct
        t = np.minimum(t - balance(t) / slope, 0.0)
    return t, np.maximum(at_melt, 0.0)


def exponential_pond_area(volume, roughness):
    """Pond fraction and water level above the lowest point (m) of ``volume`` (m) on a
    surface whose heights are exponential with mean ``roughness`` (m): v = w - s (1 - e^(-w/s)),
    inverted by Newton's method from w = sqrt(2 s v) + v, which lies right of the root (the
    map is convex and increasing, so the iterates decrease monotonically to it)."""
    s = roughness
    w = np.sqrt(2.0 * s * volume) + volume
    for _ in range(8):
        area = -np.expm1(-w / s)
        w = np.maximum(w - (w - s * area - volume) / np.maximum(area, 1e-300), 0.0)
    return -np.expm1(-w / s), w


def liquid_fraction(salinity, temperature):
    """Brine volume fraction of ice of bulk salinity (ppt) at temperature (degC, < 0):
    S / S_br with S_br = 1 / (1e-3 - mu / T) (Notz 2005, eq. 3.6, as in Icepack)."""
    t = np.minimum(temperature, -1e-3)
    return salinity * (1e-3 - MU_LIQUIDUS / t)


def permeability(salinity, temperature):
    """Vertical permeability (m^2): 3e-8 phi^3 where phi >= 0.05, else 0 (Golden et al.
    2007, as in Icepack ``brine_permeability``)."""
    phi = liquid_fraction(salinity, temperature)
    return np.where(phi >= PERMEABLE_LIQUID_FRACTION, 3e-8 * phi**3, 0.0)


def interior_relaxation(t_int, target, ice_thickness, salinity, dt):
    """Interior temperature after ``dt`` (s) relaxing to ``target`` on the first-mode
    diffusion time h^2 rho_i c / (pi^2 k_i), c with the brine latent heat (Ono 1967)."""
    heat_capacity = C_ICE + LATENT_FUSION * MU_LIQUIDUS * salinity / np.minimum(t_int, -0.05)**2
    tau = ice_thickness**2 * RHO_ICE * heat_capacity / (np.pi**2 * K_ICE)
    return target + (t_int - target) * np.exp(-dt / tau)


@dataclass(frozen=True)
class Columns:
    """State of an array of columns (each field the same shape): ice thickness, snow depth,
    pond volume per unit area (m), interior temperature (degC), cumulative surface melt
    (m of water), last surface temperature (degC) and albedo."""

    ice: np.ndarray
    snow: np.ndarray
    pond_volume: np.ndarray
    interior: np.ndarray
    melt: np.ndarray
    surface_temperature: np.ndarray
    albedo: np.ndarray
    pond_fraction: np.ndarray

    @classmethod
    def start(cls, ice, snow, interior=-8.0):
        ice, snow = np.asarray(ice, float), np.broadcast_to(np.asarray(snow, float),
                                                             np.shape(ice)).copy()
        zero = np.zeros_like(ice)
        return cls(ice.copy(), snow, zero.copy(), np.full_like(ice, interior), zero.copy(),
                   np.full_like(ice, -10.0), snow_albedo(snow, False), zero.copy())


@dataclass(frozen=True)
class ResolvedPonds:
    """The process model's ponds: what varies between columns (arrays of the columns'
    shape): surface roughness (m, mean height above the lowest point), bulk salinity of the
    upper ice (ppt; its low-salinity layers are the least permeable, as the minimum over
    layers in Icepack) and the retained fraction of the unponded surface's meltwater."""

    roughness: np.ndarray
    salinity: np.ndarray
    retained: np.ndarray

    def visible(self, state: Columns):
        """Pond fraction and mean depth (m) the radiation sees: water first fills the snow's
        pores, (1 - rho_s / rho_f) h_s per unit pond area (Icepack level-ice infiltration)."""
        area, _ = exponential_pond_area(state.pond_volume, self.roughness)
        return visible_area(state, area)

    def interior(self, t_int, t_surface, ice, dt):
        """The upper ice (its desalinated layers limit the drainage) relaxes to the linear
        profile's temperature a quarter of the way down."""
        return interior_relaxation(t_int, 0.75 * t_surface + 0.25 * T_FREEZE_OCEAN, ice,
                                   self.salinity, dt)

    def drain(self, state: Columns, dt):
        return drain(state.pond_volume, state.ice, state.snow, state.interior, self, dt)


def visible_area(state, area):
    """The pond fraction and mean depth (m) seen of ponds covering ``area`` once the water
    has filled the snow's pores."""
    pores = (1.0 - RHO_SNOW / RHO_FRESH) * state.snow
    free = np.maximum(state.pond_volume - pores * area, 0.0)
    seen = np.where(free > 0.0, area, 0.0)
    return seen, np.where(seen > 0.0, free / np.maximum(seen, 1e-12), 0.0)


def step_columns(state: Columns, ponds, day, dt_days, longwave_offset=0.0, feedback=True):
    """One step of ``dt_days`` (days) of every column from day ``day`` of the year, its
    ponds' geometry and drainage from ``ponds`` (:class:`ResolvedPonds`, or the fitted
    scheme of :mod:`melt_ponds_scheme`). ``feedback=False``: the radiation sees the
    unponded surface's albedo over the ponds too (ponds form but do not darken)."""
    dt = dt_days * SECONDS_PER_DAY
    forcing = climatology(day + 0.5 * dt_days, longwave_offset)
    area, depth = ponds.visible(state)
    dry_albedo = _dry_albedo(state.snow, state.surface_temperature >= 0.0)
    wet_albedo = pond_albedo(depth) if feedback else dry_albedo
    conduct = conductance(state.ice, state.snow)
    t_surface, melt_flux = surface_balance(dry_albedo, forcing, conduct)
    pond_flux = _balance_at_melt(wet_albedo, forcing, conductance(state.ice, 0.0))
    energy = (1.0 - area) * melt_flux * dt  # J m^-2 into melt of the dry surface
    snow_melt = np.minimum(energy / (RHO_SNOW * LATENT_FUSION), state.snow)
    ice_melt_dry = (energy - snow_melt * RHO_SNOW * LATENT_FUSION) / (RHO_ICE * LATENT_FUSION)
    ice_melt_wet = area * np.maximum(pond_flux, 0.0) * dt / (RHO_ICE * LATENT_FUSION)
    refrozen = np.minimum(area * np.maximum(-pond_flux, 0.0) * dt / (RHO_FRESH * LATENT_FUSION),
                          state.pond_volume)
    water_dry = (snow_melt * RHO_SNOW + ice_melt_dry * RHO_ICE) / RHO_FRESH
    water_wet = ice_melt_wet * RHO_ICE / RHO_FRESH
    volume = state.pond_volume + ponds.retained * water_dry + water_wet - refrozen
    # base: ocean heat flux (Maykut & Untersteiner 1971: 2 W m^-2) less conduction upward
    t_mean_surface = (1.0 - area) * t_surface
    base_melt = (2.0 - conduct * (T_FREEZE_OCEAN - t_mean_surface)) * dt / (RHO_ICE * LATENT_FUSION)
    ice = np.maximum(state.ice - ice_melt_dry - ice_melt_wet - base_melt
                     + refrozen * RHO_FRESH / RHO_ICE, 0.05)
    new = replace(state, ice=ice, snow=state.snow - snow_melt, pond_volume=volume,
                  interior=ponds.interior(state.interior, t_mean_surface, ice, dt),
                  melt=state.melt + water_dry + water_wet, surface_temperature=t_surface)
    new = replace(new, pond_volume=ponds.drain(new, dt))
    area, depth = ponds.visible(new)
    dry = _dry_albedo(new.snow, t_surface >= 0.0)
    wet = pond_albedo(depth) if feedback else dry
    return replace(new, albedo=area * wet + (1.0 - area) * dry, pond_fraction=area)


def _dry_albedo(snow, melting):
    return np.where(snow > 0.0, snow_albedo(snow, melting), ALBEDO_BARE_ICE)


def _balance_at_melt(albedo, forcing, conduct):
    """Net flux (W m^-2) into a surface held at 0 degC (positive melts, negative freezes)."""
    return ((1.0 - albedo) * forcing.shortwave + EMISSIVITY * forcing.longwave
            + forcing.turbulent + conduct * T_FREEZE_OCEAN
            - EMISSIVITY * STEFAN_BOLTZMANN * KELVIN**4)


def drain(volume, ice, snow, interior, patches: ResolvedPonds, dt):
    """Pond volume after Darcy drainage through the permeable ice for ``dt`` (s), not below
    the volume whose level is at sea level. Sea level lies the freeboard
    h_i (1 - rho_i/rho_sw) - rho_s h_s / rho_sw below the mean surface, which
    is ``roughness`` above the lowest point. Pond water below sea level is in pressure balance
    with the ocean through the permeable ice, so only ice and snow set the freeboard (as in
    Icepack's own freeboard calculation, which leaves the ponds out)."""
    s = patches.roughness
    area, level = exponential_pond_area(volume, s)
    above_sea = freeboard(ice, snow)
    head = level - s + above_sea  # m above sea level
    sea_level = np.maximum(s - above_sea, 0.0)
    at_sea_level = sea_level - s * (1.0 - np.exp(-sea_level / s))
    darcy = permeability(patches.salinity, interior) * RHO_SEAWATER * GRAVITY \
        * np.maximum(head, 0.0) / (VISCOSITY * ice)
    drained = volume - area * darcy * dt
    return np.where(head > 0.0, np.maximum(drained, np.minimum(at_sea_level, volume)), volume)


def freeboard(ice, snow):
    """Height (m) of the mean ice surface above sea level, from ice and snow alone:
    h_i (1 - rho_i / rho_w) - rho_s h_s / rho_w (Archimedes)."""
    return ice * (1.0 - RHO_ICE / RHO_SEAWATER) - RHO_SNOW * snow / RHO_SEAWATER
