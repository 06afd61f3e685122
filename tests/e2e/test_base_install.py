"""The console script on a base install (no `server` extra) says what to install."""

from __future__ import annotations

import subprocess
import sys

BLOCKED_CLI = """
import importlib.util
# A base install: Typer and Rich are not there (find_spec is how the script looks).
installed = importlib.util.find_spec
importlib.util.find_spec = lambda name, *rest: (
    None if name in {"typer", "rich"} else installed(name, *rest)
)
from bdbexport.entrypoints.console import run
run()
"""


def test_without_the_server_extra_the_script_prints_one_line_and_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_CLI, "db", "list"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs the 'server' extra (missing: typer, rich)" in lines[0]
    assert "pip install '.[server]'" in lines[0]


def test_with_the_extra_the_script_runs_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from bdbexport.entrypoints.console import run; run()", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout
