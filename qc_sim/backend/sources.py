"""Finding kernel sources and reading their signatures.

Kernel files are plain C/CUDA source in the top-level ``kernels/`` folder (shipped inside
the installed package as ``qc_sim._kernels``). Each kernel is declared
``QC_KERNEL void name(int n, ...)``; this module parses those declarations so that the CPU
loader can set ctypes argument types and the GPU loader can size the launch grid.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import re
from dataclasses import dataclass
from pathlib import Path

HEADER = "qc_kernel.h"

_DECL = re.compile(r"QC_KERNEL\s+void\s+(\w+)\s*\(([^)]*)\)", re.S)
_SCALARS = {"int": "int", "double": "double", "long long": "int64", "unsigned long long": "uint64"}


@dataclass(frozen=True)
class Arg:
    """One kernel argument: ``kind`` is int, double, int64 or uint64; ``pointer`` if an array."""

    name: str
    kind: str
    pointer: bool


@dataclass(frozen=True)
class KernelSignature:
    name: str
    args: tuple[Arg, ...]


def kernel_dir() -> Path:
    """The folder holding the kernel sources (``QC_SIM_KERNELS`` overrides it)."""
    env = os.environ.get("QC_SIM_KERNELS")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "kernels"
    if (checkout / HEADER).is_file():
        return checkout
    return Path(str(importlib.resources.files("qc_sim._kernels")))


def read_source(name: str) -> str:
    """Text of ``kernels/<name>.cu``."""
    path = kernel_dir() / f"{name}.cu"
    if not path.is_file():
        raise FileNotFoundError(f"no kernel source {path}")
    return path.read_text()


def source_hash(name: str, extra: str = "") -> str:
    """Hash of a kernel file, every header in the kernel folder and ``extra`` (compiler and
    flags): the cache key."""
    h = hashlib.sha256()
    h.update(read_source(name).encode())
    for header in sorted(kernel_dir().glob("*.h")):
        h.update(header.name.encode())
        h.update(header.read_bytes())
    h.update(extra.encode())
    return h.hexdigest()[:20]


def _parse_arg(text: str) -> Arg:
    text = " ".join(text.replace("QC_RESTRICT", " ").replace("__restrict__", " ").split())
    pointer = "*" in text
    text = text.replace("*", " ")
    words = [w for w in text.split() if w != "const"]
    name = words[-1]
    base = " ".join(words[:-1])
    if base not in _SCALARS:
        raise ValueError(f"kernel argument type {base!r} is not one of {sorted(_SCALARS)}")
    return Arg(name, _SCALARS[base], pointer)


def signatures(source: str) -> dict[str, KernelSignature]:
    """All ``QC_KERNEL`` declarations in a kernel source, by name."""
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    source = re.sub(r"//[^\n]*", " ", source)
    out = {}
    for match in _DECL.finditer(source):
        args = tuple(_parse_arg(a) for a in match.group(2).split(",") if a.strip())
        if not args or args[0].kind != "int" or args[0].pointer:
            raise ValueError(f"kernel {match.group(1)} must take `int n` first")
        out[match.group(1)] = KernelSignature(match.group(1), args)
    return out
