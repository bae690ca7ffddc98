"""Writes one module's mutation score and surviving mutants (from a finished ``mutmut run``
in ``work``) into docs/testing.md, between the markers of that module's block; the
surviving mutants' dispositions are kept by hand in the section after the blocks.

    python scripts/mutation_report.py docs/testing.md KEY MODULE WORK SELECTION_JSON
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


def main(doc, key, module, work, selection):
    doc, work = Path(doc), Path(work)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    killed = stats["killed"] + stats["timeout"]  # a mutant that hangs the tests is caught
    counted = stats["total"] - stats["skipped"]
    score = 100.0 * killed / counted if counted else 0.0
    seconds = int((work / "seconds").read_text()) if (work / "seconds").exists() else 0
    rows = []
    for line in (work / "results.txt").read_text().splitlines():
        name, _, status = line.strip().rpartition(": ")
        if status in ("survived", "no tests", "suspicious"):
            rows.append((name, status, _changed_lines(work, name)))
    tests = " ".join(f"`{t}`" for t in json.loads(selection))
    block = [f"<!-- mutation:{key}:begin -->",
             f"### `{module}`: {killed} of {counted} killed ({score:.1f} %)", "",
             f"{stats['killed']} killed, {stats['timeout']} by a timeout, {stats['survived']} "
             f"survived, {stats['no_tests']} reached by no selected test, "
             f"{stats['suspicious']} suspicious; {seconds} s. Tests: {tests}.", ""]
    if rows:
        block += ["| mutant | status | change |", "| --- | --- | --- |"]
        for name, status, change in rows:
            block.append(f"| `{name.split('.')[-1]}` | {status} | {change} |")
    else:
        block.append("No survivors.")
    block.append(f"<!-- mutation:{key}:end -->")
    text = doc.read_text() if doc.exists() else ""
    pattern = re.compile(rf"<!-- mutation:{key}:begin -->.*?<!-- mutation:{key}:end -->",
                         re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: "\n".join(block), text)
    else:
        marker = "<!-- mutation:results -->"
        if marker not in text:
            text += f"\n{marker}\n"
        text = text.replace(marker, marker + "\n\n" + "\n".join(block), 1)
    doc.write_text(text)
    print(f"{module}: {killed}/{counted} killed ({score:.1f} %), {len(rows)} not killed")


def _diff(work, name):
    """mutmut's diff of one mutant: in this process through mutmut's own functions (one
    ``mutmut show`` per survivor costs a second or two), else by ``mutmut show``."""
    try:
        import os

        from mutmut.__main__ import find_mutant
        from mutmut.mutation.diff_apply import get_diff_for_mutant

        here = os.getcwd()
        os.chdir(work)
        try:
            return get_diff_for_mutant(name, path=find_mutant(name).path)
        finally:
            os.chdir(here)
    except Exception:  # another mutmut version: its command line
        return subprocess.run(["mutmut", "show", name], cwd=work, capture_output=True,
                              text=True).stdout


def _changed_lines(work, name):
    """The mutant's change as `old` -> `new` (the diff's removed and added lines)."""
    diff = _diff(work, name).splitlines()
    old = [l[1:].strip() for l in diff if l.startswith("-") and not l.startswith("---")]
    new = [l[1:].strip() for l in diff if l.startswith("+") and not l.startswith("+++")]
    cell = f"`{' '.join(old)}` → `{' '.join(new)}`"
    return cell.replace("|", "\\|")


if __name__ == "__main__":
    main(*sys.argv[1:])
