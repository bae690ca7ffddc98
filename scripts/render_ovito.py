"""Pictures of the coupled showcases drawn by OVITO's Python module (``pip install ovito``, in
the test extra) from the GSD trajectory qc-sim itself writes, with OVITO's Tachyon software
renderer: what an OVITO user sees on opening the file.

    python scripts/render_ovito.py                   # docs/edge_dipole_ovito.png (< 1 min)
    python scripts/render_ovito.py crack             # docs/crack_ovito.png (about 4 min)
    python scripts/render_ovito.py crack --gsd cu_crack.gsd --out crack.png --size 900 720

Each runs a shipped case at the small setting its CLI test pins (tests/test_cli.py) and opens
its ``[output] gsd`` file with ``ovito.io.import_file``: the edge dislocation dipole
(``cases/ar_edge_dipole.toml``, 2D Lennard-Jones argon, bgfc: 60 x 36 cells, glide planes 6
rows apart, 4 a cores, relaxed to the case's 1e-4 eV/Å) and the mode-I crack
(``cases/cu_crack.toml``, Sutton-Chen Cu: 30 x 22 x 3 cells, a 12 Å core, K from 0.55 in
steps of 0.05 MPa m^0.5 until it cleaves; its last frame). The particles are coloured from
the file's own properties, looking down z: the mesh nodes (type ``node``) small and dark,
the atoms by ``blend_weight`` (the core's 1 light blue, fading through the handshake to the
padding's 0, pale) and, among the core and handshake atoms (``zone`` 0 and 1), those with
fewer neighbours than the perfect crystal within 1.2 nearest distances red, more blue
(counted by OVITO's CutoffNeighborFinder over the atoms alone). Prints the frames, the
particle counts and the atoms marked, and the picture's path.

OVITO 3.17 renders through Vulkan even with Tachyon: a machine without a GPU driver needs the
loader and the software driver (Debian/Ubuntu: ``apt install libvulkan1
mesa-vulkan-drivers``); no display is needed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# the showcases: the shipped case, the small setting its test pins, the lattice's nearest
# distance (Å), the neighbour cutoff as a multiple of it, the perfect crystal's neighbours
SHOWCASES = {
    "edge_dipole": {
        "case": "ar_edge_dipole.toml", "gsd": "ar_edge_dipole.gsd", "species": "Ar",
        "small": (("repeats = [120, 70, 1]", "repeats = [60, 36, 1]"),
                  ("dipole_planes = 12 ", "dipole_planes = 6 "),
                  ("core_radius = 8.0 ", "core_radius = 4.0 ")),
        "nearest": 3.784884432091966, "cutoff": 1.2, "perfect": 6, "line": "edge dipole energy"},
    "crack": {
        "case": "cu_crack.toml", "gsd": "cu_crack.gsd", "species": "Cu",
        "small": (("repeats = [70, 50, 3]", "repeats = [30, 22, 3]"),
                  ("core_radius = 7.2 ", "core_radius = 3.33"),
                  ("k_start = 0.40 ", "k_start = 0.55 "), ("k_step = 0.025", "k_step = 0.05")),
        "nearest": 3.61 / 2**0.5, "cutoff": 1.2, "perfect": 12, "line": "verdict"},
}


def run_case(name: str, work: Path) -> Path:
    """The showcase ``name`` run small in ``work``: its GSD file."""
    show = SHOWCASES[name]
    case_file = ROOT / "cases" / show["case"]
    text = case_file.read_text().replace('file = "potentials/',
                                         f'file = "{ROOT / "cases" / "potentials"}/')
    for old, new in show["small"]:
        if old not in text:
            raise SystemExit(f"render_ovito: '{old}' not in {case_file} any more")
        text = text.replace(old, new)
    work.mkdir(parents=True, exist_ok=True)
    case = work / f"{name}.toml"
    case.write_text(text)
    out = subprocess.run([sys.executable, "-m", "qc_sim.cli.main", "run", str(case), "--backend",
                          "cpu"], cwd=work, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"render_ovito: the run failed:\n{out.stdout}\n{out.stderr}")
    line = next(x for x in out.stdout.splitlines() if x.startswith(show["line"]))
    print(f"qc-sim run {case.name}: {line}")
    return work / show["gsd"]


def colouring(show: dict):
    """An OVITO Python modifier: Color and Radius from the file's particle types,
    blend_weight and zone, and the neighbour count of the core and handshake atoms."""

    def colour(frame, data):
        from ovito.data import CutoffNeighborFinder

        p = data.particles_
        types = {t.name: t.id for t in p.particle_types.types}
        atom = np.asarray(p.particle_types[...]) == types[show["species"]]
        beta = np.asarray(p["blend_weight"][...])
        zone = np.asarray(p["zone"][...])
        a = show["nearest"]
        finder = CutoffNeighborFinder(show["cutoff"] * a, data)  # among the atoms alone
        count = np.full(p.count, show["perfect"])
        for i in np.flatnonzero(atom & (zone <= 1)):
            count[i] = sum(1 for nb in finder.find(i) if atom[nb.index])
        light, pale = np.array([0.62, 0.70, 0.80]), np.array([0.93, 0.93, 0.90])
        c = np.where(atom[:, None], beta[:, None] * light + (1 - beta[:, None]) * pale,
                     np.array([0.25, 0.25, 0.28]))
        c[count < show["perfect"]] = [0.85, 0.15, 0.12]
        c[count > show["perfect"]] = [0.10, 0.30, 0.85]
        p.create_property("Color", data=c)
        p.create_property("Radius", data=np.where(atom, 0.42 * a, 0.16 * a))
        data.attributes["marked"] = int((count != show["perfect"]).sum())

    return colour


def render(name: str, gsd: Path, out: Path, size) -> dict:
    """Draw the last frame of ``gsd`` looking down z at the atoms into ``out``."""
    from ovito.io import import_file
    from ovito.vis import TachyonRenderer, Viewport

    pipeline = import_file(str(gsd))
    pipeline.modifiers.append(colouring(SHOWCASES[name]))
    data = pipeline.compute(pipeline.source.num_frames - 1)
    typeid = np.asarray(data.particles.particle_types[...])
    counts = {t.name: int((typeid == t.id).sum()) for t in data.particles.particle_types.types}
    data.cell.vis.enabled = False
    pipeline.add_to_scene()
    # the atoms and the mesh about them: the camera on the atoms' centre, the view 1.5 times
    # their extent (the whole mesh is 4 times wider, its outer elements 16 a across)
    x = np.asarray(data.particles.positions[...])[typeid == 0]
    lo, hi = x.min(axis=0), x.max(axis=0)
    viewport = Viewport(type=Viewport.Type.Top, camera_pos=tuple(0.5 * (lo + hi)),
                        camera_dir=(0, 0, -1))
    viewport.fov = 0.75 * max(hi[1] - lo[1], (hi[0] - lo[0]) * size[1] / size[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    viewport.render_image(size=size, filename=str(out), background=(1.0, 1.0, 1.0),
                          renderer=TachyonRenderer(ambient_occlusion=False, antialiasing=True))
    pipeline.remove_from_scene()
    try:  # a palette of 64 colours: a quarter of the bytes, for the repository's docs/
        from PIL import Image

        Image.open(out).convert("RGB").quantize(64).save(out, optimize=True)
    except ImportError:
        pass
    return {"frames": pipeline.source.num_frames, "particles": counts,
            "marked": int(data.attributes["marked"]),
            "attributes": {k: v for k, v in data.attributes.items() if k in ("K", "G")}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("showcase", nargs="?", choices=sorted(SHOWCASES), default="edge_dipole")
    parser.add_argument("--work", help="folder for the run (default: a temporary one)")
    parser.add_argument("--gsd", help="draw this GSD file of the showcase instead of running it")
    parser.add_argument("--out", help="the picture (default: docs/SHOWCASE_ovito.png)")
    parser.add_argument("--size", type=int, nargs=2, default=(900, 720))
    args = parser.parse_args(argv)
    out = Path(args.out or ROOT / "docs" / f"{args.showcase}_ovito.png")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        gsd = Path(args.gsd) if args.gsd else run_case(args.showcase, Path(args.work or tmp))
        figures = render(args.showcase, gsd, out, tuple(args.size))
    print(f"{gsd.name}: {figures['frames']} frames, the last drawn {figures['attributes']}, "
          f"particles {figures['particles']}; {figures['marked']} core or handshake atoms "
          f"with other than {SHOWCASES[args.showcase]['perfect']} neighbours")
    print(f"{out} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
