"""Messages that say the true thing (issue 27, 4), through the real console script at
COLUMNS=80 on the demo store: a path refused locally is no server's, the hint for a
server URL typed after the verb names that verb, two locations given say which, a
second cancel says the action has ended and how, a reset refused while an export runs
does not suggest retrying, an import's file is not "the export location", and --user
without --url warns that the command runs locally."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.server_process import bdbexport_command
from tests.support.terminal import demo_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_store(tmp_path_factory.mktemp("messages"))


def run(store: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bdbexport_command(), "--store", store, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        timeout=60,
        check=False,
    )


def test_a_path_refused_locally_names_no_server(store: str) -> None:
    refused = run(store, "export", "start", "1", "--path", "/etc")
    assert refused.returncode == 2
    assert "server" not in refused.stderr
    assert "locally, the roots are the store's exports folder" in refused.stderr
    assert "bdbexport --export-root DIR export start" in refused.stderr
    imported = run(store, "import", "start", "2", "--path", "/etc/hostname")
    assert imported.returncode == 2
    assert "The file to import is not inside an export root" in imported.stderr
    assert "export location" not in imported.stderr
    assert "bdbexport --export-root DIR import start" in imported.stderr


@pytest.mark.parametrize(
    ("verb", "extra"),
    [(("export", "start"), ()), (("import", "start"), ()), (("backup", "now"), ())],
)
def test_a_server_url_after_the_verb_names_that_verb(
    store: str, verb: tuple[str, str], extra: tuple[str, ...]
) -> None:
    slipped = run(store, *verb, "1", "--url", "https://cluster:9443", *extra)
    assert slipped.returncode == 2
    assert f"bdbexport --url SERVER {' '.join(verb)} UID" in slipped.stderr


def test_two_locations_say_which_and_hint_at_the_server_url(store: str) -> None:
    both = run(store, "export", "start", "1", "--path", "/tmp/x", "--url", "https://c:9443")
    assert both.returncode == 2
    assert "(got --path and --url)" in both.stderr
    assert "bdbexport --url SERVER export start UID" in both.stderr


def test_a_second_cancel_says_the_action_has_ended_and_how(tmp_path: Path) -> None:
    own = demo_store(tmp_path)  # this test cancels the demo's export: its own store
    assert run(own, "action", "cancel", "demo-export-4").returncode == 0
    again = run(own, "action", "cancel", "demo-export-4")
    assert again.returncode == 1
    assert "while it is failed" not in again.stderr
    assert "Action demo-export-4 has already ended: cancelled" in again.stderr
    assert "bdbexport action show demo-export-4" in again.stderr


def test_a_reset_refused_while_exporting_does_not_suggest_retrying(store: str) -> None:
    refused = run(store, "export", "reset", "4")
    assert refused.returncode == 6
    assert "--retry-busy" not in refused.stderr
    assert "bdbexport action cancel" in refused.stderr


def test_user_without_url_warns_that_it_runs_locally(store: str) -> None:
    listed = run(store, "--user", "admin@example.com", "db", "list")
    assert listed.returncode == 0
    assert "warning: --user admin@example.com is for a server (--url)" in listed.stderr
    assert "runs locally" in listed.stderr
