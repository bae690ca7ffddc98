"""Everything ``qc-sim properties`` computes, stage by stage, and the bridging laws drawn
from it.

Griffith: a crack on plane p advances by cleavage when the energy release rate reaches
``G_c = 2 gamma_s(p)``. Rice (J. Mech. Phys. Solids 40 (1992) 239): a dislocation is emitted
on a slip plane inclined at theta to the crack plane, with the slip direction at phi to the
plane's direction normal to the front, when ``G_e = 8 gamma_us / ((1 + cos theta) sin^2
theta) / cos^2 phi`` (mode I, isotropic estimate). ``G_c / G_e > 1`` means emission comes
first (ductile tendency), ``< 1`` cleavage first (brittle tendency).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


from qc_sim.properties.bulk import bulk_properties
from qc_sim.solvers.protocol import NotConverged
from qc_sim.properties.defects import (stacking_fault_curve, stacking_fault_energies,
                                       surface_energy, vacancy_formation_energy,
                                       vacancy_migration)

# crack plane (Miller), front, slip plane, theta and phi of Rice's geometry
RICE_GEOMETRY = {
    "fcc": ("(001)", "[1-10]", "(111)[11-2]", math.acos(1 / math.sqrt(3)), 0.0),
    "bcc": ("(001)", "[100]", "(011)[1-11]", math.pi / 4, math.acos(2 / math.sqrt(6))),
}

STAGES = ("lattice constant and elastic constants", "surface energies",
          "generalised stacking fault", "vacancy formation", "vacancy migration (CI-NEB)")


@dataclass
class Properties:
    element: str
    lattice: str
    values: dict = field(default_factory=dict)
    gsf: tuple = ()
    neb: object = None
    timings: dict = field(default_factory=dict)

    def bridging(self) -> dict:
        crack, front, slip, theta, phi = RICE_GEOMETRY[self.lattice]
        g_c = 2.0 * self.values["surface_energy_100"] / 1000.0
        g_e = (8.0 * self.values["gamma_us"] / 1000.0
               / ((1.0 + math.cos(theta)) * math.sin(theta) ** 2) / math.cos(phi) ** 2)
        return {"crack_plane": crack, "crack_front": front, "slip_system": slip,
                "theta_deg": math.degrees(theta), "phi_deg": math.degrees(phi),
                "griffith_G_c": g_c, "rice_G_e": g_e, "G_c_over_G_e": g_c / g_e,
                "tendency": "ductile (emission first)" if g_c > g_e else
                            "brittle (cleavage first)"}


def compute_properties(potential, element, kind, device, images=5, max_steps=20_000,
                       interpolation="linear", progress=None) -> Properties:
    """All stages in order; ``progress(stage_index, message)`` is told as each one ends."""
    out = Properties(element, kind)
    v = out.values

    def stage(k, fn):
        start = time.perf_counter()
        result = fn()
        out.timings[STAGES[k]] = time.perf_counter() - start
        if progress is not None:
            progress(k, out.timings[STAGES[k]])
        return result

    bulk = stage(0, lambda: bulk_properties(potential, element, kind, device))
    v.update(lattice_constant=bulk.lattice_constant, cohesive_energy=bulk.cohesive_energy,
             C11=bulk.C11, C12=bulk.C12, C44=bulk.C44)
    a0, ec = bulk.lattice_constant, bulk.cohesive_energy
    surfaces = stage(1, lambda: {p: surface_energy(potential, element, kind, a0, ec, p, device,
                                                        max_steps=max_steps)
                                 for p in ("111", "100", "110")})
    v.update({f"surface_energy_{p}": e for p, e in surfaces.items()})
    out.gsf = stage(2, lambda: stacking_fault_curve(potential, element, a0, device, kind,
                                                    max_steps=max_steps))
    v["gamma_us"], v["gamma_isf"] = stacking_fault_energies(*out.gsf, kind=kind)
    v["vacancy_formation_energy"] = stage(
        3, lambda: vacancy_formation_energy(potential, element, kind, a0, device,
                                            max_steps=max_steps))
    out.neb = stage(4, lambda: vacancy_migration(potential, element, kind, a0, device,
                                                 images=images, max_steps=max_steps,
                                                 interpolation=interpolation))
    if not out.neb.converged:
        raise NotConverged(out.neb)
    v["vacancy_migration_energy"] = out.neb.barrier
    return out


def plot(props: Properties, folder) -> list:
    """PNG figures of the stacking-fault curve and the NEB energy profile in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def figure(x, y, xlabel, ylabel, title, name):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(x, y, "o-")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=120)
        plt.close(fig)
        return folder / name

    unit = "Shockley partial a/√6" if props.lattice == "fcc" else "Burgers vector a√3/2"
    return [
        figure(*props.gsf, f"shift ({unit})", "energy (mJ/m²)",
               f"{props.element} {props.lattice}: generalised stacking fault",
               "stacking_fault.png"),
        figure(props.neb.coordinate, props.neb.energies, "reaction coordinate (Å)",
               "energy (eV)", f"{props.element}: vacancy hop, barrier {props.neb.barrier:.3f} eV",
               "vacancy_neb.png"),
    ]


def as_json(props: Properties) -> dict:
    out = {k: (None if val is None else float(val)) for k, val in props.values.items()}
    out.update(element=props.element, lattice=props.lattice, bridging=props.bridging(),
               neb={"images": len(props.neb.energies) - 2, "converged": props.neb.converged,
                    "steps": props.neb.steps, "force_evaluations": props.neb.force_evaluations,
                    "energies": [float(e) for e in props.neb.energies]},
               stacking_fault={"shifts": [float(s) for s in props.gsf[0]],
                               "energies": [float(e) for e in props.gsf[1]]},
               units={"length": "Å", "energy": "eV", "elastic": "GPa",
                      "surface_and_fault": "mJ/m^2", "release_rate": "J/m^2"})
    return out


def text_report(props: Properties) -> str:
    v, b = props.values, props.bridging()
    isf = "n/a (no stable fault on bcc {110})" if v["gamma_isf"] is None else \
        f"{v['gamma_isf']:.1f} mJ/m^2"
    lines = [
        f"{props.element} ({props.lattice})",
        f"  lattice constant            {v['lattice_constant']:.5f} Å",
        f"  cohesive energy             {v['cohesive_energy']:.4f} eV",
        f"  C11 C12 C44                 {v['C11']:.2f} {v['C12']:.2f} {v['C44']:.2f} GPa",
        f"  surface energy (111)        {v['surface_energy_111']:.1f} mJ/m^2",
        f"  surface energy (100)        {v['surface_energy_100']:.1f} mJ/m^2",
        f"  surface energy (110)        {v['surface_energy_110']:.1f} mJ/m^2",
        f"  unstable stacking fault     {v['gamma_us']:.1f} mJ/m^2",
        f"  intrinsic stacking fault    {isf}",
        f"  vacancy formation           {v['vacancy_formation_energy']:.4f} eV",
        f"  vacancy migration (CI-NEB)  {v['vacancy_migration_energy']:.4f} eV "
        f"({props.neb.steps} steps, {props.neb.force_evaluations} image force calls)",
        f"bridging laws (crack {b['crack_plane']}{b['crack_front']}, slip {b['slip_system']}, "
        f"theta {b['theta_deg']:.2f}°, phi {b['phi_deg']:.2f}°)",
        f"  Griffith cleavage  G_c = 2 gamma_s(100)  {b['griffith_G_c']:.3f} J/m^2",
        f"  Rice emission      G_e                   {b['rice_G_e']:.3f} J/m^2",
        f"  G_c / G_e = {b['G_c_over_G_e']:.2f}: {b['tendency']}",
    ]
    return "\n".join(lines)
