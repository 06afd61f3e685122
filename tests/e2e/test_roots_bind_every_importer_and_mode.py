"""The export roots bind every way a file is touched: `serve --importer memory` cannot
be used to probe the server's file system (every path outside the roots fails the same
`no-permission`, naming nothing), and the local CLI refuses a location outside its roots
at the start, as a server does (exit 2, nothing recorded), while `--export-root DIR`
widens its roots."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bdbexport.composition.bootstrap_file import apply_bootstrap
from bdbexport.composition.demo_data import demo_document
from bdbexport.composition.stores import open_store
from tests.support.passwords import with_cheap_hashes
from tests.support.server_process import ServerProcess, bdbexport_command

pytestmark = pytest.mark.slow
MEMBER = ("member@example.com", "member-password")
DEADLINE = 20.0


def serving(tmp_path: Path, *args: str) -> ServerProcess:
    document = {
        "users": [{"email": MEMBER[0], "password": MEMBER[1], "role": "db_member"}],
        "bdbs": [{"uid": 3, "name": "catalog"}],
    }
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(with_cheap_hashes(document)))
    return ServerProcess(
        f"sqlite://{tmp_path / 's.sqlite3'}",
        args=["--bootstrap", str(bootstrap), "--importer", "memory", *args],
        workdir=tmp_path,
    )


def import_outcome(client: httpx.Client, path: str) -> dict[str, Any]:
    """The bdb once the import of `path` has ended (or the start's refusal)."""
    started = client.post("/v1/bdbs/3/actions/import", json={"import_location": path})
    if started.status_code != 200:
        return {"refused": started.status_code, **started.json()}
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        bdb: dict[str, Any] = client.get("/v1/bdbs/3").json()
        if bdb["import_status"] in {"failed", "succeeded"}:
            return bdb
        time.sleep(0.1)
    raise AssertionError(f"the import of {path} did not end in {DEADLINE} s")


@pytest.mark.parametrize("exporter", ["simulated", "rdb"])
def test_serve_importer_memory_gives_every_path_outside_the_roots_one_answer(
    tmp_path: Path, exporter: str
) -> None:
    """With either exporter the start refuses every path outside the roots (400, the
    same start-time checks for every adapter): a missing file, a directory and an
    unreadable file look the same."""
    with (
        serving(tmp_path, "--exporter", exporter).start() as server,
        httpx.Client(base_url=server.url, auth=MEMBER, timeout=10) as client,
    ):
        answers = []
        for probe in ("/etc/shadow", "/etc/nonexistent", "/root", "/etc/passwd"):
            outcome = import_outcome(client, probe)
            text = json.dumps(outcome)
            assert probe not in text
            assert "Errno" not in text
            if "refused" in outcome:
                answers.append((outcome["refused"], outcome["error_code"]))
            else:
                reason = (outcome["import_failure_reason"], outcome["import_failure_detail"])
                assert reason[0] == "no-permission"
                answers.append(reason)
                client.put("/v1/bdbs/3/actions/import_reset_status")
        assert answers == [(400, "export_path_not_allowed")] * 4, answers


def test_serve_importer_memory_still_reads_a_file_inside_the_roots(tmp_path: Path) -> None:
    inside = tmp_path / "exports"
    inside.mkdir()
    (inside / "dump.rdb").write_bytes(b"REDIS0011" + b"\x00" * 16)
    with (
        serving(tmp_path, "--exporter", "simulated", "--export-root", str(inside)).start() as s,
        httpx.Client(base_url=s.url, auth=MEMBER, timeout=10) as client,
    ):
        outcome = import_outcome(client, str(inside / "dump.rdb"))
        assert outcome["import_status"] == "succeeded", outcome


# --- the local CLI, as a real subprocess ---------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> dict[str, Any]:
    """A demo store, and the environment and working directory of a local CLI on it."""
    url = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    store = open_store(url)
    apply_bootstrap(demo_document()[0], store)
    store.close()
    work = tmp_path / "work"
    work.mkdir()
    return {"env": {**os.environ, "BDBEXPORT_STORE": url}, "cwd": work}


def bdbexport(local: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bdbexport_command(), *args],
        capture_output=True,
        text=True,
        env=local["env"],
        cwd=local["cwd"],
        timeout=60,
        check=False,
    )


def recorded(local: dict[str, Any], uid: str) -> tuple[Any, Any]:
    actions = bdbexport(local, "-o", "json", "action", "list", "--db", uid)
    bdb = bdbexport(local, "-o", "json", "db", "show", uid)
    return json.loads(actions.stdout), json.loads(bdb.stdout)


@pytest.mark.parametrize(
    "command",
    [
        ("export", "start", "1", "--path", "/etc"),
        ("backup", "now", "1", "--path", "/etc"),
        ("import", "start", "1", "--path", "/etc/passwd", "--importer", "memory"),
        ("import", "start", "1", "--path", "/etc/passwd"),
    ],
)
def test_a_local_start_outside_the_roots_exits_2_and_records_nothing(
    local: dict[str, Any], command: tuple[str, ...]
) -> None:
    result = bdbexport(local, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: export_path_not_allowed: ")
    assert "--export-root DIR" in result.stderr  # the hint names the local way
    assert "/etc" not in result.stderr
    actions, bdb = recorded(local, "1")
    assert actions == []
    kind = command[0] if command[0] != "backup" else "backup"
    assert bdb[f"{kind}_status"] in {"idle", None}


def test_export_root_widens_the_local_roots_and_the_working_directory_is_one(
    local: dict[str, Any], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Inside a root the start gets past the check: db 1 has no data endpoint (exit 9).
    widened = bdbexport(
        local, "export", "start", "1", "--path", str(elsewhere), "--export-root", str(elsewhere)
    )
    assert widened.returncode == 9, widened.stdout + widened.stderr
    assert "no data endpoint" in widened.stdout
    in_cwd = bdbexport(local, "export", "start", "1", "--path", str(local["cwd"]))
    assert in_cwd.returncode == 9, in_cwd.stdout + in_cwd.stderr
    (elsewhere / "dump.rdb").write_bytes(b"REDIS0011" + b"\x00" * 16)
    imported = bdbexport(
        local,
        "--export-root",
        str(elsewhere),
        "import",
        "start",
        "2",
        "--path",
        str(elsewhere / "dump.rdb"),
        "--importer",
        "memory",
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    remote = bdbexport(
        local,
        "--url",
        "http://127.0.0.1:1",
        "--user",
        "a@example.com",
        "--export-root",
        "/tmp",
        "db",
        "list",
    )
    assert remote.returncode == 2
    assert "--export-root is local-only" in remote.stderr


def test_the_simulated_exporter_is_judged_like_the_real_one(local: dict[str, Any]) -> None:
    """It writes nothing, yet a location outside the roots is refused at the start as
    for the real exporter (exit 2, nothing recorded), and one inside is accepted."""
    refused = bdbexport(
        local, "export", "start", "1", "--path", "/mnt/backups", "--exporter", "simulated"
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith("error: export_path_not_allowed: ")
    actions, bdb = recorded(local, "1")
    assert actions == []
    assert bdb["export_status"] == "idle"
    accepted = bdbexport(
        local, "export", "start", "1", "--path", "backups", "--exporter", "simulated"
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
