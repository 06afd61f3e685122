"""`bdbexport worker` processes on one real Redis store (issue 25's done-when):

- crash: a worker SIGKILLed while it holds two exports; its claims lapse, the other
  workers run both again (attempt 2), and all six end `succeeded`;
- deploy: each of three workers gets SIGTERM in turn while exports and imports run
  (a new one started in its place, as a rolling update does); nothing fails, and a
  handed-back action's next attempt is not counted;
- scale: many queued backups over several workers each run exactly once.

The transfers are simulated (`--exporter simulated`, `--importer memory`): what is
under test is the queue and the workers' processes, not the copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bdbexport.domain import ActionKind, MountPointLocation
from bdbexport.domain.statuses import ExportStatus, ImportStatus
from benchmarks.workers import drain
from tests.support.redis_server import RedisServer
from tests.support.worker_processes import QueueingStore, WorkerProcess, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def store(redis_url: str) -> Iterator[QueueingStore]:
    opened = QueueingStore(redis_url)
    yield opened
    opened.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


def start_worker(
    workers: list[WorkerProcess], store: QueueingStore, tmp_path: Path, name: str, *args: str
) -> WorkerProcess:
    common = ["--exporter", "simulated", "--importer", "memory", "--nice", "0"]
    common += ["--lease", "5", "--export-root", str(tmp_path)]
    worker = WorkerProcess(store.url, name, tmp_path, *common, *args)
    workers.append(worker)
    return worker


def test_a_killed_workers_claims_are_run_again_by_the_others(
    store: QueueingStore, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    store.add(range(1, 7))
    options = ("--concurrency", "2", "--simulated-duration", "6")
    victim = start_worker(workers, store, tmp_path, "victim", *options)
    wait_until(lambda: bool(victim.events("start")), what="the victim started")
    location = MountPointLocation(path=str(tmp_path))
    actions = [store.start(uid, location, ActionKind.EXPORT) for uid in range(1, 7)]
    wait_until(lambda: len(victim.events("claim")) == 2, what="the victim holds two")
    held = {line["action"] for line in victim.events("claim")}
    for name in ("w2", "w3"):
        start_worker(workers, store, tmp_path, name, *options)
    victim.kill()
    wait_until(
        lambda: all(store.bdb(uid).export_status is ExportStatus.SUCCEEDED for uid in range(1, 7)),
        what="all six succeeded",
    )
    claims = [line for worker in workers[1:] for line in worker.events("claim")]
    again = {line["action"]: line for line in claims if line["action"] in held}
    assert set(again) == held
    for line in again.values():
        assert line["attempt"] == 2
        assert "victim" in line["last_error"]
    assert {line["action"] for line in claims} == set(actions)
    assert store.queue.stats().counters["lapsed"] == 2


def test_a_rolling_restart_fails_nothing(
    store: QueueingStore, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    store.add(range(1, 10))
    source = tmp_path / "dump.rdb"
    source.write_bytes(b"REDIS0011" + b"\x00" * 32)
    options = ("--concurrency", "2", "--simulated-duration", "3", "--drain-timeout", "0.5")
    generation = [start_worker(workers, store, tmp_path, f"a{n}", *options) for n in range(3)]
    location = MountPointLocation(path=str(tmp_path))
    for uid in range(1, 7):
        store.start(uid, location, ActionKind.EXPORT)
    for uid in range(7, 10):
        store.start(uid, MountPointLocation(path=str(source)), ActionKind.IMPORT, flush=True)
    for n, old in enumerate(generation):
        wait_until(lambda old=old: bool(old.events("claim")), what=f"{old.name} is busy")  # type: ignore[misc]
        assert old.terminate() == 0, old.errors()
        start_worker(workers, store, tmp_path, f"b{n}", *options)

    def ended() -> bool:
        exports = all(store.bdb(uid).export_status is ExportStatus.SUCCEEDED for uid in range(1, 7))
        imports = all(
            store.bdb(uid).import_status is ImportStatus.SUCCEEDED for uid in range(7, 10)
        )
        return exports and imports

    wait_until(ended, deadline=120, what="every export and import succeeded")
    lines = [line for worker in workers for line in worker.lines()]
    assert not [line for line in lines if line.get("outcome") == "failed"]
    assert all(line["attempt"] == 1 for line in lines if line["event"] == "claim")
    assert store.queue.stats().counters["releases"] >= 1


@pytest.mark.parametrize("count", [1, 2, 4])
def test_a_thousand_queued_backups_each_run_exactly_once(
    redis_server: RedisServer, tmp_path: Path, count: int
) -> None:
    """Issue 25's scale case: 1,000 backups over 1, 2 and 4 workers, `--concurrency 4`
    each. The throughput (2 workers at least 1.6 times one) is measured by
    `python -m benchmarks`."""
    store = f"{redis_server.url}?prefix=scale{count}:"
    drained = drain(store, count, 1000, 0.02, tmp_path)
    assert drained.counters["claims"] == 1000
    assert drained.counters["completions"] == 1000
    assert drained.counters["retries"] == 0
    assert drained.counters["lapsed"] == 0
    assert drained.succeeded == 1000
