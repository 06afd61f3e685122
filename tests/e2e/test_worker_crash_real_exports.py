"""Issue 25's crash test with real exports: three `bdbexport worker` processes on one
Redis store, six real exports (six source redis-servers), one worker SIGKILLed while it
holds two mid-transfer. All six end `succeeded`, every RDB file loads into a fresh
redis-server with its source's data, no temporary file is left, and the two show
attempt 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bdbexport.domain import ActionKind, Bdb, MountPointLocation
from bdbexport.domain.statuses import ExportStatus
from tests.e2e.test_real_exports import SourceRedis, bdb_on, loaded, snapshot_of
from tests.support.worker_processes import QueueingStore, WorkerProcess, wait_until

pytestmark = pytest.mark.slow
EXPORTS = range(1, 7)


def write_source(client: redis.Redis, uid: int) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"db{uid}:string:{i}", f"value-{uid}-{i}-" + "x" * (i % 100))
    for i in range(100):
        pipe.hset(f"db{uid}:hash:{i}", mapping={f"f{j}": f"{uid}.{i}.{j}" for j in range(5)})
    pipe.set(f"db{uid}:large", bytes((k + uid) % 256 for k in range(500_000)))
    pipe.execute()


@pytest.fixture
def sources(tmp_path: Path) -> Iterator[dict[int, SourceRedis]]:
    started: dict[int, SourceRedis] = {}
    try:
        for uid in EXPORTS:
            # Each snapshot waits 3 s before it flows: every export is mid-transfer
            # (connected, its temporary file created) for a while.
            started[uid] = SourceRedis(tmp_path / f"source{uid}", sync_delay=3).start()
            write_source(started[uid].client(), uid)
        yield started
    finally:
        for server in started.values():
            server.stop()


def test_a_worker_killed_mid_export_leaves_nothing_failed_and_nothing_behind(
    redis_url: str, sources: dict[int, SourceRedis], tmp_path: Path
) -> None:
    store = QueueingStore(redis_url)
    root = tmp_path / "exports"
    root.mkdir()
    workers: list[WorkerProcess] = []
    try:
        for uid, source in sources.items():
            store.application.store.bdbs.add(Bdb.model_validate(bdb_on(source.port, uid)))
        options = ["--export-root", str(root), "--lease", "5", "--concurrency", "2", "--nice", "0"]
        victim = WorkerProcess(store.url, "victim", tmp_path, *options)
        workers.append(victim)
        wait_until(lambda: bool(victim.events("start")), what="the victim started")
        location = MountPointLocation(path=str(root))
        for uid in EXPORTS:
            store.start(uid, location, ActionKind.EXPORT)
        wait_until(lambda: len(victim.events("claim")) == 2, what="the victim holds two")
        held = {line["action"] for line in victim.events("claim")}
        wait_until(
            lambda: sum(path.name.endswith(".partial") for path in root.iterdir()) >= 2,
            what="the victim's transfers are under way",
        )
        for name in ("w2", "w3"):
            workers.append(WorkerProcess(store.url, name, tmp_path, *options))
        victim.kill()
        wait_until(
            lambda: all(store.bdb(uid).export_status is ExportStatus.SUCCEEDED for uid in EXPORTS),
            deadline=120,
            what="all six exports succeeded",
        )
        claims = [line for worker in workers[1:] for line in worker.events("claim")]
        again = {line["action"]: line["attempt"] for line in claims if line["action"] in held}
        assert again == dict.fromkeys(held, 2)
        cleaned = [line for worker in workers[1:] for line in worker.events("cleaned")]
        assert {line["action"] for line in cleaned} == held  # the dead attempts' partials
        files = sorted(root.iterdir())
        assert not [path for path in files if path.name.endswith(".partial")]
        assert len(files) == len(EXPORTS)
        for uid, source in sources.items():
            (produced,) = [path for path in files if f"-db{uid}-" in path.name]
            assert loaded(produced, tmp_path) == snapshot_of(source.client())
    finally:
        for worker in workers:
            worker.stop()
        store.close()
