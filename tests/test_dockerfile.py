"""The Dockerfile, checked without a Docker engine (none runs in CI): an official NVIDIA CUDA
runtime base, the package installed with its GPU and MPI extras, and ``qc-sim info`` as the
default command."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_base_image_is_an_official_nvidia_cuda_runtime():
    froms = [args for op, args in instructions() if op == "FROM"]
    assert len(froms) == 1
    image, _, tag = froms[0].partition(":")
    assert image == "nvidia/cuda"
    # runtime (not base) carries NVRTC, which CuPy needs to compile kernels/*.cu
    assert re.fullmatch(r"12\.\d+\.\d+-(cudnn-)?runtime-ubuntu\d\d\.\d\d", tag), tag
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any("cuda12" in dep for dep in extras["gpu-cuda12"])  # CuPy for CUDA 12, as the base


def test_installs_the_package_with_gpu_and_mpi_extras_and_a_compiler():
    runs = " ".join(args for op, args in instructions() if op == "RUN")
    assert re.search(r"apt-get install .*\bg\+\+", runs)  # the CPU backend compiles kernels
    installs = [shlex.split(args) for op, args in instructions() if op == "RUN" and
                "pip install" in args]
    targets = [w for cmd in installs for w in cmd if w.startswith(".[") or w.startswith("./[")]
    assert targets, "the Dockerfile does not pip install the package itself"
    extras = set(targets[0].split("[", 1)[1].rstrip("]").split(","))
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert {"gpu-cuda12", "mpi"} <= extras <= set(declared)
    copies = [args for op, args in instructions() if op == "COPY"]
    assert copies == [". ."]


def test_entry_point_is_qc_sim_and_default_command_is_info():
    ops = dict((op, args) for op, args in instructions())
    assert json.loads(ops["ENTRYPOINT"]) == ["qc-sim"]
    assert json.loads(ops["CMD"]) == ["info"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["qc-sim"] == "qc_sim.cli.main:main"
