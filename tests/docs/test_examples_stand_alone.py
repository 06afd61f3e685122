"""The docs' examples stand alone: a reader copies a block into a file and runs it
anywhere, with the package installed. `tests/docs/test_examples.py` runs them from the
repository root, where `tests.support` happens to be importable; docs/imports.md's
example imported it and failed anywhere else."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.docs.test_examples import PAGES, PYTHON_BLOCK

TESTS_IMPORT = re.compile(r"^\s*(from|import)\s+tests(\.|\s|$)", re.MULTILINE)


def test_no_example_imports_the_test_suite() -> None:
    offenders = [
        page.name
        for page in PAGES
        for block in PYTHON_BLOCK.findall(page.read_text(encoding="utf-8"))
        if TESTS_IMPORT.search(block)
    ]
    assert offenders == []


def test_the_import_example_runs_outside_the_repository(tmp_path: Path) -> None:
    page = Path(__file__).parents[2] / "docs" / "imports.md"
    script = tmp_path / "example.py"
    script.write_text("\n".join(PYTHON_BLOCK.findall(page.read_text(encoding="utf-8"))))
    done = subprocess.run(
        [sys.executable, "-P", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
