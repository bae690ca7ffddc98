"""The README stays true to the code: its case-key tables are the schema's, every
subcommand has an example, and the tools it names for each trajectory are those the tests
open it with."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from qc_sim.cases.schema import KEY_DOCS, SECTIONS

ROOT = Path(__file__).resolve().parents[1]


def test_every_case_key_is_documented_and_nothing_else():
    keys = {f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in fields(cls)}
    assert keys == set(KEY_DOCS)


def test_the_case_key_tables_are_generated_from_the_schema():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "case_keys.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, "docs/cases.md's key tables are stale: run scripts/case_keys.py"
    readme = (ROOT / "docs" / "cases.md").read_text()
    for key in KEY_DOCS:
        section, name = key.split(".")
        block = readme.split(f"**[{section}]**", 1)[1].split("**[", 1)[0]
        assert f"| `{name}` |" in block, key


def test_every_subcommand_has_an_example_in_the_readme():
    from qc_sim.cli.main import _parser

    parser = _parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    readme = (ROOT / "README.md").read_text()
    commands = readme.split("## Commands", 1)[1]
    for name in sub.choices:
        assert f"qc-sim {name} " in commands or f"qc-sim {name}\n" in commands, name


# the tools each particle trajectory is opened with in the tests, as its users open it
# (tests/test_output.py; the gsd package in tests/test_restart.py, h5py throughout)
OPENED = {"trajectory": {"MDAnalysis", "h5py"}, "gsd": {"OVITO", "gsd package"},
          "xyz": {"OVITO", "ASE"}}
TOOLS = ("OVITO", "MDAnalysis", "ASE", "meshio", "ParaView", "h5py", "gsd package", "VMD")


def _tools(text: str) -> set:
    return {tool for tool in TOOLS if tool in text}


def test_the_tools_the_docs_name_for_each_trajectory_are_those_the_tests_open_it_with():
    """The key docs, the README's trajectory table and the writers' docstrings name, for each
    trajectory file, only tools the tests open it with; the tests do open it so."""
    import qc_sim.io.gsd
    import qc_sim.io.h5md
    import qc_sim.io.xyz

    readme = (ROOT / "docs" / "running.md").read_text()
    table = readme.split("## Trajectories and the tools that open them", 1)[1]
    for key, tools in OPENED.items():
        assert _tools(KEY_DOCS[f"output.{key}"]) <= tools, key
        row = next(line for line in table.splitlines() if line.startswith(f"| `{key}` |"))
        assert _tools(row) <= tools, row
    h5md = " ".join(qc_sim.io.h5md.__doc__.split())
    assert "OVITO has no H5MD reader" in h5md
    assert _tools(h5md.split("OVITO has no H5MD reader")[0]) <= OPENED["trajectory"]
    assert _tools(qc_sim.io.gsd.__doc__.split("\n\n")[0]) <= OPENED["gsd"]
    assert _tools(qc_sim.io.xyz.__doc__.split("\n\n")[0]) <= OPENED["xyz"]
    tests = (ROOT / "tests" / "test_output.py").read_text()
    for call in ('mdanalysis.Universe(str(tmp_path / "traj.h5md"))',
                 'ovito_frames(ovito_io, tmp_path / "traj.gsd")',
                 'ovito_frames(ovito_io, tmp_path / "traj.xyz")',
                 'ase.io.read(tmp_path / "traj.xyz"',
                 'ovito_frames(ovito_io, tmp_path / spec.output.gsd)',
                 'mdanalysis.Universe(str(tmp_path / spec.output.trajectory))'):
        assert call in tests, call
    assert "gsd.hoomd.open" in (ROOT / "tests" / "test_restart.py").read_text()


def test_the_readme_is_short_and_names_nothing_outside_the_repository():
    import re

    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "../" not in readme and "DESIGN.md" not in readme
    for path in re.findall(r"`((?:docs|scripts|cases|qc_sim|kernels)/[^`*\s]+)`", readme):
        assert (ROOT / path).exists(), path
