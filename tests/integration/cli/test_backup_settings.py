"""`bdbexport db set` sets a database's periodic backup settings in the local store:
validated as a whole bdb, secrets of an FTP location masked in what it prints, and the
store then holds a schedule the backup scheduler reads."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from typer.testing import CliRunner

from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.composition.stores import default_export_root, open_store
from bdbexport.domain.backup_schedule import BackupSchedule
from bdbexport.domain.bdb import MAX_BACKUP_INTERVAL
from bdbexport.entrypoints.cli import app
from tests.support.server_process import bdbexport_command

runner = CliRunner()


def cli(store: str, *args: str) -> Any:
    return runner.invoke(app, ["--store", store, *args], catch_exceptions=False)


def backup_fields(store: str) -> dict[str, Any]:
    result = cli(store, "db", "show", "1", "-o", "json")
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return {name: value for name, value in shown.items() if name.startswith("backup")}


def backups_folder(store: str) -> str:
    """A place inside the store's export root, where a backup may go."""
    return str(default_export_root(store) / "backups")


def test_the_backup_settings_are_stored_and_make_a_schedule(store: str) -> None:
    folder = backups_folder(store)
    result = cli(
        store, "db", "set", "1", "--backup", "--backup-interval", "3600",
        "--backup-interval-offset", "900", "--backup-path", folder,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"database 1 (orders): periodic backups on: every 3600 s (+900 s) to mount_point {folder}\n"
    )
    opened = open_store(store)
    bdb = opened.bdbs.get(1)
    opened.close()
    assert bdb is not None
    schedule = BackupSchedule.of(bdb)
    assert schedule is not None
    assert schedule.interval.total_seconds() == 3600
    assert schedule.offset.total_seconds() == 900


def test_settings_change_one_at_a_time(store: str) -> None:
    assert cli(store, "db", "set", "1", "--backup-interval", "60").exit_code == 0
    assert (
        cli(store, "db", "set", "1", "--backup-url", "ftp://u:secret@ftp.example/b/").exit_code == 0
    )
    switched = cli(store, "db", "set", "1", "--backup")
    assert switched.exit_code == 0
    assert "secret" not in switched.stdout
    fields = backup_fields(store)
    assert fields["backup"] is True
    assert fields["backup_interval"] == 60
    assert fields["backup_location"]["type"] == "url"
    assert "secret" not in json.dumps(fields)
    assert cli(store, "db", "set", "1", "--no-backup").exit_code == 0
    assert backup_fields(store)["backup"] is False
    assert backup_fields(store)["backup_interval"] == 60


def test_bad_backup_settings_are_usage_errors_and_change_nothing(store: str) -> None:
    before = backup_fields(store)
    for args in (
        ["--backup-interval", "0"],
        ["--backup-interval-offset", "-1"],
        ["--backup-path", "/a", "--backup-url", "ftp://h/"],
        ["--backup-url", "http://not-ftp/"],
        ["--backup-interval", "99999999999999999999999"],
        ["--backup-interval", "10000000000000"],
        ["--backup-interval", str(MAX_BACKUP_INTERVAL + 1)],
        ["--backup-interval-offset", "99999999999999999999999"],
        ["--backup-interval", "3600", "--backup-interval-offset", "3600"],
    ):
        result = cli(store, "db", "set", "1", *args)
        assert result.exit_code == ExitCode.USAGE, (args, result.output)
    assert backup_fields(store) == before


def test_the_console_script_sets_them_too(store: str) -> None:
    done = subprocess.run(
        [*bdbexport_command(), "--store", store, "db", "set", "1", "--backup",
         "--backup-interval", "86400", "--backup-path", backups_folder(store), "-o", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["backup"], shown["backup_interval"]) == (True, 86400)


def test_an_interval_out_of_range_is_refused_by_the_console_script(store: str) -> None:
    """The reviewer's command: it used to be accepted (exit 0), and the server's
    scheduler then failed on every tick."""
    for args in (
        ["--backup", "--backup-interval", "99999999999999999999999"],
        ["--backup-interval-offset", "99999999999999999999999"],
    ):
        done = subprocess.run(
            [*bdbexport_command(), "--store", store, "db", "set", "1", *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == ExitCode.USAGE, (args, done.stdout, done.stderr)
        assert "backup_interval" in done.stderr
        assert "Traceback" not in done.stderr
    assert backup_fields(store)["backup"] is False


def test_a_backup_location_a_backup_could_not_use_is_refused_and_changes_nothing(
    store: str,
) -> None:
    before = backup_fields(store)
    outside = cli(store, "db", "set", "1", "--backup-path", "/not-an-export-root/backups")
    assert outside.exit_code != 0, outside.output
    assert "export root" in outside.output
    denied = cli(store, "db", "set", "1", "--backup-url", "ftp://u:p@127.0.0.1/b/")
    assert denied.exit_code != 0, denied.output
    assert "secret" not in denied.output
    assert backup_fields(store) == before
