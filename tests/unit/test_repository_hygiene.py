"""The README's install step makes a `.venv` in the clone: git must not offer it for a
commit (issue 27, 10)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_readmes_virtualenv_is_ignored_by_git() -> None:
    assert "-m venv .venv" in (ROOT / "README.md").read_text()
    git = shutil.which("git")
    assert git is not None
    ignored = subprocess.run(
        [git, "check-ignore", "--no-index", "-q", ".venv/bin/python"],
        cwd=ROOT,
        check=False,
    )
    assert ignored.returncode == 0
