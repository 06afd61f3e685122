"""Several `bdbexport serve` replicas on one Redis, outages, crashes and dead workers."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bdbexport.adapters.sqlite import SqliteBdbRepository, SqliteDatabase
from bdbexport.composition.stores import open_store
from tests.e2e.test_serve import ADMIN, BOOTSTRAP, MOUNT
from tests.support.passwords import with_cheap_hashes
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess, bdbexport_command, free_port

pytestmark = pytest.mark.slow

MANY: dict[str, Any] = {
    "users": BOOTSTRAP["users"],
    "modules": BOOTSTRAP["modules"],
    "bdbs": [{"uid": uid, "name": f"db{uid}"} for uid in range(1, 401)],
}


def bootstrap(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(with_cheap_hashes(document)))
    return path


@pytest.fixture
def redis_aof(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", aof=True).start()
    yield server
    server.stop()


def test_two_replicas_on_one_redis_behave_as_one_service(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    url = f"{redis_server.url}?prefix=replicas{free_port()}:"
    args = [
        "--bootstrap",
        str(bootstrap(tmp_path, BOOTSTRAP)),
        "--exporter",
        "simulated",
        "--simulated-duration",
        "0.3",
    ]
    with (
        ServerProcess(url, args=args, workdir=tmp_path).start() as first,
        ServerProcess(url, args=args, workdir=tmp_path).start() as second,
    ):
        # A change through one is seen through the other; a token of one works on the other.
        assert httpx.put(
            f"{first.url}/v1/bdbs/2/actions/export_reset_status", auth=ADMIN
        ).is_success
        assert httpx.get(f"{second.url}/v1/bdbs/2", auth=ADMIN).json()["export_status"] == "idle"
        token = httpx.post(f"{first.url}/v1/users/authorize", auth=ADMIN).json()["access_token"]
        jwt = {"Authorization": f"JWT {token}"}
        assert httpx.get(f"{second.url}/v1/bdbs/1", headers=jwt).status_code == 200

        for _ in range(10):
            statuses = race_two_starts(first.url, second.url)
            assert sorted(statuses) == [200, 409], statuses
            deadline = time.monotonic() + 10
            while (
                httpx.get(f"{second.url}/v1/bdbs/1", auth=ADMIN).json()["export_status"]
                == "exporting"
            ):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            reset = httpx.put(f"{second.url}/v1/bdbs/1/actions/export_reset_status", auth=ADMIN)
            assert reset.json()["export_status"] == "idle"


def race_two_starts(first: str, second: str) -> list[int]:
    """POST the same export start to two replicas at the same moment."""
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def race(base: str) -> None:
        barrier.wait()
        response = httpx.post(f"{base}/v1/bdbs/1/actions/export", json=MOUNT, auth=ADMIN)
        statuses.append(response.status_code)

    racers = [threading.Thread(target=race, args=(base,)) for base in (first, second)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    return statuses


def test_a_redis_outage_is_503_and_the_service_recovers(
    tmp_path: Path, redis_aof: RedisServer
) -> None:
    args = ["--bootstrap", str(bootstrap(tmp_path, BOOTSTRAP))]
    with ServerProcess(redis_aof.url, args=args, workdir=tmp_path).start() as server:
        assert httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).status_code == 200
        redis_aof.kill()
        started = time.monotonic()
        down = httpx.put(
            f"{server.url}/v1/bdbs/2/actions/export_reset_status", auth=ADMIN, timeout=30
        )
        assert time.monotonic() - started < 10, "an outage must not hang requests"
        assert down.status_code == 503
        assert down.json()["error_code"] == "store_unavailable"
        assert down.headers["retry-after"] == "1"
        cli = subprocess.run(
            [*bdbexport_command(), "--store", redis_aof.url, "db", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert cli.returncode == 7, cli.stderr
        assert "store_unavailable" in cli.stderr
        redis_aof.start()
        up = httpx.put(f"{server.url}/v1/bdbs/2/actions/export_reset_status", auth=ADMIN)
        assert up.status_code == 200, up.text
        assert "Traceback" not in server.stdout()


def acknowledged_exports(base: str, stop: threading.Event) -> dict[int, str]:
    """Start exports on bdb 1, 2, ... until `stop`; the action uid of each 200."""
    done: dict[int, str] = {}
    with httpx.Client(base_url=base, auth=ADMIN, timeout=5) as client:
        for uid in range(1, 401):
            if stop.is_set():
                break
            try:
                response = client.post(f"/v1/bdbs/{uid}/actions/export", json=MOUNT)
            except httpx.HTTPError:
                break
            if response.status_code == 200:
                done[uid] = response.json()["action_uid"]
    return done


def test_sigkill_of_a_sqlite_server_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    args = [
        "--bootstrap",
        str(bootstrap(tmp_path, MANY)),
        "--exporter",
        "simulated",
        "--simulated-duration",
        "600",
        "--access-log",
        "off",
        "--audit-log",
        "off",
    ]
    server = ServerProcess(f"sqlite://{path}", args=args, workdir=tmp_path).start()
    stop = threading.Event()
    killer = threading.Timer(0.5, lambda: server.process.send_signal(signal.SIGKILL))  # type: ignore[union-attr]
    killer.start()
    done = acknowledged_exports(server.url, stop)
    killer.join()
    server.process.wait(10)  # type: ignore[union-attr]
    assert 0 < len(done) < 400, "the kill must land in the middle of the stream"
    database = SqliteDatabase(path)
    assert database.integrity_check() == "ok"
    bdbs = SqliteBdbRepository(database)
    for uid, action in done.items():
        stored = bdbs.get(uid)
        assert stored is not None
        assert (stored.export_status, stored.action_uid) == ("exporting", action)


def test_sigkill_of_redis_with_aof_loses_no_acknowledged_write(
    tmp_path: Path, redis_aof: RedisServer
) -> None:
    args = [
        "--bootstrap",
        str(bootstrap(tmp_path, MANY)),
        "--exporter",
        "simulated",
        "--simulated-duration",
        "600",
        "--access-log",
        "off",
        "--audit-log",
        "off",
    ]
    with ServerProcess(redis_aof.url, args=args, workdir=tmp_path).start() as server:
        stop = threading.Event()
        killer = threading.Timer(0.5, redis_aof.kill)
        killer.start()
        done = acknowledged_exports(server.url, stop)
        killer.join()
    assert 0 < len(done) < 400
    redis_aof.start()
    store = open_store(redis_aof.url)
    for uid, action in done.items():
        stored = store.bdbs.get(uid)
        assert stored is not None
        assert (stored.export_status, stored.action_uid) == ("exporting", action)
    store.close()


def test_a_killed_worker_fails_its_export_when_the_lease_runs_out(tmp_path: Path) -> None:
    store = f"sqlite://{tmp_path / 'lease.sqlite3'}"
    args = [
        "--bootstrap",
        str(bootstrap(tmp_path, BOOTSTRAP)),
        "--exporter",
        "simulated",
        "--simulated-duration",
        "600",
        "--export-lease-ttl",
        "1",
    ]
    first = ServerProcess(store, args=args, workdir=tmp_path).start()
    started = httpx.post(f"{first.url}/v1/bdbs/1/actions/export", json=MOUNT, auth=ADMIN)
    assert started.status_code == 200
    time.sleep(1.2)  # the heartbeats keep it alive while its worker lives
    alive = httpx.get(f"{first.url}/v1/bdbs/1", auth=ADMIN).json()
    assert alive["export_status"] == "exporting"
    first.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    first.process.wait(10)  # type: ignore[union-attr]
    with ServerProcess(store, args=["--export-lease-ttl", "1"], workdir=tmp_path).start() as second:
        deadline = time.monotonic() + 30  # the lease ran out before this start; ends a hang
        while (bdb := httpx.get(f"{second.url}/v1/bdbs/1", auth=ADMIN).json())[
            "export_status"
        ] == "exporting":
            assert time.monotonic() < deadline, bdb
            time.sleep(0.1)
        assert bdb["export_status"] == "failed"
        assert bdb["export_failure_reason"] == "general-error"
        reset = httpx.put(f"{second.url}/v1/bdbs/1/actions/export_reset_status", auth=ADMIN)
        assert reset.json()["export_status"] == "idle"
    audit = [json.loads(line) for line in second.stderr().splitlines() if line.startswith("{")]
    expiry = [event for event in audit if event.get("actor") == "lease-expiry"]
    assert expiry
    assert "lease expired" in expiry[0]["detail"]
