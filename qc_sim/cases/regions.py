"""The region of a [region] case (DESIGN section 7), built from its checked specification."""

from __future__ import annotations


def build_region(case, backend=None):
    """The region object of ``case`` (a Region: advance, thermo, state fields, exports)."""
    if case.region.physics == "bone":
        return _bone(case, backend)
    if case.region.physics == "diffusion":
        return _diffusion(case)
    raise AssertionError(case.region.physics)  # the schema allows no other


def _bone(case, backend):
    from qc_sim.regions import bone
    from qc_sim.regions.komarova import KomarovaParameters
    from qc_sim.regions.mechanostat import DensityElasticity, StimulusLaw

    b = case.bone
    if b.geometry == "point":
        x1, x2 = KomarovaParameters().steady_state()
        return bone.BoneRegion(None, initial_cells=(x1 + b.perturbation, x2, b.bone_mass),
                               z_ref=b.bone_mass, backend=backend)
    common = dict(law=b.law, bias_amplitude=b.bias_amplitude, bias_width=b.bias_width,
                  elasticity=DensityElasticity(b.C, b.gamma, b.poisson, b.rho_min, b.rho_max,
                                               b.plane),
                  stimulus_law=StimulusLaw(b.rate, b.reference), rho_ref=b.density,
                  z_ref=b.bone_mass, remedy=b.remedy, backend=backend)
    if b.law == "stimulus":
        common["density"] = b.density
    if b.geometry == "bar":
        dim = len(b.divisions or b.size or (0, 0))
        return bone.uniaxial_bar(b.load, dim=dim, size=b.size or None,
                                 divisions=b.divisions or None, **common)
    if b.geometry == "plate":
        extra = {}
        if b.divisions:
            extra["divisions"] = b.divisions[0]
        if b.size:
            extra["size"] = b.size[0]
        return bone.weinans_plate(pressure=b.load, **extra, **common)
    extra = {}
    if b.divisions:
        extra["divisions"] = tuple(b.divisions)
    if b.size:
        extra["size"] = tuple(b.size)
    return bone.bending_block(traction=b.load, **extra, **common)


def _diffusion(case):
    from qc_sim.regions.diffusion import Arrhenius, DiffusionRegion

    d = case.diffusion
    arrhenius = d.prefactor > 0
    law = Arrhenius(d.prefactor, d.activation_energy) if arrhenius else d.diffusivity
    return DiffusionRegion(
        d.radius, law, d.c0, d.c_eq, alpha=d.alpha if d.alpha >= 0 else None,
        flux=d.flux if d.model == "galvanostatic" else None, model=d.model,
        time_of_interest=d.time_of_interest or case.region.end_time, tolerance=d.tolerance,
        temperature=d.temperature if arrhenius else None, discretisation=d.discretisation,
        n_cells=d.cells, mesh_spacing=d.mesh_spacing or d.radius / 8, mass=d.mass)
