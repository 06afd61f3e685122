"""Issue 22, finding 11: `/readyz` says ready only when the store can serve.

Against a real `bdbexport serve`: a SQLite store whose file is deleted, made immutable
(`chattr +i`) or whose disk fills (a small tmpfs), and a Redis store emptied by
`FLUSHALL` or at `maxmemory 1`, each answer `/readyz` with 503 `store_unavailable`
and the reason (naming no file, host or port), and 200 again once the cause is gone
(where it can go). On today's main `/readyz` read one row and said 200 in every case
while writes failed. The immutable and full-disk cases need root (`chattr`, `mount`),
as CI has.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow

ADMIN = ("ready-admin@example.com", "ready-admin-password")
BOOTSTRAP: dict[str, Any] = {
    "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
    "modules": [],
    "bdbs": [{"uid": 1, "name": "orders"}],
}


def serve(tmp_path: Path, store_url: str) -> ServerProcess:
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(BOOTSTRAP))
    args = ["--bootstrap", str(path), "--exporter", "simulated"]
    return ServerProcess(store_url, args=args, workdir=tmp_path)


def ready(client: httpx.Client) -> httpx.Response:
    return client.get("/readyz")


def assert_ready(client: httpx.Client) -> None:
    response = ready(client)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}


def assert_not_ready(client: httpx.Client, reason: str, *, secrets: tuple[str, ...]) -> None:
    response = ready(client)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error_code"] == "store_unavailable", body
    assert reason in body["description"], body
    assert response.headers.get("retry-after") == "1"
    for secret in secrets:
        assert secret not in body["description"], body


def assert_becomes_ready(client: httpx.Client, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while ready(client).status_code != 200:
        assert time.monotonic() < deadline, ready(client).text
        time.sleep(0.1)
    assert_ready(client)


def test_a_deleted_sqlite_store_is_not_ready(tmp_path: Path) -> None:
    database = tmp_path / "store.sqlite3"
    with (
        serve(tmp_path, f"sqlite://{database}").start() as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        assert_ready(client)
        for path in tmp_path.glob("store.sqlite3*"):
            path.unlink()
        assert_not_ready(client, "removed or replaced", secrets=(str(tmp_path), database.name))


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[Path]]:
    """Files made immutable by the test; made mutable again at teardown."""
    made: list[Path] = []
    yield made
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_an_immutable_sqlite_store_is_not_ready_until_it_is_writable_again(
    tmp_path: Path, immutable: list[Path]
) -> None:
    database = tmp_path / "store.sqlite3"
    with (
        serve(tmp_path, f"sqlite://{database}").start() as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        assert_ready(client)
        subprocess.run(["chattr", "+i", str(database)], check=True)
        immutable.append(database)
        assert_not_ready(client, "cannot be written", secrets=(str(tmp_path), database.name))
        subprocess.run(["chattr", "-i", str(database)], check=True)
        assert_becomes_ready(client)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of the test's own, unmounted at teardown."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """A file taking every free byte of `directory`'s file system."""
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1024 * 1024, 4096, 1):
            chunk = b"\0" * size
            try:
                while os.write(descriptor, chunk):
                    pass
            except OSError:
                continue
    finally:
        os.close(descriptor)
    return filler


def test_a_sqlite_store_on_a_full_disk_is_not_ready_until_there_is_room(
    tmp_path: Path, small_disk: Path
) -> None:
    database = small_disk / "store.sqlite3"
    with (
        serve(tmp_path, f"sqlite://{database}").start() as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        assert_ready(client)
        filler = fill(small_disk)
        assert_not_ready(client, "disk is full", secrets=(str(small_disk), database.name))
        filler.unlink()
        assert_becomes_ready(client)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def test_a_flushed_redis_store_is_not_ready(tmp_path: Path, store: RedisServer) -> None:
    control = redis.Redis(port=store.port)
    try:
        with (
            serve(tmp_path, f"{store.url}?prefix=ready:").start() as server,
            httpx.Client(base_url=server.url, timeout=10) as client,
        ):
            assert_ready(client)
            control.flushall()
            assert_not_ready(client, "data is gone", secrets=("127.0.0.1", str(store.port)))
    finally:
        control.close()


def test_a_redis_store_that_refuses_writes_is_not_ready_until_it_takes_them(
    tmp_path: Path, store: RedisServer
) -> None:
    control = redis.Redis(port=store.port)
    try:
        with (
            serve(tmp_path, f"{store.url}?prefix=ready:").start() as server,
            httpx.Client(base_url=server.url, timeout=10) as client,
        ):
            assert_ready(client)
            control.config_set("maxmemory-policy", "noeviction")
            control.config_set("maxmemory", 1)
            try:
                assert_not_ready(client, "refuses writes", secrets=("127.0.0.1", str(store.port)))
            finally:
                control.config_set("maxmemory", 0)
            assert_becomes_ready(client)
    finally:
        control.close()
