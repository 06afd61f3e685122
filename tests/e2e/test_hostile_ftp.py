"""A real `bdbexport serve` against hostile FTP servers, for exports and imports alike:
an endless multi-line reply, a banner trickled byte by byte. Each case the review found
open (docs/exports.md, docs/imports.md): the reply was bounded per line, not as a
whole; imports had no bound at all; a cancelled action kept its FTP socket (and an
import its work directory); SIGTERM did not end the server while one was held. Every
wait here is bounded."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_real_exports import SourceRedis, bdb_on
from tests.e2e.test_serve import ADMIN
from tests.support.passwords import with_cheap_hashes
from tests.support.redis_server import RedisServer
from tests.support.scripted_ftp import ScriptedFtpServer, endless_multiline, flood, trickle
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow

EXPORTING, IMPORTING = 1, 2
GRACE = 1.0
"""The server's shutdown grace for running actions: short, the default's length is not
under test here, only that a stalled FTP server cannot hold a stop past it."""


@pytest.fixture
def source(tmp_path: Path) -> Iterator[SourceRedis]:
    server = SourceRedis(tmp_path / "source").start()
    yield server
    server.stop()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


def serve(tmp_path: Path, source: SourceRedis, target: RedisServer, *extra: str) -> ServerProcess:
    """Bdb 1 exports from `source`, bdb 2 imports into `target`; FTP on loopback is
    allowed; work directories go to `tmp_path/tmp`, where the test can see them."""
    importing = {
        "uid": IMPORTING,
        "name": "target",
        "endpoints": [{"addr": ["127.0.0.1"], "port": target.port}],
    }
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [bdb_on(source.port, EXPORTING), importing],
    }
    (tmp_path / "bootstrap.json").write_text(json.dumps(with_cheap_hashes(document)))
    (tmp_path / "tmp").mkdir(exist_ok=True)
    (tmp_path / "exports").mkdir(exist_ok=True)
    return ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=[
            *("--bootstrap", str(tmp_path / "bootstrap.json")),
            *("--allow-egress", "127.0.0.1"),
            *("--shutdown-grace", str(GRACE)),
            *extra,
        ],
        workdir=tmp_path,
        env={"TMPDIR": str(tmp_path / "tmp")},
    )


def start(server: ServerProcess, kind: str, url: str) -> httpx.Response:
    if kind == "export":
        return httpx.post(
            f"{server.url}/v1/bdbs/{EXPORTING}/actions/export",
            json={"export_location": {"type": "url", "url": url}},
            auth=ADMIN,
        )
    return httpx.post(
        f"{server.url}/v1/bdbs/{IMPORTING}/actions/import",
        json={"dataset_import_sources": [{"type": "url", "url": url}]},
        auth=ADMIN,
    )


def ended(server: ServerProcess, kind: str, within: float) -> dict[str, Any]:
    uid = EXPORTING if kind == "export" else IMPORTING
    deadline = time.monotonic() + within
    while True:
        bdb: dict[str, Any] = httpx.get(f"{server.url}/v1/bdbs/{uid}", auth=ADMIN).json()
        if bdb[f"{kind}_status"] not in {"exporting", "importing", "initializing"}:
            return bdb
        assert time.monotonic() < deadline, f"the {kind} still runs after {within}s: {bdb}"
        time.sleep(0.1)


def work_directories(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "tmp").glob("bdbexport-import-*"))


@pytest.mark.parametrize(
    ("kind", "reason"), [("export", "general-error"), ("import", "download-error")]
)
def test_a_stalling_server_fails_the_action_within_the_timeout_as_a_whole(
    tmp_path: Path, source: SourceRedis, target: RedisServer, kind: str, reason: str
) -> None:
    server = serve(tmp_path, source, target, "--export-timeout", "3")
    for behaviour in (endless_multiline(0.5), trickle(0.5)):
        with ScriptedFtpServer(behaviour) as ftp, server.start():
            assert start(server, kind, ftp.url("/dump.rdb")).status_code == 200
            bdb = ended(server, kind, within=30)
            assert ftp.wait_for(lambda: ftp.open == 0, 5)
        server.stop()
        assert (bdb[f"{kind}_status"], bdb[f"{kind}_failure_reason"]) == ("failed", reason)
        assert "within 3s" in bdb[f"{kind}_failure_detail"]
    assert work_directories(tmp_path) == []


def peak_memory(server: ServerProcess) -> int:
    """The server process's peak resident set, in bytes (`VmHWM`)."""
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) * 1024


@pytest.mark.parametrize(
    ("kind", "reason"), [("export", "general-error"), ("import", "download-error")]
)
def test_an_endless_multiline_reply_sent_at_full_speed_is_cut_off_at_the_reply_cap(
    tmp_path: Path, source: SourceRedis, target: RedisServer, kind: str, reason: str
) -> None:
    """Issue 22, finding 3: ftplib joins a multi-line reply's lines into one growing
    string, so a server streaming them for the whole timeout cost gigabytes."""
    server = serve(tmp_path, source, target, "--export-timeout", "30")
    with ScriptedFtpServer(flood()) as ftp, server.start():
        assert start(server, kind, ftp.url("/dump.rdb")).status_code == 200
        bdb = ended(server, kind, within=60)
        assert ftp.wait_for(lambda: ftp.open == 0, 5)
        peak = peak_memory(server)
    assert (bdb[f"{kind}_status"], bdb[f"{kind}_failure_reason"]) == ("failed", reason)
    assert "reply ran past 200 lines or 64 KiB" in bdb[f"{kind}_failure_detail"], bdb
    assert peak < 400 * 1024 * 1024, f"the server peaked at {peak // 1024 // 1024} MiB"


@pytest.mark.parametrize("kind", ["export", "import"])
def test_a_cancel_and_a_shutdown_let_go_of_the_server_promptly(
    tmp_path: Path, source: SourceRedis, target: RedisServer, kind: str
) -> None:
    """A long timeout: only the cancel, then SIGTERM, can end these waits."""
    server = serve(tmp_path, source, target, "--export-timeout", "600")
    with ScriptedFtpServer(endless_multiline(0.2)) as ftp, server.start():
        started = start(server, kind, ftp.url("/dump.rdb"))
        assert started.status_code == 200, started.text
        assert ftp.wait_for(lambda: ftp.open == 1, 30)
        action = started.json()["action_uid"]
        assert httpx.delete(f"{server.url}/v1/actions/{action}", auth=ADMIN).status_code == 200
        assert ftp.wait_for(lambda: ftp.open == 0, 10), "the cancelled action kept its socket"
        ended(server, kind, within=10)
        deadline = time.monotonic() + 10
        while work_directories(tmp_path):
            assert time.monotonic() < deadline, "the cancelled import left its work directory"
            time.sleep(0.1)

        again = start(server, kind, ftp.url("/dump.rdb"))
        assert again.status_code == 200, again.text
        assert ftp.wait_for(lambda: ftp.open == 1, 30)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(GRACE + 10)
        except subprocess.TimeoutExpired:
            pytest.fail("SIGTERM did not end the server while an FTP server stalled")
        assert ftp.wait_for(lambda: ftp.open == 0, 5)
    assert work_directories(tmp_path) == []
