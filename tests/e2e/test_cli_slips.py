"""The real CLI against a real server, on the slips a person makes: a throttled address
with `--retry-busy` (it waits the server's Retry-After, bounded by N), the server's `--url`
put after a verb that has its own `--url` (a hint says so), and `-o=json`."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.passwords import with_cheap_hashes
from tests.support.server_process import ServerProcess, bdbexport_command

pytestmark = pytest.mark.slow
ADMIN = ("ops@example.com", "ops-password")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [{"uid": 2, "name": "sessions"}],
    }
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(with_cheap_hashes(document)))
    args = ["--bootstrap", str(bootstrap), "--exporter", "simulated"]
    # Two failed sign-ins from one address, and it waits out the rest of an 8 s window:
    # the failures are sent over HTTP, so only one CLI start-up has to fall inside it
    # (a loaded machine took seconds for each).
    args += ["--login-throttle-threshold", "2", "--login-throttle-window", "8"]
    with ServerProcess(f"sqlite://{tmp_path / 's.sqlite3'}", args=args, workdir=tmp_path) as s:
        yield s.start()


def bdbexport(
    *args: str, password: str = ADMIN[1], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bdbexport_command(), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "BDBEXPORT_PASSWORD": password},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_retry_busy_waits_out_a_throttled_address_and_then_succeeds(
    server: ServerProcess,
) -> None:
    remote = ("--url", server.url, "--user", ADMIN[0])
    for attempt in range(2):  # two different passwords: a repeated one is answered from a cache
        wrong = httpx.get(f"{server.url}/v1/bdbs/2", auth=(ADMIN[0], f"wrong-{attempt}"))
        assert wrong.status_code == 401, wrong.text
    retried = bdbexport(*remote, "--retry-busy", "3", "export", "reset", "2")
    assert "too_many_attempts: retrying in" in retried.stderr, retried.stderr
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "export status reset to idle" in retried.stdout


def test_the_servers_url_after_the_verb_gets_a_hint(server: ServerProcess, tmp_path: Path) -> None:
    slip = bdbexport(
        "--store", f"sqlite://{tmp_path / 'none.sqlite3'}",
        "backup", "now", "2", "--url", server.url, "--user", ADMIN[0],
        cwd=tmp_path,
    )  # fmt: skip
    assert slip.returncode == 2, slip.stderr
    assert "error: invalid_schema: invalid location" in slip.stderr
    assert "hint: --url after the verb is the location's URL" in slip.stderr
    assert "put the server's --url before the verb" in slip.stderr


def test_a_short_option_with_an_equals_sign_works(server: ServerProcess) -> None:
    shown = bdbexport("--url", server.url, "--user", ADMIN[0], "db", "show", "2", "-o=json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["uid"] == 2
