"""qc-sim: a GPU-accelerated concurrent atomistic-continuum simulator.

The package is layered; each folder imports only the ones before it in this list (the
order tests/test_packaging.py checks, with no import cycles anywhere): errors, units,
backend, parallel, geometry, neighbor, potentials, solvers, atomistic, continuum (atomistic
and continuum are siblings), coupling, regions, properties, io, cases, simulation, cli; ase
and reference adapt qc-sim to outside tools. docs/design.md has the architecture and the
mathematics.

The names a script needs are here, imported when first used (``import qc_sim`` stays
cheap)::

    import qc_sim
    potential = qc_sim.load_potential("Cu_mishin1.eam.alloy")
    model = qc_sim.vacancy_model(potential, "Cu", cells=24, core_radius=2.0, width=1.5)
    print(qc_sim.patch_test(model)[1])
    result = qc_sim.relax(model)
    print(qc_sim.vacancy_formation_energy(model))

and every run the command line starts is one call on a case file::

    result = qc_sim.run_case("cases/cu_vacancy_coupled.toml")
"""

__version__ = "0.1.0"

# name -> the module that defines it (PEP 562: imported on first use)
_API = {
    # files and cases
    "load_potential": "qc_sim.potentials",
    "load_case": "qc_sim.cases.schema",
    "parse_case": "qc_sim.cases.schema",
    "read_checkpoint": "qc_sim.io.checkpoint",
    "get_device": "qc_sim.backend",
    # building blocks
    "equilibrium_lattice": "qc_sim.properties.bulk",
    "fcc": "qc_sim.geometry",
    "bcc": "qc_sim.geometry",
    "triangular": "qc_sim.geometry",
    "build_geometry": "qc_sim.coupling",
    "CoupledModel": "qc_sim.coupling",
    "vacancy_model": "qc_sim.simulation.vacancy",
    "vacancy_formation_energy": "qc_sim.simulation.vacancy",
    "relax": "qc_sim.coupling.statics",
    "fire": "qc_sim.solvers",
    "lbfgs": "qc_sim.solvers",
    # runs
    "run_case": "qc_sim.simulation.run",
    "restart_case": "qc_sim.simulation.run",
    "run_md": "qc_sim.simulation.atomistic",
    "run_coupled": "qc_sim.simulation.run",
    "coupled_model": "qc_sim.simulation.models",
    "patch_test": "qc_sim.simulation.models",
    "relax_coupled": "qc_sim.simulation.statics",
    "coupled_dynamics": "qc_sim.simulation.coupled_dynamics",
    "run_crack": "qc_sim.simulation.crack",
    "indentation": "qc_sim.simulation.indent",
    "run_wave": "qc_sim.simulation.wave",
    "run_region": "qc_sim.simulation.region",
}

__all__ = ["__version__", *_API]


def __getattr__(name):
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qc_sim' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
