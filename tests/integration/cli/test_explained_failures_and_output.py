"""Tracker issue 13 in local mode, on a real SQLite store: failures that say why (the
detail and a fitting hint), `db set --endpoint`, `user set-password`, plain tables when
stdout is not a terminal (CliRunner's is not), no stray blank line, one error prefix."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.adapters.cli.local_target import parse_endpoint
from bdbexport.adapters.cli.output import plain_table
from bdbexport.composition.stores import open_store
from bdbexport.domain.auth.passwords import verify_password
from bdbexport.entrypoints.cli import app
from tests.support.server_process import free_port

runner = CliRunner()
EXPLAIN_VIEW = ("explain", "1", "--action", "view")
HINT_NO_ENDPOINT = "(hint: set one with: bdbexport db set 1 --endpoint HOST:PORT)"


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


# --- A. failures explain themselves -----------------------------------------------------


def test_a_failed_local_export_prints_the_reason_the_detail_and_the_hint(store: str) -> None:
    result = cli(store, "export", "start", "1", "--path", "/tmp", "--exporter", "rdb")
    assert result.exit_code == ExitCode.EXPORT_FAILED
    assert result.stdout == (
        f"export of database 1 failed: general-error: no data endpoint {HINT_NO_ENDPOINT}\n"
    )
    status = cli(store, "export", "status", "1")
    assert status.exit_code == 0
    assert status.stdout.startswith("export of database 1 failed: general-error: no data")
    shown = cli(store, "db", "show", "1")
    # Padded to the longest field name (`backup_interval_offset` since the family).
    assert re.search(r"export_failure_detail +no data endpoint", shown.stdout)
    assert f"no data endpoint {HINT_NO_ENDPOINT}" in shown.stdout
    bdb = json_of(store, "db", "show", "1")
    assert (bdb["export_failure_reason"], bdb["export_failure_detail"]) == (
        "general-error",
        "no data endpoint",
    )
    as_json = cli(store, "--json", "export", "start", "2", "--path", "/tmp")
    assert as_json.exit_code == ExitCode.EXPORT_FAILED
    assert json.loads(as_json.stdout)["export_failure_detail"] == "no data endpoint"


def test_a_source_that_refuses_gets_no_endpoint_hint(store: str) -> None:
    assert cli(store, "db", "set", "1", "--endpoint", f"127.0.0.1:{free_port()}").exit_code == 0
    result = cli(store, "export", "start", "1", "--path", "/tmp")
    assert result.exit_code == ExitCode.EXPORT_FAILED
    assert result.stdout.startswith("export of database 1 failed: general-error: source failed")
    assert "db set" not in result.stdout


def test_a_failure_without_detail_still_says_the_reason(store: str) -> None:
    shown = cli(store, "db", "show", "7")
    assert "export of database 7 failed: no-permission (hint:" in shown.stdout
    assert "export of database" not in cli(store, "db", "show", "3").stdout  # succeeded


def test_retry_busy_spent_says_how_often_it_retried(store: str) -> None:
    result = cli(store, "--retry-busy", "2", "export", "reset", "6")
    assert result.exit_code == ExitCode.RETRYABLE
    hint = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert hint
    assert "retried 2 times" in hint[0]
    assert "--retry-busy" not in hint[0]
    assert "--retry-busy N" in cli(store, "export", "reset", "6").stderr  # not yet retried


def test_a_refused_connection_is_not_told_to_use_insecure() -> None:
    result = runner.invoke(
        app,
        ["--url", f"http://127.0.0.1:{free_port()}", "--user", "a@b.c", "db", "list"],
        env={"BDBEXPORT_PASSWORD": "pw"},
    )
    assert result.exit_code == ExitCode.CONNECTION
    assert "connection_error" in result.stderr
    assert "--insecure" not in result.stderr


# --- B. explain --action view remotely ---------------------------------------------------


def test_explain_view_against_a_server_is_a_usage_error() -> None:
    result = runner.invoke(
        app,
        ["--url", f"http://127.0.0.1:{free_port()}", "--user", "a@b.c", *EXPLAIN_VIEW],
        env={"BDBEXPORT_PASSWORD": "pw"},
    )
    assert result.exit_code == ExitCode.USAGE
    assert "only reset and start can be explained against a server" in result.stderr


# --- C. db set --endpoint, db add --endpoint, user set-password ---------------------------


def test_db_set_endpoint_stores_it(store: str) -> None:
    result = cli(store, "db", "set", "1", "--endpoint", "redis-1.internal:12000")
    assert result.exit_code == 0, result.output
    assert result.stdout == "database 1 (orders): endpoint set to redis-1.internal:12000\n"
    assert json_of(store, "db", "show", "1")["endpoints"] == [
        {"addr": ["redis-1.internal"], "port": 12000, "dns_name": None}
    ]
    assert json_of(store, "db", "set", "1", "--endpoint", "[::1]:6379")["endpoints"] == [
        {"addr": ["::1"], "port": 6379, "dns_name": None}
    ]
    assert "[::1]:6379" in cli(store, "db", "show", "1").stdout
    assert json_of(store, "db", "show", "1")["name"] == "orders"  # nothing else changed


@pytest.mark.parametrize(
    "endpoint", ["redis", "redis:", ":6379", "h:0", "h:65536", "h:x", "::1:6379", "[zz]:1"]
)
def test_a_bad_endpoint_is_a_usage_error(store: str, endpoint: str) -> None:
    result = cli(store, "db", "set", "1", "--endpoint", endpoint)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stderr.startswith("error: invalid_argument: --endpoint")
    assert json_of(store, "db", "show", "1")["endpoints"] == []


def test_db_set_refuses_unknown_databases_remote_mode_and_nothing_to_set(store: str) -> None:
    unknown = cli(store, "db", "set", "999", "--endpoint", "h:1")
    assert unknown.exit_code == ExitCode.NOT_FOUND
    assert unknown.stderr.startswith("error: db_not_exist: ")
    assert cli(store, "db", "set", "1").exit_code == ExitCode.USAGE
    remote = runner.invoke(
        app,
        ["--url", "http://127.0.0.1:1", "--user", "a@b.c", "db", "set", "1", "--endpoint", "h:1"],
        env={"BDBEXPORT_PASSWORD": "pw"},
    )
    assert remote.exit_code == ExitCode.USAGE
    assert "local-only" in remote.stderr


def test_db_add_takes_an_endpoint(store: str) -> None:
    added = json_of(store, "db", "add", "40", "with-data", "--endpoint", "10.0.0.7:6380")
    assert added["endpoints"] == [{"addr": ["10.0.0.7"], "port": 6380, "dns_name": None}]
    assert json_of(store, "db", "add", "41", "without")["endpoints"] == []
    assert cli(store, "db", "add", "42", "bad", "--endpoint", "10.0.0.7").exit_code == 2


def test_endpoints_parse_hosts_and_ipv6() -> None:
    assert parse_endpoint("127.0.0.1:6379").addr == ("127.0.0.1",)
    assert parse_endpoint("[fe80::1]:1").addr == ("fe80::1",)
    assert parse_endpoint("db.example.com:65535").port == 65535


def test_user_set_password_replaces_the_hash(store: str, tmp_path: Path) -> None:
    result = cli(
        store,
        "user",
        "set-password",
        "admin@example.com",
        "--password-stdin",
        input="a new password\n",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "user admin@example.com: password changed\n"
    opened = open_store(store)
    try:
        user = opened.users.get("admin@example.com")
    finally:
        opened.close()
    assert user is not None
    assert user.role == "admin"
    assert verify_password("a new password", user.password_hash)


def test_user_set_password_refuses_unknown_users_empty_passwords_and_no_terminal(
    store: str,
) -> None:
    unknown = cli(
        store, "user", "set-password", "nobody@example.com", "--password-stdin", input="pw\n"
    )
    assert unknown.exit_code == ExitCode.NOT_FOUND
    assert unknown.stderr.startswith("error: not_found: ")
    empty = cli(store, "user", "set-password", "admin@example.com", "--password-stdin", input="\n")
    assert empty.exit_code == ExitCode.USAGE
    no_tty = cli(store, "user", "set-password", "admin@example.com", input="")
    assert no_tty.exit_code == ExitCode.USAGE
    assert "--password-stdin" in no_tty.stderr


# --- D. output for pipes and people ------------------------------------------------------


def test_tables_are_plain_columns_that_never_cut_a_value(store: str) -> None:
    name = "n" * 60 + "-" + "m" * 59
    assert len(name) == 120
    assert cli(store, "db", "add", "77", name).exit_code == 0
    listed = cli(store, "db", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == [
        "UID", "NAME", "EXPORT", "PROGRESS", "FAILURE", "REASON", "LAST", "EXPORT", "ACTION"
    ]  # fmt: skip
    row = [line for line in lines if line.startswith("77 ")]
    assert len(row) == 1
    assert row[0].split() == ["77", name, "idle", "0", "-", "-", "-"]
    assert "…" not in listed.stdout
    assert all(line == line.rstrip() for line in lines)
    start = lines[0].index("NAME")  # the columns line up: each NAME starts there
    assert all(line[start - 2 : start] == "  " and line[start] != " " for line in lines[1:])
    explained = cli(store, "explain", "5", "--action", "start")
    reasons = [line for line in explained.stdout.splitlines() if "module_capabilities" in line]
    assert len(reasons) == 1
    assert reasons[0].endswith("support the 'backup_restore' capability: graph.")
    modules = cli(store, "module", "list")
    assert modules.stdout.splitlines()[0].split() == [
        "MODULE", "NAME", "SEMANTIC", "VERSION", "CAPABILITIES"
    ]  # fmt: skip


def test_plain_table_pads_to_the_widest_cell() -> None:
    text = plain_table([["1", "a"], ["22", "b\nc"]], ["N", "X"])
    assert text == "N   X\n1   a\n22  b\\nc"


def test_no_blank_line_before_the_result(store: str) -> None:
    started = cli(store, "export", "start", "3", "--path", "/tmp", "--exporter", "simulated")
    assert started.exit_code == 0, started.output
    assert started.stdout.startswith("database 3 (catalog): export succeeded")
    watched = cli(store, "export", "status", "3", "--watch")
    assert watched.stdout.startswith("database 3 (catalog): export succeeded")
    failed = cli(store, "export", "start", "1", "--path", "/tmp")
    assert failed.stdout.startswith("export of database 1 failed")
    assert "\n\n" not in started.stdout + watched.stdout + failed.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["db", "show", "abc"],
        ["dbx"],
        ["db", "list", "--bogus"],
        ["db", "show"],
        ["export", "reset", "999"],
        ["export", "start", "1"],
        ["--json", "--output", "table", "db", "list"],
    ],
)
def test_every_error_has_the_one_prefix(store: str, args: list[str]) -> None:
    result = cli(store, *args)
    assert result.exit_code != 0
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert "Error" not in result.stderr
    assert "╭" not in result.stderr  # no Rich panel
    assert all(line.startswith(("error: ", "hint: ")) for line in result.stderr.splitlines())


def test_usage_errors_are_exit_2_and_json_with_json(store: str) -> None:
    plain = cli(store, "db", "show", "abc")
    assert plain.exit_code == ExitCode.USAGE
    assert plain.stderr.startswith("error: invalid_argument: Invalid value for 'UID'")
    assert "hint: usage: bdbexport db show" in plain.stderr
    as_json = cli(store, "db", "show", "abc", "--json")
    assert as_json.exit_code == ExitCode.USAGE
    assert json.loads(as_json.stderr)["error_code"] == "invalid_argument"


# --- bad settings are usage errors -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--url", "http://[::1", "--user", "a@example.com", "db", "list"), "is not a URL"),
        (("--url", "ftp://x", "--user", "a@example.com", "db", "list"), "must be http://"),
        (("--url", "notaurl", "--user", "a@example.com", "db", "list"), "must be http://"),
        (("db", "list", "--retry-busy", "-1"), "--retry-busy"),
        (("export", "status", "1", "--watch", "--interval", "0"), "--interval"),
    ],
)
def test_bad_settings_are_usage_errors_not_failures(
    store: str, args: tuple[str, ...], words: str
) -> None:
    result = runner.invoke(
        app, ["--store", store, *args], env={"BDBEXPORT_PASSWORD": "x"}, catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    assert "error: " in result.stderr
    assert words in result.stderr
    assert "internal_error" not in result.stderr


def test_a_profile_value_of_the_wrong_type_is_a_config_error(store: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[profiles.lab]\nurl = 5\n", encoding="utf-8")
    result = runner.invoke(
        app, ["--config", str(config), "--profile", "lab", "db", "list"], catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    assert "error: config_error: profile 'lab'" in result.stderr
    assert "url must be a string" in result.stderr
