"""The README stays true to the code: its case-key tables are the schema's, and every
subcommand has an example."""

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


def test_readme_key_tables_are_generated_from_the_schema():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "case_keys.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, "README.md's key tables are stale: run scripts/case_keys.py"
    readme = (ROOT / "README.md").read_text()
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
