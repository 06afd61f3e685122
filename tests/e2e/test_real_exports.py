"""Real exports through `bdbexport serve`: the bytes of a live Redis, proven by loading
them into a fresh redis-server; every failure reason from a real cause; notifications."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from aiosmtpd.controller import Controller
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from tests.e2e.test_serve import ADMIN
from tests.support.passwords import with_cheap_hashes
from tests.support.redis_server import RedisServer, redis_binary
from tests.support.server_process import ServerProcess, free_port

pytestmark = pytest.mark.slow
SOURCE_PASSWORD = "source-password"


class SourceRedis(RedisServer):
    """The database to export: password-protected, replicating without delay."""

    def __init__(self, directory: Path, *, sync_delay: int = 0) -> None:
        super().__init__(directory)
        self.sync_delay = sync_delay

    def start(self) -> SourceRedis:
        super().start()
        client = self.client(password=None)
        client.config_set("repl-diskless-sync-delay", self.sync_delay)
        client.config_set("requirepass", SOURCE_PASSWORD)
        client.close()
        return self

    def client(self, password: str | None = SOURCE_PASSWORD) -> redis.Redis:
        return redis.Redis(port=self.port, password=password, decode_responses=False)


def write_dataset(client: redis.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(3000):
        pipe.set(f"string:{i}", f"value-{i}-" + "x" * (i % 200))
    for i in range(300):
        pipe.hset(f"hash:{i}", mapping={f"field{j}": f"{i}.{j}" for j in range(10)})
        pipe.rpush(f"list:{i}", *[f"item{j}" for j in range(20)])
        pipe.sadd(f"set:{i}", *[f"member{j}" for j in range(15)])
        pipe.zadd(f"zset:{i}", {f"m{j}": j * 1.5 for j in range(15)})
    for i, size in enumerate((1_000_000, 2_500_000, 4_000_000)):
        pipe.set(f"large:{i}", bytes((k * 7 + i) % 256 for k in range(size)))
    pipe.execute()


def snapshot_of(client: redis.Redis) -> dict[bytes, Any]:
    content: dict[bytes, Any] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            content[key] = client.get(key)
        elif kind == b"hash":
            content[key] = client.hgetall(key)
        elif kind == b"list":
            content[key] = client.lrange(key, 0, -1)
        elif kind == b"set":
            content[key] = client.smembers(key)
        elif kind == b"zset":
            content[key] = client.zrange(key, 0, -1, withscores=True)
        else:
            raise AssertionError(f"unexpected type {kind!r}")
    return content


def loaded(rdb: Path, tmp_path: Path) -> dict[bytes, Any]:
    """Start a fresh redis-server on the produced file and read everything back."""
    port = free_port()
    process = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            str(port),
            "--dir",
            str(rdb.parent),
            "--dbfilename",
            rdb.name,
            "--appendonly",
            "no",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        return snapshot_of(client)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[SourceRedis]:
    server = SourceRedis(tmp_path / "source").start()
    yield server
    server.stop()


def bdb_on(source_port: int, uid: int = 1, password: str = SOURCE_PASSWORD) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": f"orders/{uid}",
        "endpoints": [{"addr": ["127.0.0.1"], "port": source_port}],
        "authentication_redis_pass": password,
    }


def serve(tmp_path: Path, bdbs: list[dict[str, Any]], *extra: str) -> ServerProcess:
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": bdbs,
    }
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(with_cheap_hashes(document)))
    args = ["--bootstrap", str(path), *extra]
    return ServerProcess(f"sqlite://{tmp_path / 'store.sqlite3'}", args=args, workdir=tmp_path)


def export(server: ServerProcess, uid: int, location: Any, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/bdbs/{uid}/actions/export",
        json={"export_location": location, **body},
        auth=ADMIN,
    )


def wait_end(
    server: ServerProcess, uid: int, timeout: float = 60
) -> tuple[dict[str, Any], list[int]]:
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bdb = httpx.get(f"{server.url}/v1/bdbs/{uid}", auth=ADMIN).json()
        seen.append(bdb["export_progress"])
        if bdb["export_status"] != "exporting":
            return bdb, seen
        time.sleep(0.02)
    raise AssertionError(f"export of {uid} did not end; progress {seen}")


def reset_clears(server: ServerProcess, uid: int) -> None:
    reset = httpx.put(f"{server.url}/v1/bdbs/{uid}/actions/export_reset_status", auth=ADMIN)
    assert reset.status_code == 200
    assert reset.json()["export_status"] == "idle"
    assert reset.json()["export_failure_reason"] is None


def test_a_mount_point_export_is_the_database_byte_for_byte(
    tmp_path: Path, source: SourceRedis
) -> None:
    client = source.client()
    write_dataset(client)
    expected = snapshot_of(client)
    target = tmp_path / "exports"
    target.mkdir()
    with serve(tmp_path, [bdb_on(source.port)]).start() as server:
        started = export(server, 1, {"type": "mount_point", "path": str(target)})
        assert started.status_code == 200, started.text
        bdb, progress = wait_end(server, 1)
        assert bdb["export_status"] == "succeeded", bdb
        assert progress == sorted(progress)
        assert progress[-1] == 100
        assert bdb["last_export_time"] is not None
        (rdb,) = target.iterdir()
        assert rdb.name.startswith("orders_1-")
        assert rdb.name.endswith(".rdb")
        assert loaded(rdb, tmp_path) == expected
        reset_clears(server, 1)


def test_an_ftp_export_is_the_database_byte_for_byte(tmp_path: Path, source: SourceRedis) -> None:
    client = source.client()
    write_dataset(client)
    expected = snapshot_of(client)
    ftp = ftp_server(tmp_path)
    egress = ("--allow-egress", "127.0.0.1")  # the test's FTP server is on loopback
    with ftp as (port, root), serve(tmp_path, [bdb_on(source.port)], *egress).start() as server:
        url = f"ftp://backup:ftp-password@127.0.0.1:{port}/dumps/"
        assert export(server, 1, url).status_code == 200  # the bare-URL shorthand
        bdb, _ = wait_end(server, 1)
        assert bdb["export_status"] == "succeeded", bdb
        (rdb,) = (root / "dumps").iterdir()
        assert loaded(rdb, tmp_path) == expected
        reset_clears(server, 1)


class ftp_server:  # noqa: N801 - a context manager read as a phrase
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "ftp"
        (self.root / "dumps").mkdir(parents=True)
        authorizer = DummyAuthorizer()
        authorizer.add_user("backup", "ftp-password", str(self.root), perm="elradfmwMT")
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
        self.port = free_port()
        self.server = ThreadedFTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"timeout": 0.1}, daemon=True
        )

    def __enter__(self) -> tuple[int, Path]:
        self.thread.start()
        return self.port, self.root

    def __exit__(self, *exc: object) -> None:
        self.server.close_all()


def unwritable_directory(root: Path) -> Iterator[Path]:
    """A directory inside the export root the server cannot write in, even as root:
    an immutable one (`chattr +i`)."""
    locked = root / "locked"
    locked.mkdir()
    if (
        subprocess.run(["chattr", "+i", str(locked)], capture_output=True, check=False).returncode
        != 0
    ):
        pytest.skip("platform lacks chattr +i (an immutable directory)")
    try:
        yield locked
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=False)


def test_every_mount_point_failure_reason_comes_from_a_real_cause(
    tmp_path: Path, source: SourceRedis
) -> None:
    dead_port = free_port()
    bdbs = [
        bdb_on(source.port, 1),
        bdb_on(source.port, 2),
        bdb_on(dead_port, 3),
        bdb_on(source.port, 4, password="wrong"),
        {"uid": 5, "name": "no-endpoint"},
    ]
    good = tmp_path / "exports" / "good"
    good.mkdir(parents=True)
    with serve(tmp_path, bdbs).start() as server:
        cases = [(1, str(tmp_path / "exports" / "missing"), "wrong-file-path")]
        for locked in unwritable_directory(tmp_path / "exports"):
            cases.append((2, str(locked), "no-permission"))
            cases += [
                (3, str(good), "general-error"),
                (4, str(good), "general-error"),
                (5, str(good), "general-error"),
            ]
            for uid, path, reason in cases:
                assert export(server, uid, {"type": "mount_point", "path": path}).status_code == 200
                bdb, _ = wait_end(server, uid)
                assert (bdb["export_status"], bdb["export_failure_reason"]) == ("failed", reason)
                reset_clears(server, uid)
    assert list(good.iterdir()) == []
    audit = server.stderr()
    assert "no data endpoint" in audit
    assert "source refused the credentials" in audit


def test_every_ftp_failure_reason_comes_from_a_real_cause(
    tmp_path: Path, source: SourceRedis
) -> None:
    with (
        ftp_server(tmp_path) as (port, root),
        serve(tmp_path, [bdb_on(source.port)], "--allow-egress", "127.0.0.1").start() as server,
    ):
        cases = [
            (f"ftp://backup:not-the-password@127.0.0.1:{port}/dumps/", "no-permission"),
            (f"ftp://backup:ftp-password@127.0.0.1:{port}/no/such/dir/", "wrong-file-path"),
            (f"ftp://backup:ftp-password@127.0.0.1:{free_port()}/dumps/", "general-error"),
        ]
        for url, reason in cases:
            assert export(server, 1, {"type": "url", "url": url}).status_code == 200
            bdb, _ = wait_end(server, 1)
            assert (bdb["export_status"], bdb["export_failure_reason"]) == ("failed", reason)
            reset_clears(server, 1)
        assert list((root / "dumps").iterdir()) == []


def test_killing_the_source_mid_export_fails_it_and_leaves_the_directory_clean(
    tmp_path: Path,
) -> None:
    slow = SourceRedis(tmp_path / "slow", sync_delay=5).start()  # the snapshot waits 5 s
    write_dataset(slow.client())
    target = tmp_path / "exports"
    target.mkdir()
    try:
        with serve(tmp_path, [bdb_on(slow.port)]).start() as server:
            assert (
                export(server, 1, {"type": "mount_point", "path": str(target)}).status_code == 200
            )
            deadline = time.monotonic() + 30  # waited for, not slept: ends only a hang
            while not any(p.name.endswith(".partial") for p in target.iterdir()):  # mid-export
                assert time.monotonic() < deadline, list(target.iterdir())
                time.sleep(0.05)
            slow.kill()
            bdb, _ = wait_end(server, 1)
            assert (bdb["export_status"], bdb["export_failure_reason"]) == (
                "failed",
                "general-error",
            )
            assert list(target.iterdir()) == []
    finally:
        slow.stop()


def test_unsupported_location_types_are_refused_at_start(
    tmp_path: Path, source: SourceRedis
) -> None:
    with serve(tmp_path, [bdb_on(source.port)]).start() as server:
        gs = {
            "type": "gs",
            "bucket_name": "backups",
            "client_id": "1",
            "client_email": "exporter@example.com",
            "private_key_id": "k1",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END PRIVATE KEY-----\n",
        }
        refused = export(server, 1, gs)
        assert refused.status_code == 400
        assert refused.json()["error_code"] == "unsupported_location_type"
        assert "abs, mount_point, s3, sftp, url" in refused.json()["description"]
        assert httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).json()["export_status"] == "idle"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted"


def test_email_notification_is_sent_on_completion_and_on_failure(
    tmp_path: Path, source: SourceRedis
) -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    target = tmp_path / "exports"
    target.mkdir()
    try:
        extra = [
            "--smtp-url",
            f"smtp://127.0.0.1:{port}",
            "--notify-to",
            "ops@example.com",
            "--notify-from",
            "bdbexport@example.com",
        ]
        with serve(tmp_path, [bdb_on(source.port)], *extra).start() as server:
            location = {"type": "mount_point", "path": str(target)}
            assert export(server, 1, location, email_notification=True).status_code == 200
            wait_end(server, 1)
            missing = {"type": "mount_point", "path": str(target / "missing")}
            assert export(server, 1, missing, email_notification=True).status_code == 200
            wait_end(server, 1)
            deadline = time.monotonic() + 10
            while len(inbox.messages) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        controller.stop()
    subjects = [m.content.decode() for m in inbox.messages]
    assert "Export of database 1 (orders/1) succeeded" in subjects[0]
    assert "failed (wrong-file-path)" in subjects[1]
    assert inbox.messages[0].rcpt_tos == ["ops@example.com"]
    assert '"event":"ExportNotificationSent"' in server.stderr()


def test_without_smtp_the_flag_is_accepted_and_the_audit_log_says_so(
    tmp_path: Path, source: SourceRedis
) -> None:
    target = tmp_path / "exports"
    target.mkdir()
    with serve(tmp_path, [bdb_on(source.port)]).start() as server:
        location = {"type": "mount_point", "path": str(target)}
        assert export(server, 1, location, email_notification=True).status_code == 200
        wait_end(server, 1)
        deadline = time.monotonic() + 5
        while "no notifier is configured" not in server.stderr():
            assert time.monotonic() < deadline
            time.sleep(0.05)
