"""Global options before or after the subcommand, `-o json`, `--version` and `-h`, on a real
SQLite store: the CLI as `typer.testing.CliRunner` runs it, through the same argument
normalisation as the console script (adapters/cli/argv.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from bdbexport.adapters.cli.argv import normalise_argv, options_of
from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.adapters.cli.main import package_version
from bdbexport.entrypoints.cli import app
from tests.support.server_process import free_port

runner = CliRunner()
ROOT = typer.main.get_command(app)
VIEWER = "db_viewer@example.com"


@pytest.fixture
def config(tmp_path: Path, store: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.lab]\nstore = "{store}"\n', encoding="utf-8")
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def outcome(result: Any) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


# --- every global option, before and after the verb -------------------------------------

# (global options, the command): {store}, {config}, {closed} are filled in by the test.
CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "--store": (("--store", "{store}"), ("db", "show", "2")),
    "--json": (("--store", "{store}", "--json"), ("db", "show", "2")),
    "--output": (("--store", "{store}", "--output", "json"), ("db", "list")),
    "--as": (("--store", "{store}", "--as", VIEWER), ("export", "reset", "2")),
    "--url": (("--url", "{closed}", "--user", "ops@example.com"), ("db", "list")),
    "--user": (("--url", "{closed}", "--user", "ops@example.com"), ("export", "status", "1")),
    "--ca-file": (
        ("--url", "{closed}", "--user", "ops@example.com", "--ca-file", "/absent.pem"),
        ("db", "show", "1"),
    ),
    "--insecure": (
        ("--url", "{closed}", "--user", "o@example.com", "--ca-file", "/absent.pem", "--insecure"),
        ("db", "show", "1"),
    ),
    "--retry-busy": (("--store", "{store}", "--retry-busy", "1"), ("export", "reset", "6")),
    "--debug": (("--store", "{store}", "--debug"), ("db", "show", "1")),
    # Inside the root, the start gets past the location check to the busy refusal (6).
    "--export-root": (
        ("--store", "{store}", "--export-root", "/tmp"),
        ("import", "start", "4", "--path", "/tmp/x.rdb"),
    ),
    # The remote location types' local options (a server's are serve's).
    "--allow-egress": (("--store", "{store}", "--allow-egress", "127.0.0.1"), ("db", "show", "1")),
    "--s3-url": (("--store", "{store}", "--s3-url", "http://127.0.0.1:9"), ("db", "show", "1")),
    "--s3-ca-cert": (("--store", "{store}", "--s3-ca-cert", "/absent.pem"), ("db", "show", "1")),
    "--gs-url": (("--store", "{store}", "--gs-url", "http://127.0.0.1:9"), ("db", "show", "1")),
    "--abs-url": (("--store", "{store}", "--abs-url", "http://127.0.0.1:9"), ("db", "show", "1")),
    "--sftp-known-hosts": (
        ("--store", "{store}", "--sftp-known-hosts", "/absent"),
        ("db", "show", "1"),
    ),
    "--profile": (("--config", "{config}", "--profile", "lab"), ("db", "show", "3")),
    "--config": (("--config", "{config}", "--profile", "lab", "--json"), ("db", "list")),
    "--version": (("--version",), ("db", "show", "1")),
}


def test_the_cases_cover_every_global_option() -> None:
    declared = {name for name in options_of(ROOT) if name.startswith("--")}
    declared -= {"--no-insecure", "--no-debug"}  # the negations, covered below
    declared -= {"--install-completion", "--show-completion"}  # covered below
    assert declared == set(CASES)


def test_completion_is_offered_before_or_after_the_verb() -> None:
    before = invoke("--show-completion", "bash")
    assert before.exit_code == 0, before.output
    assert "_bdbexport_completion" in before.stdout
    after = invoke("db", "list", "--show-completion", "bash")
    assert outcome(after) == outcome(before)


@pytest.mark.parametrize("option", sorted(CASES))
def test_a_global_option_does_the_same_before_after_and_between_the_verbs(
    option: str, store: str, config: Path, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    fill = {"store": store, "config": str(config), "closed": closed}
    options = tuple(arg.format(**fill) for arg in CASES[option][0])
    verb = CASES[option][1]
    env = {"BDBEXPORT_PASSWORD": "secret", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    before = outcome(invoke(*options, *verb, env=env))
    after = outcome(invoke(*verb, *options, env=env))
    between = outcome(invoke(verb[0], *options, *verb[1:], env=env))
    assert after == before
    assert between == before
    assert "No such option" not in before[2]


def test_the_cases_mean_what_they_say(store: str, config: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = {"BDBEXPORT_PASSWORD": "secret"}
    shown = invoke("db", "show", "2", "--store", store, "--json")
    assert json.loads(shown.stdout)["export_failure_reason"] == "wrong-file-path"
    refused = invoke("export", "reset", "2", "--store", store, "--as", VIEWER)
    assert refused.exit_code == ExitCode.AUTH
    assert refused.stderr.startswith("error: forbidden: ")
    unreachable = invoke("db", "list", "--url", closed, "--user", "o@example.com", env=env)
    assert unreachable.exit_code == ExitCode.CONNECTION, unreachable.output
    no_user = invoke("db", "list", "--url", closed, env=env)
    assert no_user.exit_code == ExitCode.AUTH
    remote = ("--url", closed, "--user", "o@example.com", "--ca-file", "/absent.pem")
    bad_ca = invoke("db", "list", *remote, env=env)
    assert bad_ca.exit_code == ExitCode.USAGE
    assert "cannot use CA file" in bad_ca.stderr
    assert invoke("db", "list", *remote, "--insecure", env=env).exit_code == ExitCode.CONNECTION
    retried = invoke("export", "reset", "6", "--store", store, "--retry-busy", "1")
    assert retried.exit_code == ExitCode.RETRYABLE
    assert "busy: retrying in" in retried.stderr
    profiled = invoke("db", "show", "3", "--config", str(config), "--profile", "lab", "--json")
    assert json.loads(profiled.stdout)["uid"] == 3


@pytest.mark.parametrize(
    "args",
    [
        ["db", "show", "2", "--store={store}", "--json"],
        ["db", "show", "--store={store}", "2", "--output=json"],
        ["db", "show", "2", "--store", "{store}", "-o", "json"],
        ["db", "show", "2", "--store", "{store}", "-ojson"],
        ["db", "show", "2", "--store", "{store}", "-o=json"],
        ["-o=json", "db", "show", "2", "--store={store}"],
        ["db", "show", "2", "--store", "{store}", "-o", "JSON"],
        ["--store", "{store}", "db", "show", "2", "--as=db_viewer@example.com", "--json"],
        ["-o", "json", "db", "show", "2", "--config={config}", "--profile=lab", "--debug"],
        ["db", "show", "2", "--no-debug", "--store={store}", "--no-insecure", "--json"],
    ],
)
def test_every_spelling_of_an_option_works_anywhere(
    args: list[str], store: str, config: Path
) -> None:
    result = invoke(*(arg.format(store=store, config=config) for arg in args))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["uid"] == 2


def test_output_table_prints_tables_and_contradicting_json_is_a_usage_error(store: str) -> None:
    table = invoke("db", "show", "2", "--store", store, "-o", "table")
    assert table.exit_code == 0
    assert "export_status" in table.stdout
    assert not table.stdout.lstrip().startswith("{")
    both = invoke("db", "show", "2", "--store", store, "-o", "table", "--json")
    assert both.exit_code == ExitCode.USAGE
    assert "contradict" in both.stderr
    wrong = invoke("db", "show", "2", "--store", store, "-o", "yaml")
    assert wrong.exit_code == ExitCode.USAGE
    assert "yaml" in wrong.output


# --- a subcommand's own option of the same name wins -----------------------------------


def test_export_start_keeps_its_own_url_as_the_destination(store: str) -> None:
    result = invoke(
        "export", "start", "1", "--url", "ftp://u:p@ftp.example.com/x/", "--exporter",
        "simulated", "--store", store, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["export_status"] == "succeeded"
    # Not hoisted: an http:// destination is refused as a location, not used as a server.
    refused = invoke("export", "start", "1", "--url", "http://x/", "--store", store)
    assert refused.exit_code == ExitCode.USAGE
    assert refused.stderr.startswith("error: invalid_schema: ")


def test_the_global_url_goes_before_the_verb_that_has_its_own(store: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = invoke(
        "export", "--url", closed, "--user", "o@example.com", "start", "1", "--path", "/mnt",
        env={"BDBEXPORT_PASSWORD": "secret"},
    )  # fmt: skip
    assert result.exit_code == ExitCode.CONNECTION, result.output


def test_module_add_keeps_its_own_version(store: str) -> None:
    added = invoke("module", "add", "bf", "--version", "2.6.12", "--store", store, "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["semantic_version"] == "2.6.12"


@pytest.mark.parametrize(
    ("args", "normalised"),
    [
        (["db", "show", "1", "--json"], ["--json", "db", "show", "1"]),
        (["db", "--url=u", "show", "1"], ["--url=u", "db", "show", "1"]),
        (
            ["export", "start", "1", "--url", "ftp://h/", "--url"],  # its own, valueless
            ["export", "start", "1", "--url", "ftp://h/", "--url"],
        ),
        (
            ["export", "start", "1", "--url", "ftp://h/", "--json"],
            ["--json", "export", "start", "1", "--url", "ftp://h/"],
        ),
        # A value of the command's own option is never taken for an option.
        (
            ["export", "start", "1", "--path", "--json", "-o", "json"],
            ["-o", "json", "export", "start", "1", "--path", "--json"],
        ),
        (
            ["serve", "--store", "memory://", "--port", "1", "--as", "x"],
            ["--as", "x", "serve", "--store", "memory://", "--port", "1"],
        ),
        (["module", "add", "m", "--version", "1.0"], ["module", "add", "m", "--version", "1.0"]),
        (["module", "list", "--version"], ["--version", "module", "list"]),
        (["db", "show", "--", "--json"], ["db", "show", "--", "--json"]),
        (["db", "show", "1", "--store"], ["--store"]),
        (["db", "show", "1", "--store", "--"], ["--store", "--", "db", "show", "1"]),
        (["db", "show", "1", "-h", "--debug"], ["--debug", "db", "show", "1", "-h"]),
        (["dbs", "show", "--json"], ["--json", "dbs", "show"]),
        (["db", "list", "-o=json"], ["-ojson", "db", "list"]),  # Click reads -o=json as "=json"
        ([], []),
    ],
)
def test_normalise_argv_moves_the_global_options_first(
    args: list[str], normalised: list[str]
) -> None:
    assert normalise_argv(ROOT, args) == normalised


# --- --version and -h -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--version"], ["db", "--version"], ["db", "show", "1", "--version"], ["export", "--version"]],
)
def test_version_prints_the_package_version_at_every_level(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0
    assert result.stdout == f"bdbexport {package_version()}\n"
    assert package_version() != "0+unknown"  # installed, so the metadata is there


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["-h"], "bdbexport [OPTIONS] COMMAND"),
        (["db", "-h"], "bdbexport db [OPTIONS] COMMAND"),
        (["export", "start", "-h"], "bdbexport export start [OPTIONS]"),
        (["db", "show", "1", "-h", "--json"], "bdbexport db show [OPTIONS]"),
        (["serve", "-h"], "bdbexport serve [OPTIONS]"),
    ],
)
def test_dash_h_is_help_at_every_level(args: list[str], usage: str) -> None:
    short = invoke(*args)
    assert short.exit_code == 0, short.output
    assert usage in short.stdout
    assert short.stdout == invoke(*("--help" if arg == "-h" else arg for arg in args)).stdout


# --- what is still refused --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "unknown"),
    [
        (["db", "show", "1", "--bogus"], "--bogus"),
        (["--bogus", "db", "list"], "--bogus"),
        (["db", "list", "--path", "/mnt"], "--path"),  # an option of another command
    ],
)
def test_an_unknown_option_is_still_a_usage_error(
    args: list[str], unknown: str, store: str
) -> None:
    result = invoke(*args, "--store", store)
    assert result.exit_code == ExitCode.USAGE
    assert f"No such option: {unknown}" in result.stderr
    assert "Traceback" not in result.output


def test_nothing_after_a_double_dash_moves(store: str) -> None:
    result = invoke("--store", store, "db", "show", "1", "--", "--json")
    assert result.exit_code == ExitCode.USAGE
    assert "unexpected extra argument" in result.output


def test_a_global_option_without_its_value_is_reported_as_such() -> None:
    result = invoke("db", "show", "1", "--store")
    assert result.exit_code == ExitCode.USAGE
    assert "Option '--store' requires an argument" in result.output
