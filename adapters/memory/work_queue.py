"""`WorkQueue` in memory: for `--store memory://` (whose worker runs in-process) and
tests. One lock makes each call one atomic step among threads; a condition variable
wakes waiting workers when an item is queued or a slot frees."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bdbexport.domain.ports import Clock
from bdbexport.domain.work_queue import (
    COUNTERS,
    LAPSED,
    Claim,
    ItemState,
    QueueStats,
    Work,
    WorkerInfo,
)

from .clock import SystemClock

STALE_WORKER = timedelta(seconds=90)


@dataclass
class _Item:
    work: Work
    seq: int
    turn: int
    not_before: datetime
    attempt: int = 0
    last_error: str | None = None
    worker: str | None = None
    lease_until: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.lease_until is not None and self.lease_until > now

    def ready(self, now: datetime) -> bool:
        if self.worker is None:
            return self.not_before <= now
        return not self.live(now)


class InMemoryWorkQueue:
    def __init__(
        self, clock: Clock | None = None, *, stale_worker: timedelta = STALE_WORKER
    ) -> None:
        self._clock = clock or SystemClock()
        self._stale = stale_worker
        self._items: dict[str, _Item] = {}
        self._workers: dict[str, WorkerInfo] = {}
        self._counters = dict.fromkeys(COUNTERS, 0)
        self._seq = 0
        self._changed = threading.Condition()

    def enqueue(self, work: Work) -> bool:
        with self._changed:
            if work.action_uid in self._items:
                return False
            self._seq += 1
            turn = sum(1 for item in self._items.values() if item.work.bdb_uid == work.bdb_uid)
            self._items[work.action_uid] = _Item(work, self._seq, turn, self._clock.now())
            self._changed.notify()
            return True

    def claim(self, worker: str, lease: timedelta, max_running: int) -> Claim | None:
        now = self._clock.now()
        with self._changed:
            live = [item for item in self._items.values() if item.live(now)]
            if len(live) >= max_running:
                return None
            busy = {item.work.bdb_uid for item in live}
            ready = [
                item
                for item in self._items.values()
                if item.ready(now) and item.work.bdb_uid not in busy
            ]
            if not ready:
                return None
            item = min(ready, key=lambda one: (one.turn, one.seq))
            if item.worker is not None:
                item.last_error = LAPSED.format(worker=item.worker)
                self._counters["lapsed"] += 1
            item.attempt += 1
            item.worker = worker
            item.lease_until = now + lease
            self._counters["claims"] += 1
            return Claim(item.work, worker, item.attempt, item.last_error)

    def _held(self, claim: Claim) -> _Item | None:
        item = self._items.get(claim.work.action_uid)
        if item is None or item.worker != claim.worker or item.attempt != claim.attempt:
            return None
        return item

    def heartbeat(self, claim: Claim, lease: timedelta) -> bool:
        with self._changed:
            item, now = self._held(claim), self._clock.now()
            if item is None or not item.live(now):
                return False
            item.lease_until = now + lease
            return True

    def complete(self, claim: Claim) -> bool:
        with self._changed:
            if self._held(claim) is None:
                return False
            del self._items[claim.work.action_uid]
            self._counters["completions"] += 1
            self._changed.notify_all()
            return True

    def retry(self, claim: Claim, error: str, delay: timedelta) -> bool:
        with self._changed:
            item = self._held(claim)
            if item is None:
                return False
            item.worker, item.lease_until = None, None
            item.not_before = self._clock.now() + delay
            item.last_error = error
            self._counters["retries"] += 1
            self._changed.notify_all()
            return True

    def release(self, claim: Claim) -> bool:
        with self._changed:
            item = self._held(claim)
            if item is None:
                return False
            item.worker, item.lease_until = None, None
            item.not_before = self._clock.now()
            item.attempt -= 1
            self._counters["releases"] += 1
            self._changed.notify_all()
            return True

    def wait(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def item(self, action_uid: str) -> ItemState | None:
        with self._changed:
            item = self._items.get(action_uid)
            if item is None:
                return None
            return ItemState(item.attempt, item.last_error, item.worker)

    def stats(self) -> QueueStats:
        with self._changed:
            queued: dict[str, int] = {}
            for item in self._items.values():
                if item.worker is None:
                    queued[item.work.kind] = queued.get(item.work.kind, 0) + 1
            running = sum(1 for item in self._items.values() if item.worker is not None)
            return QueueStats(queued, running, dict(self._counters))

    def register(self, info: WorkerInfo) -> None:
        with self._changed:
            self._workers[info.worker] = replace(info, running=())

    def forget(self, worker: str) -> None:
        with self._changed:
            self._workers.pop(worker, None)

    def workers(self) -> list[WorkerInfo]:
        now = self._clock.now()
        with self._changed:
            for name in [
                w for w, info in self._workers.items() if info.heartbeat < now - self._stale
            ]:
                del self._workers[name]
            return [
                replace(
                    info,
                    running=tuple(
                        sorted(
                            uid
                            for uid, item in self._items.items()
                            if item.worker == info.worker and item.live(now)
                        )
                    ),
                )
                for _, info in sorted(self._workers.items())
            ]
