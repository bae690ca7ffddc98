"""Region physics that plug into case files without the schema, the checks or the run loop
knowing them by name.

A plug-in is a module under :mod:`qc_sim.regions` that offers

- ``Spec``: a frozen dataclass, the keys of its case section with their defaults (bool,
  int, float, str or a tuple of one of these, as every other section);
- ``KEY_DOCS``: key -> meaning (the case-key tables of ``docs/`` are made from it);
- ``CHOICES``: key -> allowed values, for the keys that take one of a list;
- ``UNIT``: the unit of the region's time (``region.end_time`` and ``region.dt``);
- ``check(spec, case_dir)``: the problems of a parsed section as a list of
  ``(key, message)``, empty when the section is good (the first becomes the one-line error
  ``CASE: [section.key] message``, exit status 2);
- ``build(spec, case_dir, backend=None)``: the region object, a
  :class:`qc_sim.regions.base.Region`; a region that has a picture to show offers
  ``picture(folder)``, which the run calls at its end when ``[output] png`` names a folder.

A case uses one with ``[region] physics = "NAME"`` and a section ``[NAME]``. Bone and
diffusion, which came before this registry, are wired in the schema directly.
"""

from __future__ import annotations

import importlib

PLUGINS = {
    "tendon": "qc_sim.regions.tendon",
    "cardiac": "qc_sim.regions.cardiac",
    "qsp": "qc_sim.regions.qsp",
    "melt_ponds": "qc_sim.regions.melt_ponds",
}


def plugin(name: str):
    """The module of region physics ``name`` (imported on first use)."""
    return importlib.import_module(PLUGINS[name])


def available() -> dict:
    """name -> module of every plug-in whose module exists (a plug-in not yet written is
    left out rather than breaking the schema)."""
    found = {}
    for name in PLUGINS:
        try:
            found[name] = plugin(name)
        except ModuleNotFoundError as exc:
            if exc.name != PLUGINS[name]:
                raise
    return found
