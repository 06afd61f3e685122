"""One line for an accepted action (issue 27, 3), through the real console script at
COLUMNS=80: a remote start without --watch says what started and how to follow it, in
one line, and gives the object with `-o json`; `db add` likewise."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server_process import ServerProcess, bdbexport_command

pytestmark = pytest.mark.slow
ADMIN = ("ops@example.com", "ops-password")


def bdbexport(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bdbexport_command(), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", "BDBEXPORT_PASSWORD": ADMIN[1]},
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [{"uid": 1, "name": "orders"}, {"uid": 2, "name": "sessions"}],
    }
    (tmp_path / "bootstrap.json").write_text(json.dumps(document))
    args = ["--bootstrap", str(tmp_path / "bootstrap.json"), "--exporter", "simulated"]
    args += ["--simulated-duration", "30"]
    store = f"sqlite://{tmp_path / 's.sqlite3'}"
    with ServerProcess(store, args=args, workdir=tmp_path) as running:
        yield running.start()


def test_a_remote_start_prints_one_line_and_the_object_with_json(
    server: ServerProcess, tmp_path: Path
) -> None:
    remote = ("--url", server.url, "--user", ADMIN[0])
    started = bdbexport(*remote, "export", "start", "1", "--path", "backups", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    (line,) = started.stdout.splitlines()
    assert line.startswith("export of database 1 (orders) started (action ")
    action = line.split("(action ")[1].split(")")[0]
    assert line.endswith(f"; follow it: bdbexport action wait {action}")
    as_json = bdbexport(
        *remote, "backup", "now", "2", "--path", "backups", "-o", "json", cwd=tmp_path
    )
    assert as_json.returncode == 0, as_json.stderr
    bdb = json.loads(as_json.stdout)
    assert bdb["uid"] == 2
    assert bdb["backup_status"] == "exporting"


def test_db_add_prints_one_line_and_the_object_with_json(
    server: ServerProcess, tmp_path: Path
) -> None:
    store = ("--store", f"sqlite://{tmp_path / 's.sqlite3'}")
    added = bdbexport(*store, "db", "add", "8", "blooms", "--endpoint", "[::1]:6380", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout == "database 8 (blooms) added; endpoint [::1]:6380\n"
    as_json = bdbexport(*store, "db", "add", "9", "carts", "-o", "json", cwd=tmp_path)
    assert json.loads(as_json.stdout)["name"] == "carts"
