"""The README's main-job command: the rules engine's tour, as a user runs it."""

from __future__ import annotations

import io
import subprocess
import sys

from bdbexport.composition.demo_data import demo_bdbs
from bdbexport.entrypoints import demo


def test_the_demo_command_tours_the_rules_engine() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bdbexport.entrypoints.demo"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert result.stderr == ""
    assert lines[0] == "May each role reset the export status of each database?"
    table = {line.split()[1]: line.split()[3:] for line in lines[2:9]}
    assert list(table) == [bdb.name for bdb in demo_bdbs()]  # the server's demo data
    assert table["orders"] == ["allowed", "allowed", "forbidden", "forbidden"]
    assert table["sessions"][:2] == ["allowed", "allowed"]
    assert table["analytics"][:2] == ["export_in_progress", "export_in_progress"]
    assert table["social"][0] == "unsupported_module_capabilities"
    assert table["cache"][0] == "busy"
    assert any(line.strip().startswith("ExportStatusReset") for line in lines)
    assert "  module_capabilities  failed: Not all the modules loaded to database 5" in (
        result.stdout
    )


def test_the_demo_runs_in_process_and_exits_zero() -> None:
    out = io.StringIO()
    demo.run(out)
    assert "ExportSucceeded" in out.getvalue()
    assert demo.main([]) == 0
