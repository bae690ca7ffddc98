"""The region of a [region] case (docs/design.md section 8), built from its checked specification."""

from __future__ import annotations


def build_region(case, backend=None, comm=None):
    """The region object of ``case`` (a Region: advance, thermo, state fields, exports);
    with ``comm`` (MPI ranks) a microstructure's cell problems are spread over the ranks."""
    if case.region.physics == "bone":
        return _bone(case, backend)
    if case.region.physics == "diffusion":
        return _diffusion(case, comm)
    from qc_sim.cases.plugins import plugin

    return plugin(case.region.physics).build(case.physics_spec, case.path.parent,
                                             backend=backend)


def time_unit(case) -> str:
    """The unit of ``case``'s region time (days for bone, s for diffusion, a plug-in's own)."""
    physics = case.region.physics
    if physics in UNITS:
        return UNITS[physics]
    from qc_sim.cases.plugins import plugin

    return plugin(physics).UNIT


UNITS = {"bone": "days", "diffusion": "s"}


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
    if b.geometry == "file":
        from qc_sim.errors import InputError

        try:
            return bone.mesh_file_region(case.path.parent / b.mesh_file, b.fixed_side,
                                         b.load_side, b.traction, **common)
        except InputError as exc:
            raise InputError(f"{case.path}: [bone.mesh_file] {exc}") from None
    extra = {}
    if b.divisions:
        extra["divisions"] = tuple(b.divisions)
    if b.size:
        extra["size"] = tuple(b.size)
    return bone.bending_block(traction=b.load, **extra, **common)


def _diffusion(case, comm=None):
    from qc_sim.regions.diffusion import Arrhenius, DiffusionRegion

    d = case.diffusion
    arrhenius = d.prefactor > 0
    scale, micro = 1.0, None
    if d.microstructure:
        scale, micro = _microstructure(case, comm)
    law = Arrhenius(d.prefactor * scale, d.activation_energy) if arrhenius \
        else d.diffusivity * scale
    alpha = d.alpha * micro["alpha_scale"] if micro and d.alpha >= 0 else d.alpha
    region = DiffusionRegion(
        d.radius, law, d.c0, d.c_eq, alpha=alpha if alpha >= 0 else None,
        flux=d.flux if d.model == "galvanostatic" else None, model=d.model,
        time_of_interest=d.time_of_interest or case.region.end_time, tolerance=d.tolerance,
        temperature=d.temperature if arrhenius else None, discretisation=d.discretisation,
        n_cells=d.cells, mesh_spacing=d.mesh_spacing or d.radius / 8, mass=d.mass)
    region.microstructure = micro
    return region


def _microstructure(case, comm=None):
    """Micro result in, macro model out: the homogenised microstructure of the particle.
    With porosity eps and the effective tensor K_eff (in units of the pore phase's value),
    eps dc/dt = div(D0 K_eff grad c) and D0 K_eff dc/dn = alpha (c_eq - c) become the
    particle model with D = D0 K_eff / eps and alpha / eps (the storage is the pores').
    The particle model is isotropic, so K_eff must be."""
    import numpy as np

    from qc_sim.errors import InputError
    from qc_sim.regions.homogenization import homogenize_file

    d = case.diffusion
    result = homogenize_file(case.path.parent / d.microstructure, d.phase_values or None,
                             comm=comm)
    where = f"{case.path}: [diffusion.microstructure]"
    if not all(result["percolating"]):
        raise InputError(f"{where} the pores do not percolate along every axis "
                         f"({result['percolating']}): no effective diffusivity")
    K = np.asarray(result["effective_tensor"]) / result["pore_conductivity"]
    eigen = np.linalg.eigvalsh(0.5 * (K + K.T))
    mean = float(eigen.mean())
    spread = float((eigen.max() - eigen.min()) / mean)
    if spread > d.isotropy_tolerance:
        raise InputError(f"{where} the effective tensor is anisotropic (eigenvalues "
                         f"{', '.join(f'{e:.4g}' for e in eigen)}, spread {spread:.3g} > "
                         f"isotropy_tolerance {d.isotropy_tolerance}): the particle model is "
                         "isotropic")
    eps = float(result["porosity"])
    summary = {"porosity": eps, "effective_tensor": K.tolist(), "tortuosity":
               result["tortuosity"], "k_eff": mean, "spread": spread,
               "diffusivity_scale": mean / eps, "alpha_scale": 1.0 / eps}
    return mean / eps, summary
