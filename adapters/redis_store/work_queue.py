"""`WorkQueue` in Redis: one Lua script per call over a ready set and a lease set,
waiting workers woken by `BLPOP` (docs/workers.md says why not Streams or `BLMOVE`).

Leases are timed by Redis' own `TIME`, so the workers' clocks do not matter. The
scripts name their item keys from a prefix, so the queue runs on one Redis server
(as the store does), not across a Redis Cluster's slots.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bdbexport.domain.work_queue import (
    COUNTERS,
    LAPSED,
    Claim,
    ItemState,
    QueueStats,
    Work,
    WorkerInfo,
)

from .connection import RedisConnection
from .work_queue_scripts import CLAIM, COMPLETE, ENQUEUE, HEARTBEAT, KEYS_ORDER, QUEUED, REQUEUE

STALE_WORKER = timedelta(seconds=90)
MAX_BLOCK = 1.0
"""Seconds one `BLPOP` waits at most: below the connection's socket timeout."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(delta: timedelta) -> int:
    return max(int(delta / timedelta(milliseconds=1)), 0)


class RedisWorkQueue:
    def __init__(
        self, connection: RedisConnection, *, stale_worker: timedelta = STALE_WORKER
    ) -> None:
        self._redis = connection
        self._client = connection.client
        self._keys = [connection.key("wq", name) for name in KEYS_ORDER]
        self._items = connection.key("wq", "item", "")
        self._workers_key = connection.key("wq", "workers")
        self._stale = stale_worker
        self._scripts = {
            name: self._client.register_script(source)
            for name, source in {
                "enqueue": ENQUEUE,
                "claim": CLAIM,
                "heartbeat": HEARTBEAT,
                "complete": COMPLETE,
                "requeue": REQUEUE,
                "queued": QUEUED,
            }.items()
        }

    def _run(self, name: str, *args: str | int) -> Any:
        with self._redis.available():
            return self._scripts[name](keys=self._keys, args=[self._items, *args])

    def enqueue(self, work: Work) -> bool:
        added = self._run("enqueue", work.action_uid, work.kind, work.bdb_uid, work.payload)
        return bool(added)

    def claim(self, worker: str, lease: timedelta, max_running: int) -> Claim | None:
        row = self._run("claim", worker, _ms(lease), max_running, LAPSED)
        if not row:
            return None
        uid, kind, bdb, payload, attempt, has_error, error = (
            value.decode() if isinstance(value, bytes) else value for value in row
        )
        work = Work(uid, kind, int(bdb), payload)
        return Claim(work, worker, int(attempt), error if has_error else None)

    def _held(self, claim: Claim) -> tuple[str, str, int]:
        return claim.work.action_uid, claim.worker, claim.attempt

    def heartbeat(self, claim: Claim, lease: timedelta) -> bool:
        return bool(self._run("heartbeat", *self._held(claim), _ms(lease)))

    def complete(self, claim: Claim) -> bool:
        return bool(self._run("complete", *self._held(claim)))

    def retry(self, claim: Claim, error: str, delay: timedelta) -> bool:
        return bool(self._run("requeue", *self._held(claim), "retries", _ms(delay), error))

    def release(self, claim: Claim) -> bool:
        return bool(self._run("requeue", *self._held(claim), "releases", 0))

    def wait(self, timeout: float) -> None:
        block = min(max(timeout, 0.01), MAX_BLOCK)
        with self._redis.available():
            self._client.blpop([self._keys[KEYS_ORDER.index("wake")]], timeout=block)

    def item(self, action_uid: str) -> ItemState | None:
        with self._redis.available():
            attempt, last_error, worker = self._client.hmget(
                self._items + action_uid, ["attempt", "last_error", "worker"]
            )
        if attempt is None:
            return None
        return ItemState(
            int(attempt),
            None if last_error is None else _text(last_error),
            None if worker is None else _text(worker),
        )

    def stats(self) -> QueueStats:
        by_kind, _, running, _ = self._run("queued")
        queued = {_text(by_kind[i]): int(by_kind[i + 1]) for i in range(0, len(by_kind), 2)}
        with self._redis.available():
            raw = self._client.hgetall(self._keys[KEYS_ORDER.index("stats")])
        counters = dict.fromkeys(COUNTERS, 0)
        counters.update({_text(name): int(value) for name, value in raw.items()})
        return QueueStats(queued, int(running), counters)

    def register(self, info: WorkerInfo) -> None:
        record = {
            "host": info.host,
            "pid": info.pid,
            "concurrency": info.concurrency,
            "heartbeat": info.heartbeat.timestamp(),
        }
        with self._redis.available():
            self._client.hset(self._workers_key, info.worker, json.dumps(record))

    def forget(self, worker: str) -> None:
        with self._redis.available():
            self._client.hdel(self._workers_key, worker)

    def workers(self) -> list[WorkerInfo]:
        _, holders, _, now_ms = self._run("queued")
        held: dict[str, list[str]] = {}
        for i in range(0, len(holders), 2):
            held.setdefault(holders[i].decode(), []).append(holders[i + 1].decode())
        with self._redis.available():
            raw = self._client.hgetall(self._workers_key)
        oldest = int(now_ms) / 1000 - self._stale.total_seconds()
        found = []
        for name, value in sorted(raw.items()):
            record = json.loads(value)
            worker = _text(name)
            if record["heartbeat"] < oldest:
                self.forget(worker)
                continue
            found.append(
                WorkerInfo(
                    worker,
                    record["host"],
                    record["pid"],
                    record["concurrency"],
                    datetime.fromtimestamp(record["heartbeat"], UTC),
                    tuple(sorted(held.get(worker, []))),
                )
            )
        return found
