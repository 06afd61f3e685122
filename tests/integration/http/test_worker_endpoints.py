"""GET /v1/workers: the workers and the queue they share, read from the store; null
queue on a server that runs actions in-process; a view every role but `none` has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bdbexport.adapters.memory.work_queue import InMemoryWorkQueue
from bdbexport.domain.work_queue import Work, WorkerInfo
from tests.integration.http.test_reset_endpoint import assert_error
from tests.support.http import ADMIN, NOBODY, VIEWER, make_http_world

pytestmark = pytest.mark.anyio


async def test_the_workers_and_the_queue_as_the_store_has_them() -> None:
    queue = InMemoryWorkQueue()
    beat = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    queue.register(WorkerInfo("node-a:1", "node-a", 1, 4, datetime.now(UTC)))
    queue.enqueue(Work("a1", "export", 1, "{}"))
    queue.enqueue(Work("b1", "backup", 2, "{}"))
    queue.enqueue(Work("b2", "backup", 3, "{}"))
    assert queue.claim("node-a:1", timedelta(minutes=1), 10) is not None
    world = make_http_world(work_queue=queue)
    async with world.client() as client:
        response = await client.get("/v1/workers", headers=VIEWER)
    assert response.status_code == 200, response.text
    body = response.json()
    (worker,) = body["workers"]
    assert {key: worker[key] for key in ("id", "host", "pid", "concurrency", "running")} == {
        "id": "node-a:1",
        "host": "node-a",
        "pid": 1,
        "concurrency": 4,
        "running": ["a1"],
    }
    assert datetime.fromisoformat(worker["heartbeat"]) > beat
    assert body["queue"]["queued"] == {"backup": 2}
    assert body["queue"]["running"] == 1
    assert body["queue"]["counters"]["claims"] == 1


async def test_a_server_without_a_queue_says_so() -> None:
    world = make_http_world()
    async with world.client() as client:
        response = await client.get("/v1/workers", headers=ADMIN)
    assert response.status_code == 200
    assert response.json() == {"workers": [], "queue": None}


async def test_only_roles_that_view_actions_see_the_workers() -> None:
    world = make_http_world(work_queue=InMemoryWorkQueue())
    async with world.client() as client:
        assert_error(await client.get("/v1/workers", headers=NOBODY), 403, "forbidden")
        assert_error(await client.get("/v1/workers"), 401, "unauthenticated")


async def test_an_action_run_by_workers_shows_its_attempt_and_last_error() -> None:
    queue = InMemoryWorkQueue()
    world = make_http_world(work_queue=queue)
    body = {"export_location": {"type": "mount_point", "path": "/tmp"}}
    async with world.client() as client:
        started = await client.post("/v1/bdbs/1/actions/export", json=body, headers=ADMIN)
        assert started.status_code == 200, started.text
        action_uid = started.json()["action_uid"]
        plain = (await client.get(f"/v1/actions/{action_uid}", headers=VIEWER)).json()
        assert "attempt" not in plain  # not queued (this world records launches only)
        queue.enqueue(Work(action_uid, "export", 1, "{}"))
        claim = queue.claim("w1", timedelta(minutes=1), 10)
        assert claim is not None
        assert queue.retry(claim, "general-error: disk full", timedelta(0))
        assert queue.claim("w2", timedelta(minutes=1), 10) is not None
        action = (await client.get(f"/v1/actions/{action_uid}", headers=VIEWER)).json()
    assert (action["attempt"], action["last_error"]) == (2, "general-error: disk full")
