"""`import`, `backup` and `action` in local mode, on a real SQLite file: runs in the
foreground, the records they leave, the exit-code table, JSON, options anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.entrypoints.cli import app

runner = CliRunner()


def cli(store: str, *args: str) -> Any:
    # /tmp (tmp_path too) is an export root: local mode refuses a path outside the
    # roots at the start, and these tests are about what happens after it.
    return runner.invoke(
        app, ["--store", store, "--export-root", "/tmp", *args], catch_exceptions=False
    )


def json_of(store: str, *args: str) -> Any:
    result = cli(store, *args, "-o", "json")  # global options work anywhere on the line
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def rdb_file(tmp_path: Path) -> Path:
    path = tmp_path / "dump.rdb"
    path.write_bytes(b"REDIS0011" + b"\x00" * 16)
    return path


def test_an_import_runs_here_and_leaves_a_completed_action(store: str, rdb_file: Path) -> None:
    result = cli(store, "import", "start", "2", "--path", str(rdb_file), "--importer", "memory")
    assert result.exit_code == 0, result.output
    assert "database 2 (sessions): import succeeded" in result.stdout
    assert json_of(store, "import", "status", "2")["import_status"] == "succeeded"
    (action,) = json_of(store, "action", "list", "--db", "2")
    assert (action["name"], action["status"], action["progress"]) == ("import", "completed", "100")
    shown = cli(store, "action", "show", action["action_uid"])
    assert f"action {action['action_uid']}: import of bdb:2 completed, 100%" in shown.stdout
    waited = cli(store, "action", "wait", action["action_uid"], "--interval", "0.05")
    assert waited.exit_code == 0
    reset = cli(store, "import", "reset", "2")
    assert "import status reset to idle" in reset.stdout
    assert json_of(store, "db", "show", "2")["import_status"] == "idle"


def test_a_failed_import_exits_9_and_its_action_failed(store: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing.rdb")
    result = cli(store, "import", "start", "7", "--path", missing, "--importer", "memory")
    assert result.exit_code == ExitCode.EXPORT_FAILED
    assert "import of database 7 failed: download-error" in result.stdout
    (action,) = json_of(store, "action", "list", "--db", "7")
    assert action["status"] == "failed"
    assert action["error"].startswith("download-error")
    assert cli(store, "action", "wait", action["action_uid"]).exit_code == ExitCode.EXPORT_FAILED


def test_a_backup_needs_a_location_then_runs_here(store: str, tmp_path: Path) -> None:
    refused = cli(store, "backup", "now", "2")
    assert refused.exit_code == ExitCode.USAGE
    assert "no_backup_location" in refused.output
    done = cli(store, "backup", "now", "2", "--path", str(tmp_path), "--exporter", "simulated")
    assert done.exit_code == 0, done.output
    assert "backup succeeded" in done.stdout
    bdb = json_of(store, "backup", "status", "2")
    assert bdb["backup_status"] == "succeeded"
    assert bdb["last_backup_time"] is not None
    assert json_of(store, "backup", "reset", "2")["backup_status"] == "idle"


@pytest.mark.parametrize(
    ("args", "code", "error_code"),
    [
        (["action", "show", "nope"], ExitCode.NOT_FOUND, "action_not_exist"),
        (["action", "cancel", "nope"], ExitCode.NOT_FOUND, "action_not_exist"),
        (["action", "list", "--db", "999"], ExitCode.NOT_FOUND, "db_not_exist"),
        (["import", "reset", "5"], ExitCode.UNSUPPORTED_MODULES, "unsupported_module_capabilities"),
        (["backup", "reset", "6"], ExitCode.RETRYABLE, "busy"),
        (["import", "start", "4", "--path", "/tmp/x.rdb"], ExitCode.RETRYABLE, "busy"),
        (["import", "start", "2"], ExitCode.USAGE, "invalid_argument"),
        (
            ["--as", "db_viewer@example.com", "backup", "now", "2", "--path", "/tmp/x"],
            ExitCode.AUTH,
            "forbidden",
        ),
    ],
)
def test_refusals_end_with_the_table_exit_code(
    store: str, args: list[str], code: ExitCode, error_code: str
) -> None:
    result = cli(store, *args)
    assert result.exit_code == code, result.output
    assert error_code in result.output


def test_an_action_without_a_record_is_not_found(store: str) -> None:
    # Database 4 runs the demo's export `demo-export-4`, seeded without a record.
    assert cli(store, "action", "cancel", "demo-export-4").exit_code == ExitCode.NOT_FOUND
    assert json_of(store, "action", "list") == []
