"""Every command, option and exit code of the CLI in local mode, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.entrypoints.cli import app

runner = CliRunner()


def cli(store: str, *args: str, input: str | None = None) -> Any:
    # /tmp (tmp_path too) is an export root: local mode refuses a path outside the
    # roots at the start, and these tests are about what happens after it.
    return runner.invoke(
        app, ["--store", store, "--export-root", "/tmp", *args], input=input, catch_exceptions=False
    )


def json_of(store: str, *args: str) -> Any:
    result = cli(store, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_db_list_shows_every_database(store: str) -> None:
    result = cli(store, "db", "list")
    assert result.exit_code == 0
    for name in ("orders", "sessions", "catalog", "analytics", "social", "cache", "inventory"):
        assert name in result.stdout
    assert [bdb["uid"] for bdb in json_of(store, "db", "list")] == [1, 2, 3, 4, 5, 6, 7]


def test_db_show_prints_the_bdb_object(store: str) -> None:
    result = cli(store, "db", "show", "2")
    assert "wrong-file-path" in result.stdout
    bdb = json_of(store, "db", "show", "2")
    assert bdb["export_status"] == "failed"
    assert set(bdb) >= {"uid", "name", "export_status", "export_progress", "action_uid"}


def test_reset_clears_a_failure_and_is_idempotent(store: str) -> None:
    result = cli(store, "export", "reset", "2")
    assert result.exit_code == 0
    assert "reset to idle" in result.stdout
    assert json_of(store, "export", "reset", "2")["export_status"] == "idle"
    assert json_of(store, "db", "show", "2")["export_failure_reason"] is None


@pytest.mark.parametrize(
    ("args", "code", "error_code"),
    [
        (["export", "reset", "999"], ExitCode.NOT_FOUND, "db_not_exist"),
        (["export", "reset", "5"], ExitCode.UNSUPPORTED_MODULES, "unsupported_module_capabilities"),
        (["export", "reset", "4"], ExitCode.RETRYABLE, "export_in_progress"),
        (["export", "reset", "6"], ExitCode.RETRYABLE, "busy"),
        (["--as", "db_viewer@example.com", "export", "reset", "2"], ExitCode.AUTH, "forbidden"),
        (["--as", "ghost@example.com", "db", "list"], ExitCode.AUTH, "unauthenticated"),
        (["export", "start", "1"], ExitCode.USAGE, "invalid_argument"),
        (["export", "start", "1", "--url", "http://x/"], ExitCode.USAGE, "invalid_schema"),
        (["explain", "1", "--action", "fly"], ExitCode.USAGE, "invalid_argument"),
        (["explain", "1", "--kind", "restore"], ExitCode.USAGE, "invalid_argument"),
        (["db", "add", "0", "zero"], ExitCode.USAGE, "invalid_schema"),
        (["db", "add", "1", "again"], ExitCode.ERROR, "db_already_exists"),
    ],
)
def test_refusals_end_with_their_exit_code_and_one_line(
    store: str, args: list[str], code: ExitCode, error_code: str
) -> None:
    result = cli(store, *args)
    assert result.exit_code == code, result.output
    assert result.stderr.startswith(f"error: {error_code}: ")
    assert "Traceback" not in result.output
    as_json = cli(store, "--json", *args)
    assert as_json.exit_code == code
    assert json.loads(as_json.stderr.splitlines()[0])["error_code"] == error_code


def test_busy_refusals_carry_a_hint(store: str) -> None:
    result = cli(store, "export", "reset", "6")
    assert "hint: retry later" in result.stderr


def test_a_non_integer_uid_is_a_usage_error(store: str) -> None:
    result = cli(store, "db", "show", "abc")
    assert result.exit_code == ExitCode.USAGE
    assert "Invalid value" in result.output


def test_a_missing_store_file_is_a_store_error(tmp_path: Path) -> None:
    result = cli(f"sqlite://{tmp_path / 'absent.sqlite3'}", "db", "list")
    assert result.exit_code == ExitCode.STORE
    assert "does not exist" in result.stderr


def test_a_file_that_is_not_a_store_is_a_store_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.sqlite3"
    notes.write_text("just some notes, not a database " * 40)
    result = cli(f"sqlite://{notes}", "db", "list")
    assert result.exit_code == ExitCode.STORE
    assert "not a bdbexport SQLite store" in result.stderr


def test_an_unknown_store_scheme_is_a_usage_error() -> None:
    result = cli("postgres://db/x", "db", "list")
    assert result.exit_code == ExitCode.USAGE


def test_a_local_export_runs_in_the_foreground_to_the_end(store: str) -> None:
    bdb = json_of(store, "export", "start", "1", "--path", "/tmp", "--exporter", "simulated")
    assert bdb["export_status"] == "succeeded"
    assert bdb["export_progress"] == 100
    status = cli(store, "export", "status", "1")
    assert "export succeeded" in status.stdout


def test_a_location_file_takes_any_location_type(store: str, tmp_path: Path) -> None:
    location = tmp_path / "loc.json"
    location.write_text(json.dumps({"type": "url", "url": "ftp://u:p@ftp.example.com/x/"}))
    started = json_of(
        store, "export", "start", "3", "--location-file", str(location), "--exporter", "simulated"
    )
    assert started["export_status"] == "succeeded"
    location.write_text("{not json")
    assert cli(store, "export", "start", "3", "--location-file", str(location)).exit_code == 2
    missing = cli(store, "export", "start", "3", "--location-file", str(tmp_path / "none.json"))
    assert missing.exit_code == 2


def test_a_real_export_of_a_bdb_without_a_data_endpoint_fails(store: str) -> None:
    result = cli(store, "export", "start", "1", "--path", "/tmp")
    assert result.exit_code == ExitCode.EXPORT_FAILED
    assert result.stdout.startswith(
        "export of database 1 failed: general-error: no data endpoint"
        " (hint: set one with: bdbexport db set 1 --endpoint HOST:PORT)"
    )
    assert cli(store, "export", "start", "1", "--path", "/tmp", "--exporter", "tape").exit_code == 2


def test_status_watch_of_a_finished_export_returns_at_once(store: str) -> None:
    assert cli(store, "export", "status", "3", "--watch").exit_code == 0
    failed = cli(store, "export", "status", "7", "--watch")
    assert failed.exit_code == ExitCode.EXPORT_FAILED
    assert failed.stdout.startswith("export of database 7 failed: no-permission")
    assert "db set" not in failed.stdout  # the endpoint is not what is wrong


def test_explain_prints_every_check_and_exits_with_the_refusal(store: str) -> None:
    allowed = cli(store, "explain", "2", "--action", "reset")
    assert allowed.exit_code == 0
    assert "allowed" in allowed.stdout
    refused = cli(store, "explain", "5", "--action", "start")
    assert refused.exit_code == ExitCode.UNSUPPORTED_MODULES
    assert "module_capabilities" in refused.stdout
    decision = json.loads(
        cli(store, "--json", "--as", "db_viewer@example.com", "explain", "999").stdout
    )
    assert decision["error"]["error_code"] == "forbidden"
    assert [c["outcome"] for c in decision["checks"]][-1] == "skipped"
    viewer_view = cli(store, "--as", "db_viewer@example.com", "explain", "1", "--action", "view")
    assert viewer_view.exit_code == 0
    assert json_of(store, "db", "show", "2")["export_status"] == "failed"  # nothing changed


def test_explain_asks_about_every_member_of_the_family(store: str) -> None:
    """`--kind` picks the member; the decision names the domain's action for it."""
    for kind, verb, action in (
        ("export", "start", "start"),
        ("import", "start", "start_import"),
        ("import", "reset", "reset_import"),
        ("backup", "reset", "reset_backup"),
    ):
        decision = json.loads(
            cli(store, "--json", "explain", "1", "--kind", kind, "--action", verb).stdout
        )
        assert decision["action"] == action
    # A backup's start goes to the bdb's backup_location, judged as a server judges it.
    backup = ("explain", "1", "--kind", "backup", "--action", "start")
    nowhere = cli(store, *backup)
    assert nowhere.exit_code == ExitCode.USAGE
    assert "no_backup_location" in nowhere.stderr
    assert cli(store, "db", "set", "1", "--backup-path", "/tmp").exit_code == 0
    assert json.loads(cli(store, "--json", *backup).stdout)["action"] == "start_backup"
    refused = cli(store, "explain", "5", "--kind", "import", "--action", "start")
    assert refused.exit_code == ExitCode.UNSUPPORTED_MODULES  # a module lacks backup_restore
    assert refused.stdout.startswith("start_import on database 5")
    forbidden = cli(store, "--as", "db_viewer@example.com", "explain", "1", "--kind", "backup")
    assert forbidden.exit_code == ExitCode.AUTH
    wrong = cli(store, "explain", "1", "--kind", "restore")
    assert wrong.exit_code == ExitCode.USAGE
    assert "--kind must be one of export, import, backup" in wrong.stderr


def test_db_add_refuses_a_module_the_catalog_does_not_have(store: str) -> None:
    refused = cli(store, "db", "add", "43", "typo", "--module", "nosuchmodule")
    assert refused.exit_code == 2, refused.output
    assert "invalid_argument: no module 'nosuchmodule' in the catalog" in refused.stderr
    assert "bdbexport module add nosuchmodule" in refused.stderr
    assert "43" not in cli(store, "db", "list").stdout  # nothing was stored


def test_admin_commands_add_modules_databases_and_users(store: str) -> None:
    module = json_of(
        store,
        "module",
        "add",
        "bf",
        "--version",
        "2.6",
        "--capability",
        "backup_restore",
        "--capability",
        "types",
    )
    assert module["capabilities"] == ["backup_restore", "types"]
    assert json_of(store, "db", "add", "42", "blooms", "--module", "bf")["uid"] == 42
    assert "bf" in cli(store, "module", "list").stdout
    added = cli(
        store,
        "user",
        "add",
        "new@example.com",
        "--role",
        "db_member",
        "--password-stdin",
        input="a fine password\n",
    )
    assert added.exit_code == 0, added.output
    assert json_of(store, "--as", "new@example.com", "export", "reset", "42")["uid"] == 42


def test_user_add_refuses_bad_roles_empty_passwords_and_no_terminal(store: str) -> None:
    bad_role = cli(
        store, "user", "add", "x@example.com", "--role", "king", "--password-stdin", input="pw\n"
    )
    assert bad_role.exit_code == ExitCode.USAGE
    assert "unknown role" in bad_role.stderr
    empty = cli(
        store, "user", "add", "x@example.com", "--role", "admin", "--password-stdin", input="\n"
    )
    assert empty.exit_code == ExitCode.USAGE
    no_tty = cli(store, "user", "add", "x@example.com", "--role", "admin", input="")
    assert no_tty.exit_code == ExitCode.USAGE
    assert "--password-stdin" in no_tty.stderr
    taken = cli(
        store,
        "user",
        "add",
        "admin@example.com",
        "--role",
        "admin",
        "--password-stdin",
        input="pw\n",
    )
    assert taken.exit_code == ExitCode.ERROR
    assert "user_already_exists" in taken.stderr


def test_local_only_commands_refuse_remote_mode(store: str) -> None:
    result = runner.invoke(
        app,
        ["--url", "http://127.0.0.1:1", "--user", "a@b.c", "db", "add", "9", "x"],
        env={"BDBEXPORT_PASSWORD": "pw"},
    )
    assert result.exit_code == ExitCode.USAGE
    assert "local-only" in result.stderr


def test_profiles_fill_unset_settings(store: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'default_profile = "lab"\n[profiles.lab]\nstore = "{store}"\n'
        '[profiles.broken]\nstorage = "x"\n'
    )
    result = runner.invoke(app, ["--config", str(config), "--json", "db", "show", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "catalog"
    unknown = runner.invoke(app, ["--config", str(config), "--profile", "broken", "db", "list"])
    assert unknown.exit_code == ExitCode.USAGE
    assert "unknown keys: storage" in unknown.stderr
    missing = runner.invoke(app, ["--config", str(tmp_path / "none.toml"), "db", "list"])
    assert missing.exit_code == ExitCode.USAGE


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    for command in ("db", "export", "module", "user", "explain", "serve"):
        assert command in result.stdout
    for group, commands in {
        "db": ("list", "show", "add"),
        "export": ("start", "status", "reset"),
        "module": ("list", "add"),
        "user": ("add",),
    }.items():
        text = runner.invoke(app, [group, "--help"]).stdout
        for command in commands:
            assert command in text
