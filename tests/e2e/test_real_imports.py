"""Real imports through `bdbexport serve`: a live redis-server holding every data type
is exported by the server, the file imported into a second, empty redis-server by the
same server, and every key, value, type and expiry compared."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.e2e.test_serve import ADMIN
from tests.support.datasets import DATABASES, assert_same_content, content_of, write_every_type
from tests.support.passwords import with_cheap_hashes
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def source(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "source").start()
    yield server
    server.stop()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


def bdb_on(uid: int, port: int) -> dict[str, Any]:
    return {"uid": uid, "name": f"db{uid}", "endpoints": [{"addr": ["127.0.0.1"], "port": port}]}


@pytest.fixture
def server(tmp_path: Path, source: RedisServer, target: RedisServer) -> Iterator[ServerProcess]:
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [bdb_on(1, source.port), bdb_on(2, target.port)],
    }
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(with_cheap_hashes(document)))
    process = ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=["--bootstrap", str(bootstrap)],
        workdir=tmp_path,
    )
    process.start()
    yield process
    process.stop()


def wait_until_done(
    server: ServerProcess, uid: int, kind: str, timeout: float = 120
) -> dict[str, Any]:
    """The bdb once its `kind` (export, import) has ended; its progress never went back."""
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while time.monotonic() < deadline:
        bdb: dict[str, Any] = httpx.get(f"{server.url}/v1/bdbs/{uid}", auth=ADMIN).json()
        seen.append(bdb[f"{kind}_progress"])
        if bdb[f"{kind}_status"] in {"succeeded", "failed"}:
            assert seen == sorted(seen), seen
            return bdb
        time.sleep(0.05)
    raise AssertionError(f"the {kind} of bdb {uid} did not end; progress {seen}")


def test_an_export_imported_through_serve_arrives_whole(
    server: ServerProcess, source: RedisServer, target: RedisServer, tmp_path: Path
) -> None:
    for db in DATABASES:
        write_every_type(source.port, db)
    expected = content_of(source.port)
    exports = tmp_path / "exports"

    started = httpx.post(
        f"{server.url}/v1/bdbs/1/actions/export",
        json={"export_location": {"type": "mount_point", "path": str(exports)}},
        auth=ADMIN,
    )
    assert started.status_code == 200, started.text
    assert wait_until_done(server, 1, "export")["export_status"] == "succeeded"
    (rdb,) = exports.glob("*.rdb")

    imported = httpx.post(
        f"{server.url}/v1/bdbs/2/actions/import",
        json={"dataset_import_sources": [{"type": "mount_point", "path": str(rdb)}]},
        auth=ADMIN,
    )
    assert imported.status_code == 200, imported.text
    action_uid = imported.json()["action_uid"]
    bdb = wait_until_done(server, 2, "import")
    assert bdb["import_status"] == "succeeded", bdb
    assert bdb["import_progress"] == 100

    assert_same_content(expected, content_of(target.port))
    action = httpx.get(f"{server.url}/v1/actions/{action_uid}", auth=ADMIN)
    assert action.status_code == 200, action.text
    assert action.json()["status"] == "completed"


def test_an_import_of_a_file_that_is_not_an_rdb_fails_as_file_corrupted(
    server: ServerProcess, target: RedisServer, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir(exist_ok=True)
    notes = exports / "notes.rdb"
    notes.write_text("not a snapshot\n")
    imported = httpx.post(
        f"{server.url}/v1/bdbs/2/actions/import",
        json={"import_location": str(notes), "flush": True},
        auth=ADMIN,
    )
    assert imported.status_code == 200, imported.text
    bdb = wait_until_done(server, 2, "import")
    assert bdb["import_status"] == "failed"
    assert bdb["import_failure_reason"] == "file-corrupted"
    assert "not an RDB file" in bdb["import_failure_detail"]


def test_a_cancelled_import_leaves_the_target_exactly_as_before(
    server: ServerProcess, source: RedisServer, target: RedisServer, tmp_path: Path
) -> None:
    with redis.Redis(port=source.port) as client:
        for start in range(0, 300_000, 10_000):
            client.mset({f"bulk:{i}": f"value-{i}" for i in range(start, start + 10_000)})
        client.save()
    exports = tmp_path / "exports"
    exports.mkdir(exist_ok=True)
    rdb = exports / "bulk.rdb"
    shutil.copyfile(tmp_path / "source" / "dump.rdb", rdb)
    with redis.Redis(port=target.port) as client:
        client.mset({"bulk:1": "the target's own", "mine": "kept"})
        client.set("expiring", "mine too", px=900_000)
    before = content_of(target.port)

    imported = httpx.post(
        f"{server.url}/v1/bdbs/2/actions/import",
        json={"import_location": str(rdb), "flush": True},
        auth=ADMIN,
    )
    assert imported.status_code == 200, imported.text
    action_uid = imported.json()["action_uid"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{server.url}/v1/bdbs/2", auth=ADMIN).json()["import_progress"] < 25:
        assert time.monotonic() < deadline, "the import never reached the copy phase"
        time.sleep(0.02)
    assert with_target_changed(target.port, before)  # keys are being written
    cancelled = httpx.delete(f"{server.url}/v1/actions/{action_uid}", auth=ADMIN)
    assert cancelled.status_code == 200, cancelled.text

    bdb = wait_until_done(server, 2, "import")
    assert bdb["import_status"] == "failed"
    deadline = time.monotonic() + 60
    while httpx.get(f"{server.url}/v1/actions/{action_uid}", auth=ADMIN).json()["status"] != (
        "cancelled"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    deadline = time.monotonic() + 60
    while content_of(target.port) != before:  # the worker undoes its writes after the cancel
        assert time.monotonic() < deadline, "the target was not put back"
        time.sleep(0.2)
    assert_same_content(before, content_of(target.port))


def with_target_changed(port: int, before: dict[Any, Any]) -> bool:
    with redis.Redis(port=port) as client:
        return int(client.dbsize()) != len(before) or client.get("bulk:1") != b"the target's own"


def test_a_file_outside_the_export_roots_is_never_read(
    server: ServerProcess, source: RedisServer, target: RedisServer, tmp_path: Path
) -> None:
    with redis.Redis(port=source.port) as client:
        client.set("secret", "from another database")
        client.save()
    outside = tmp_path / "source" / "dump.rdb"  # a real RDB, but not under exports/
    imported = httpx.post(
        f"{server.url}/v1/bdbs/2/actions/import",
        json={"dataset_import_sources": [{"type": "mount_point", "path": str(outside)}]},
        auth=ADMIN,
    )
    # Refused at the start, as an export to that path is (it was 200 and then a failed
    # import, `no-permission`, before the import start made the exports' check).
    assert imported.status_code == 400, imported.text
    assert imported.json()["error_code"] == "export_path_not_allowed"
    assert str(outside) not in imported.json()["description"]
    bdb = httpx.get(f"{server.url}/v1/bdbs/2", auth=ADMIN).json()
    assert bdb.get("import_status", "idle") != "importing"
    with redis.Redis(port=target.port) as client:
        assert client.dbsize() == 0
