"""Real Redis Software clients against a real `bdbexport serve`: the `redis-enterprise`
Python bindings start an export and an import and poll `GET /v1/actions/{uid}` to
`completed` the way redisctl's `poll_action` does; the generated `redis-enterprise-python`
client (1.0.3) starts an import and resets a backup status; the `bdbexport` CLI follows,
lists and cancels actions remotely.

Most servers here run the simulated exporter and the in-memory importer (`--importer
memory`): the protocol the clients speak, not the data. One runs the real exporter and
importer between two live redis-servers, the bindings driving both (the full round trip
of every data type is proven in tests/e2e/test_real_imports.py)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_serve import ADMIN, BOOTSTRAP
from tests.support.datasets import assert_same_content, content_of, write_every_type
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess, bdbexport_command

pytestmark = pytest.mark.slow

redis_enterprise = pytest.importorskip("redis_enterprise")
swagger_client = pytest.importorskip("swagger_client")

TERMINAL = {"completed", "failed", "cancelled"}
POLL_DEADLINE = 30.0


@pytest.fixture
def rdb_file(tmp_path: Path) -> Path:
    path = tmp_path / "dump.rdb"
    path.write_bytes(b"REDIS0011" + b"\x00" * 64)
    return path


def serving(tmp_path: Path, export_seconds: float) -> ServerProcess:
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(BOOTSTRAP))
    args = [
        "--bootstrap",
        str(bootstrap),
        "--exporter",
        "simulated",
        "--simulated-duration",
        str(export_seconds),
        "--importer",
        "memory",
        # The in-memory importer reads only inside the export roots, as the real one.
        "--export-root",
        str(tmp_path),
    ]
    return ServerProcess(f"sqlite://{tmp_path / 's.sqlite3'}", args=args, workdir=tmp_path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with serving(tmp_path, 1.0) as started:
        yield started.start()


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """Exports and backups take 60 s: time enough to cancel one."""
    with serving(tmp_path, 60.0) as started:
        yield started.start()


def poll_action(client: Any, action_uid: str) -> tuple[dict[str, Any], list[str]]:
    """As redisctl's `poll_action`: GET the action until its status is terminal; the
    progress values seen on the way (strings, as the real server sends them)."""
    seen: list[str] = []
    deadline = time.monotonic() + POLL_DEADLINE
    while True:
        action = client.get_sync(f"/v1/actions/{action_uid}")
        assert isinstance(action["progress"], str)
        seen.append(action["progress"])
        if action["status"] in TERMINAL:
            return action, seen
        assert action["status"] in {"queued", "starting", "running"}
        assert time.monotonic() < deadline, f"action {action_uid} never ended: {action}"
        time.sleep(0.1)


def test_the_redis_enterprise_bindings_start_and_poll_an_export_and_an_import(
    server: ServerProcess, rdb_file: Path
) -> None:
    client = redis_enterprise.EnterpriseClient(server.url, ADMIN[0], ADMIN[1], insecure=True)
    started = client.post_sync(
        "/v1/bdbs/1/actions/export",
        {"export_location": {"type": "mount_point", "path": str(rdb_file.parent)}},
    )
    export, seen = poll_action(client, started["action_uid"])
    assert export["status"] == "completed"
    assert export["progress"] == "100"
    assert export["name"] == "export"
    assert export["object_name"] == "bdb:1"
    assert "end_time" in export
    assert seen == sorted(seen, key=int)  # never backwards

    imported = client.post_sync(
        "/v1/bdbs/2/actions/import", {"import_location": str(rdb_file), "flush": True}
    )
    action, _ = poll_action(client, imported["action_uid"])
    assert (action["status"], action["progress"], action["name"]) == ("completed", "100", "import")
    bdb = client.get_sync("/v1/bdbs/2")
    assert bdb["import_status"] == "succeeded"
    listed = client.get_sync("/v2/actions")
    assert [a["action_uid"] for a in listed] == [imported["action_uid"], started["action_uid"]]


@pytest.fixture
def live_pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, RedisServer, RedisServer]]:
    """A server with the real exporter and importer; bdb 1 on one live redis-server,
    bdb 2 on another, empty."""
    source = RedisServer(tmp_path / "source").start()
    target = RedisServer(tmp_path / "target").start()
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [
            {"uid": uid, "name": f"db{uid}", "endpoints": [{"addr": ["127.0.0.1"], "port": port}]}
            for uid, port in ((1, source.port), (2, target.port))
        ],
    }
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(document))
    store = f"sqlite://{tmp_path / 'store.sqlite3'}"
    try:
        with ServerProcess(store, args=["--bootstrap", str(bootstrap)], workdir=tmp_path) as s:
            yield s.start(), source, target
    finally:
        source.stop()
        target.stop()


def test_the_bindings_drive_a_real_export_and_a_real_import(
    live_pair: tuple[ServerProcess, RedisServer, RedisServer], tmp_path: Path
) -> None:
    server, source, target = live_pair
    write_every_type(source.port, 0)
    expected = content_of(source.port)
    client = redis_enterprise.EnterpriseClient(server.url, ADMIN[0], ADMIN[1], insecure=True)
    exports = tmp_path / "exports"  # the default export root: next to the store
    started = client.post_sync(
        "/v1/bdbs/1/actions/export",
        {"export_location": {"type": "mount_point", "path": str(exports)}},
    )
    export, _ = poll_action(client, started["action_uid"])
    assert export["status"] == "completed", export
    (rdb,) = exports.glob("*.rdb")
    imported = client.post_sync(
        "/v1/bdbs/2/actions/import", {"import_location": str(rdb), "flush": True}
    )
    action, seen = poll_action(client, imported["action_uid"])
    assert (action["status"], action["progress"]) == ("completed", "100"), action
    assert seen == sorted(seen, key=int)
    assert_same_content(expected, content_of(target.port))


def test_the_generated_client_imports_and_resets_a_backup_status(
    server: ServerProcess, rdb_file: Path
) -> None:
    configuration = swagger_client.Configuration()
    configuration.host = server.url
    configuration.username, configuration.password = ADMIN
    api = swagger_client.ApiClient(configuration)
    try:
        actions = swagger_client.ActionsApi(api)
        body = swagger_client.ActionsImportBody(
            dataset_import_sources=[{"type": "mount_point", "path": str(rdb_file)}]
        )
        actions.post_v1_bdbs_uid_actions_import(2, body=body)
        actions.put_v1_bdbs_uid_actions_backup_reset_status(1)
    finally:
        api.pool.close()
        api.pool.join()
    client = redis_enterprise.EnterpriseClient(server.url, ADMIN[0], ADMIN[1], insecure=True)
    (action,) = client.get_sync("/v1/actions/bdb/2")
    done, _ = poll_action(client, action["action_uid"])
    assert done["status"] == "completed"
    assert client.get_sync("/v1/bdbs/1")["backup_status"] == "idle"


def bdbexport(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BDBEXPORT_PASSWORD": ADMIN[1]}
    env.pop("BDBEXPORT_STORE", None)
    return subprocess.run(
        [*bdbexport_command(), "--url", url, "--user", ADMIN[0], *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_the_cli_follows_lists_and_cancels_actions_remotely(
    slow_server: ServerProcess, rdb_file: Path
) -> None:
    server = slow_server
    watched = bdbexport(server.url, "import", "start", "2", "--path", str(rdb_file), "--watch")
    assert watched.returncode == 0, watched.stderr
    assert "import of bdb:2 completed, 100%" in watched.stdout
    started = bdbexport(server.url, "-o", "json", "backup", "now", "1", "--path", "b")
    assert started.returncode == 0, started.stderr
    action_uid = json.loads(started.stdout)["action_uid"]
    cancelled = bdbexport(server.url, "action", "cancel", action_uid)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled" in cancelled.stdout
    waited = bdbexport(server.url, "action", "wait", action_uid, "--timeout", "10")
    assert waited.returncode == 9
    listed = json.loads(bdbexport(server.url, "--json", "action", "list").stdout)
    assert [a["status"] for a in listed] == ["cancelled", "completed"]
    status = bdbexport(server.url, "backup", "status", "1")
    assert "backup of database 1 failed: general-error: cancelled by ops@example.com" in (
        status.stdout
    )
    assert bdbexport(server.url, "backup", "reset", "1").returncode == 0
    assert bdbexport(server.url, "action", "show", "nope").returncode == 4
