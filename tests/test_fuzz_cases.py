"""A thousand malformed case files: each one is refused with exit status 2 and one line that
names the file, never a traceback; a sample goes through the real command line with a timeout
so that a hang fails."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np

from qc_sim.cli.main import main

BASE = {
    "run": {"backend": "cpu"},
    "lattice": {"kind": "fcc", "a": 5.26, "species": ["Ar"], "repeats": [3, 3, 3]},
    "potential": {"style": "lj", "epsilon": 0.0104, "sigma": 3.4, "cutoff": 8.5},
    "dynamics": {"ensemble": "nve", "timestep": 0.002, "steps": 10, "temperature": 40.0,
                 "thermo": 5},
    "output": {"checkpoint_every": 0, "keep": 2},
}
POSITIVE = [("lattice", "a"), ("potential", "epsilon"), ("potential", "sigma"),
            ("potential", "cutoff"), ("dynamics", "timestep")]
NON_NEGATIVE = [("dynamics", "steps"), ("dynamics", "thermo"), ("output", "checkpoint_every"),
                ("output", "keep"), ("dynamics", "temperature")]
CHOICE = [("lattice", "kind"), ("potential", "style"), ("dynamics", "ensemble"),
          ("run", "backend")]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(v, "nan" if v != v else repr(v))
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    return str(v)


def to_toml(case) -> str:
    return "".join(f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items())
                   for name, table in case.items())


def malformed(rng) -> tuple[bytes, str | None]:
    """A malformed variant of BASE and the words its one error line must hold: ``[section.key]``
    of the key that was broken, or ``unknown key 'name'`` (None for bytes that are no TOML)."""
    case = copy.deepcopy(BASE)
    key = None
    kind = rng.integers(11)
    sec = list(case)[rng.integers(len(case))]
    if kind == 0:  # unknown key or section
        name = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz_"), 8))
        if rng.random() < 0.5:
            case[name] = {"x": 1}
            key = f"unknown key '{name}'"
        else:
            case[sec][name] = 1
            key = f"[{sec}] unknown key '{name}'"
    elif kind == 1:  # wrong type
        s, k = [(s, k) for s in case for k in case[s]][rng.integers(16)]
        current = case[s][k]
        wrong = [v for v in ("text", 3.5, [1, 2], {"a": 1}, True, 7)
                 if type(v) is not type(current) and not (isinstance(current, float)
                                                          and type(v) is int)
                 and not (isinstance(current, list) and isinstance(v, list))]
        case[s][k] = wrong[rng.integers(len(wrong))]
        key = f"[{s}.{k}]"
    elif kind == 2:  # zero or negative size
        s, k = POSITIVE[rng.integers(len(POSITIVE))]
        case[s][k] = [0.0, -1.0, -1e-300][rng.integers(3)]
        key = f"[{s}.{k}]"
    elif kind == 3:
        s, k = NON_NEGATIVE[rng.integers(len(NON_NEGATIVE))]
        case[s][k] = -int(rng.integers(1, 10**6)) if k != "temperature" else -1.0
        key = f"[{s}.{k}]"
    elif kind == 4:  # huge numbers
        choice = rng.integers(3)
        if choice == 0:
            case["lattice"]["repeats"] = [10**6, 10**6, 10**6]
            key = "[lattice.repeats]"
        elif choice == 1:
            case["dynamics"]["steps"] = 2**70
            key = "[dynamics.steps]"
        else:
            case["lattice"]["a"] = float(rng.choice([np.inf, -np.inf, np.nan]))
            key = "[lattice.a]"
    elif kind == 5:  # non-finite physics
        s, k = POSITIVE[rng.integers(len(POSITIVE))]
        case[s][k] = float(rng.choice([np.inf, np.nan]))
        key = f"[{s}.{k}]"
    elif kind == 6:  # garbage bytes
        return bytes(rng.integers(0, 256, int(rng.integers(1, 400)), dtype=np.uint8)) + b"\xff", None
    elif kind == 7:  # broken syntax
        text = to_toml(case)
        cut = int(rng.integers(1, len(text)))
        return (text[:cut] + rng.choice(["[[[", "= =", "\"unterminated", "[lattice\n", "a = ]"])
                ).encode(), None
    elif kind == 8:  # a choice that is not offered
        s, k = CHOICE[rng.integers(len(CHOICE))]
        case[s][k] = "".join(rng.choice(list("xyzqw"), 5))
        key = f"[{s}.{k}]"
    elif kind == 9:  # wrong list lengths
        if rng.random() < 0.5:
            case["lattice"]["repeats"] = [3] * int(rng.choice([0, 1, 2, 4]))
            key = "[lattice.repeats]"
        else:
            case["lattice"]["orientation"] = [[1, 0, 0], [0, 1, 0]]
            key = "[lattice.orientation]"
    else:  # a missing key that is needed: an eam potential without its file
        case["potential"] = {"style": "eam"}
        case["lattice"]["species"] = ["Cu"]
        key = "[potential.file]"
    return to_toml(case).encode(), key


def refused(path, capsys, key=None):
    """``validate`` and ``run`` of ``path`` end with status 2 and one line naming it (and
    ``key``, naming the key that was broken, where given)."""
    for command in ("validate", "run"):
        status = main([command, str(path)])
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert status == 2, (path.read_bytes()[:300], command, err)
        assert len(lines) == 1 and str(path) in lines[0], (path.read_bytes()[:300], err)
        if key is not None:
            assert key in lines[0], (key, err)


def test_the_fuzz_base_is_a_valid_case(tmp_path, capsys):
    """So each malformed variant fails for what was broken, not for the base."""
    path = tmp_path / "base.toml"
    path.write_text(to_toml(BASE))
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_a_thousand_malformed_cases_end_in_one_line_with_status_2(tmp_path, capsys):
    rng = np.random.default_rng(2026)
    for k in range(1000):
        path = tmp_path / f"case{k}.toml"
        text, key = malformed(rng)
        path.write_bytes(text)
        refused(path, capsys, key)


def test_malformed_cases_through_the_command_line(tmp_path):
    rng = np.random.default_rng(7)
    for k in range(12):
        path = tmp_path / f"case{k}.toml"
        path.write_bytes(malformed(rng)[0])
        out = subprocess.run([sys.executable, "-m", "qc_sim.cli.main", "run", str(path)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


REGION_BASES = [
    {"region": {"physics": "bone", "end_time": 20.0, "dt": 10.0, "thermo": 1},
     "bone": {"law": "komarova", "geometry": "plate", "divisions": [4, 4],
              "size": [10.0, 10.0], "load": 1.0, "density": 0.8, "rho_min": 0.01,
              "rho_max": 1.74, "gamma": 2.0, "C": 100.0}},
    {"region": {"physics": "diffusion", "end_time": 10.0, "dt": 1.0, "thermo": 1},
     "diffusion": {"radius": 5.0, "diffusivity": 0.01, "c0": 0.0, "c_eq": 1.0, "alpha": 0.2,
                   "model": "auto", "tolerance": 1e-3, "cells": 20}},
]
REGION_POSITIVE = {"end_time", "dt", "radius", "diffusivity", "C", "gamma", "density",
                   "rho_max", "tolerance"}
REGION_CHOICE = {"physics", "law", "geometry", "model"}


def malformed_region(rng) -> bytes:
    case = copy.deepcopy(REGION_BASES[rng.integers(len(REGION_BASES))])
    keys = [(s, k) for s in case for k in case[s]]
    kind = rng.integers(7)
    if kind == 0:  # unknown key, or a section of another physics or of atoms
        if rng.random() < 0.5:
            s = list(case)[rng.integers(len(case))]
            case[s]["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz_"), 8))] = 1
        else:
            case[["lattice", "coupling", "bone", "diffusion"][rng.integers(4)]] = {}
            if case.get("bone") == {} and case["region"]["physics"] == "bone":
                del case["bone"]  # [region] without its physics section
    elif kind == 1:  # wrong type
        s, k = keys[rng.integers(len(keys))]
        current = case[s][k]
        wrong = [v for v in ("text", [1, 2], {"a": 1}, True)
                 if type(v) is not type(current)
                 and not (isinstance(current, list) and isinstance(v, list))]
        case[s][k] = wrong[rng.integers(len(wrong))]
    elif kind == 2:  # zero, negative or non-finite where a positive number is needed
        s, k = [(s, k) for s, k in keys if k in REGION_POSITIVE][rng.integers(
            len([1 for _, k in keys if k in REGION_POSITIVE]))]
        case[s][k] = float(rng.choice([0.0, -1.0, np.inf, np.nan]))
    elif kind == 3:  # a choice not offered
        s, k = [(s, k) for s, k in keys if k in REGION_CHOICE][rng.integers(
            len([1 for _, k in keys if k in REGION_CHOICE]))]
        case[s][k] = "".join(rng.choice(list("xyzqw"), 5))
    elif kind == 4:  # reversed or inconsistent ranges
        if "bone" in case:
            case["bone"]["rho_min"], case["bone"]["rho_max"] = 1.74, 0.01
        else:
            case["diffusion"]["c_eq"] = case["diffusion"]["c0"]
    elif kind == 5:  # huge meshes or step counts
        if "bone" in case:
            case["bone"]["divisions"] = [10**6, 10**6]
        else:
            case["region"]["dt"] = 1e-30
    else:  # garbage
        return bytes(rng.integers(0, 256, int(rng.integers(1, 300)), dtype=np.uint8)) + b"\xfe"
    return to_toml(case).encode()


def test_five_hundred_malformed_region_cases_end_in_one_line_with_status_2(tmp_path, capsys):
    rng = np.random.default_rng(11)
    for k in range(500):
        path = tmp_path / f"region{k}.toml"
        path.write_bytes(malformed_region(rng))
        refused(path, capsys)


def test_the_region_fuzz_bases_are_valid_cases(tmp_path, capsys):
    """So the malformed variants fail for what was broken, not for the base."""
    for k, base in enumerate(REGION_BASES):
        path = tmp_path / f"base{k}.toml"
        path.write_text(to_toml(base))
        assert main(["validate", str(path)]) == 0, capsys.readouterr().err
