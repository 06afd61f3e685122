"""The `WorkQueue` contract, against every store: memory, a real SQLite file, a real
redis-server. Each "worker" opens the queue with a connection of its own, as worker
processes do; leases are real (short) time, waited for with generous deadlines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bdbexport.adapters.memory import SystemClock
from bdbexport.adapters.memory.work_queue import InMemoryWorkQueue
from bdbexport.composition.work_queues import open_work_queue
from bdbexport.domain.work_queue import Claim, ItemState, Work, WorkerInfo, WorkQueue

KINDS = ["memory", "sqlite", "redis"]
LEASE = timedelta(seconds=30)
SHORT = timedelta(milliseconds=300)
MANY = 1000

Opener = Callable[[], WorkQueue]


@pytest.fixture(params=KINDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    closers: list[Callable[[], None]] = []
    shared = InMemoryWorkQueue(SystemClock())
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite://{tmp_path / 'queue.sqlite3'}",
        "redis": request.getfixturevalue("redis_url") if request.param == "redis" else "",
    }[request.param]

    def open_one() -> WorkQueue:
        if request.param == "memory":
            return shared
        queue, close = open_work_queue(url, SystemClock())
        closers.append(close)
        return queue

    yield open_one
    for close in closers:
        close()


def work(uid: str, bdb: int, kind: str = "export") -> Work:
    return Work(uid, kind, bdb, f'{{"uid": "{uid}"}}')


def claim_eventually(queue: WorkQueue, worker: str, max_running: int = MANY) -> Claim:
    deadline = time.monotonic() + 10
    while (claim := queue.claim(worker, LEASE, max_running)) is None:
        assert time.monotonic() < deadline, "nothing became claimable"
        time.sleep(0.05)
    return claim


def test_an_item_is_queued_once_and_claimed_once(opener: Opener) -> None:
    queue, other = opener(), opener()
    assert queue.enqueue(work("a", 1))
    assert not other.enqueue(work("a", 1))
    claim = other.claim("w2", LEASE, MANY)
    assert claim == Claim(work("a", 1), "w2", 1, None)
    assert queue.claim("w1", LEASE, MANY) is None


def test_one_running_item_per_database(opener: Opener) -> None:
    queue = opener()
    for uid, bdb in (("a", 1), ("b", 1), ("c", 2)):
        queue.enqueue(work(uid, bdb))
    first = queue.claim("w", LEASE, MANY)
    second = queue.claim("w", LEASE, MANY)
    assert first is not None
    assert second is not None
    assert (first.work.action_uid, second.work.action_uid) == ("a", "c")
    assert queue.claim("w", LEASE, MANY) is None
    assert queue.complete(first)
    third = queue.claim("w", LEASE, MANY)
    assert third is not None
    assert third.work.action_uid == "b"


def test_the_cluster_cap_counts_every_workers_claims(opener: Opener) -> None:
    one, two = opener(), opener()
    for bdb in range(1, 5):
        one.enqueue(work(f"x{bdb}", bdb))
    assert one.claim("w1", LEASE, 2) is not None
    assert two.claim("w2", LEASE, 2) is not None
    assert two.claim("w2", LEASE, 2) is None
    assert one.claim("w1", LEASE, 3) is not None


def test_a_database_with_many_queued_items_takes_turns_with_the_others(opener: Opener) -> None:
    queue = opener()
    for n in range(5):
        queue.enqueue(work(f"busy{n}", 1))
    queue.enqueue(work("other", 2))
    order = []
    for _ in range(6):
        claim = queue.claim("w", LEASE, 1)
        assert claim is not None
        order.append(claim.work.action_uid)
        assert queue.complete(claim)
    assert order == ["busy0", "other", "busy1", "busy2", "busy3", "busy4"]


def test_a_lapsed_claim_is_taken_again_with_the_next_attempt(opener: Opener) -> None:
    dead, alive = opener(), opener()
    dead.enqueue(work("a", 1))
    lost = dead.claim("dead-worker", SHORT, MANY)
    assert lost is not None
    assert lost.attempt == 1
    taken = claim_eventually(alive, "alive-worker")
    assert taken.attempt == 2
    assert taken.last_error is not None
    assert "dead-worker" in taken.last_error
    assert not dead.heartbeat(lost, LEASE)
    assert not dead.complete(lost)
    assert not dead.retry(lost, "x", timedelta(0))
    assert not dead.release(lost)
    assert alive.heartbeat(taken, LEASE)
    assert alive.stats().counters["lapsed"] == 1
    assert alive.complete(taken)


def test_a_heartbeat_keeps_a_claim_past_its_first_lease(opener: Opener) -> None:
    queue, other = opener(), opener()
    queue.enqueue(work("a", 1))
    first_lease = timedelta(seconds=2)
    claim = queue.claim("w1", first_lease, MANY)
    assert claim is not None
    assert queue.heartbeat(claim, LEASE)
    time.sleep(first_lease.total_seconds() + 0.5)
    assert other.claim("w2", LEASE, MANY) is None
    assert queue.heartbeat(claim, LEASE)


def test_a_retry_waits_its_backoff_and_keeps_the_error(opener: Opener) -> None:
    queue = opener()
    queue.enqueue(work("a", 1))
    first = queue.claim("w", LEASE, MANY)
    assert first is not None
    assert queue.retry(first, "general-error: disk full", timedelta(seconds=2))
    assert queue.claim("w", LEASE, MANY) is None
    second = claim_eventually(queue, "w")
    assert (second.attempt, second.last_error) == (2, "general-error: disk full")
    assert queue.stats().counters["retries"] == 1


def test_a_release_requeues_at_once_without_counting_the_attempt(opener: Opener) -> None:
    draining, other = opener(), opener()
    draining.enqueue(work("a", 1))
    claim = draining.claim("draining", LEASE, MANY)
    assert claim is not None
    assert draining.release(claim)
    again = other.claim("other", LEASE, MANY)
    assert again is not None
    assert again.attempt == 1
    assert other.stats().counters["releases"] == 1


def test_racing_workers_claim_each_item_exactly_once(opener: Opener) -> None:
    workers = [opener() for _ in range(6)]
    items = 60
    for n in range(items):
        workers[0].enqueue(work(f"i{n}", n))
    start = threading.Barrier(len(workers))
    taken: list[str] = []
    lock = threading.Lock()

    def run(queue: WorkQueue, name: str) -> None:
        start.wait(10)
        while (claim := queue.claim(name, LEASE, MANY)) is not None:
            with lock:
                taken.append(claim.work.action_uid)
            assert queue.complete(claim)

    threads = [threading.Thread(target=run, args=(q, f"w{i}")) for i, q in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(taken) == sorted(f"i{n}" for n in range(items))
    assert workers[1].stats().counters["completions"] == items


def test_wait_returns_when_another_process_enqueues(opener: Opener) -> None:
    waiting, enqueuing = opener(), opener()
    returned = threading.Event()

    def wait() -> None:
        waiting.wait(60)
        returned.set()

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.2)
    enqueuing.enqueue(work("a", 1))
    thread.join(30)
    assert returned.is_set()


def test_stats_count_queued_by_kind_and_running(opener: Opener) -> None:
    queue = opener()
    queue.enqueue(work("e", 1, "export"))
    queue.enqueue(work("b", 2, "backup"))
    queue.enqueue(work("i", 3, "import"))
    queue.enqueue(work("b2", 4, "backup"))
    claim = queue.claim("w", LEASE, 1)
    assert claim is not None
    assert claim.work.action_uid == "e"
    stats = queue.stats()
    assert stats.queued == {"backup": 2, "import": 1}
    assert stats.running == 1
    assert stats.counters["claims"] == 1


def test_workers_register_and_show_what_they_hold(opener: Opener) -> None:
    queue = opener()
    now = datetime.now(UTC)
    queue.register(WorkerInfo("w1", "host-a", 101, 4, now))
    queue.register(WorkerInfo("w2", "host-b", 102, 2, now))
    queue.enqueue(work("a", 1))
    assert queue.claim("w1", LEASE, MANY) is not None
    seen = {info.worker: info for info in queue.workers()}
    assert set(seen) == {"w1", "w2"}
    assert (seen["w1"].host, seen["w1"].pid, seen["w1"].concurrency) == ("host-a", 101, 4)
    assert seen["w1"].running == ("a",)
    assert seen["w2"].running == ()
    assert abs((seen["w1"].heartbeat - now).total_seconds()) < 0.01
    queue.forget("w2")
    assert [info.worker for info in queue.workers()] == ["w1"]


def test_a_worker_silent_too_long_is_forgotten(opener: Opener) -> None:
    queue = opener()
    queue.register(WorkerInfo("old", "h", 1, 1, datetime.now(UTC) - timedelta(hours=1)))
    queue.register(WorkerInfo("new", "h", 2, 1, datetime.now(UTC)))
    assert [info.worker for info in queue.workers()] == ["new"]


def test_an_items_state_follows_its_attempts(opener: Opener) -> None:
    queue = opener()
    assert queue.item("a") is None
    queue.enqueue(work("a", 1))
    assert queue.item("a") == ItemState(0, None, None)
    first = queue.claim("w1", LEASE, MANY)
    assert first is not None
    assert queue.item("a") == ItemState(1, None, "w1")
    assert queue.retry(first, "general-error: boom", timedelta(0))
    assert queue.item("a") == ItemState(1, "general-error: boom", None)
    second = claim_eventually(queue, "w2")
    assert queue.item("a") == ItemState(2, "general-error: boom", "w2")
    assert queue.complete(second)
    assert queue.item("a") is None
