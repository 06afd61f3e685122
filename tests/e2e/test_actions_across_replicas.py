"""Two `bdbexport serve` replicas on one real Redis store: an action started on one is
read, listed and cancelled on the other, and the replica running it learns of the cancel
from the store and stops its worker at the exporter's next progress report (the runner's
own promptness, well under two seconds, is measured in tests/integration/test_action_runner.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_serve import ADMIN, BOOTSTRAP
from tests.support.passwords import with_cheap_hashes
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
DEADLINE = 30.0


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    redis = RedisServer(tmp_path / "redis").start()
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(with_cheap_hashes(BOOTSTRAP)))
    store = f"{redis.url}?prefix=replicas:"
    args = ["--bootstrap", str(bootstrap), "--exporter", "simulated"]
    args += ["--simulated-duration", "120", "--importer", "memory"]
    args += ["--shutdown-grace", "1"]  # its length is not under test: stop without 10 s
    try:
        with (
            ServerProcess(store, args=args, workdir=tmp_path) as first,
            ServerProcess(store, args=args, workdir=tmp_path) as second,
        ):
            yield first.start(), second.start()
    finally:
        redis.stop()


def get(server: ServerProcess, path: str) -> Any:
    response = httpx.get(f"{server.url}{path}", auth=ADMIN, timeout=10)
    assert response.is_success, response.text
    return response.json()


def wait_for(server: ServerProcess, path: str, key: str, wanted: str) -> tuple[Any, float]:
    started = time.monotonic()
    while True:
        answer = get(server, path)
        if answer[key] == wanted:
            return answer, time.monotonic() - started
        assert time.monotonic() - started < DEADLINE, answer
        time.sleep(0.1)


def test_an_action_started_on_one_replica_is_followed_and_cancelled_on_the_other(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = replicas
    started = httpx.post(
        f"{first.url}/v1/bdbs/1/actions/export",
        json={"export_location": {"type": "mount_point", "path": "backups"}},
        auth=ADMIN,
        timeout=10,
    )
    assert started.is_success, started.text
    action_uid = started.json()["action_uid"]
    path = f"/v1/actions/{action_uid}"
    assert get(second, path)["name"] == "export"
    wait_for(second, path, "status", "running")
    assert [a["action_uid"] for a in get(second, "/v2/actions")] == [action_uid]

    cancelled = httpx.delete(f"{second.url}{path}", auth=ADMIN, timeout=10)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert get(first, path)["status"] == "cancelled"
    bdb = get(first, "/v1/bdbs/1")
    assert (bdb["export_status"], bdb["export_failure_detail"]) == (
        "failed",
        "cancelled by ops@example.com",
    )
    # The first replica's worker learns it from the store and stops: its log says so.
    deadline = time.monotonic() + DEADLINE
    while f"{action_uid} was cancelled" not in first.stderr():
        assert time.monotonic() < deadline, first.stderr()
        time.sleep(0.1)
    # The bdb is free again at once: a new export can start on either replica.
    again = httpx.post(
        f"{second.url}/v1/bdbs/1/actions/export",
        json={"export_location": {"type": "mount_point", "path": "backups"}},
        auth=ADMIN,
        timeout=10,
    )
    assert again.is_success, again.text
