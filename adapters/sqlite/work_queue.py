"""`WorkQueue` in the SQLite file: the `work_queue` table, claimed with one
`UPDATE … RETURNING` whose sub-select holds the limits (docs/workers.md).

The tables are this module's own, created by itself beside the store's schema, on a
connection of its own: SQLite serialises write transactions across every process on
the file, so the claim's decide-and-take is atomic for all workers. Times are epoch
seconds of the callers' clocks (as the `claims` table): workers sharing a file share
a machine.

Waking without reading tables: `wait` polls `PRAGMA data_version` (it changes when
another connection commits) every 50 ms, and returns at once when a byte arrives on
the optional wake pipe (`serve` writes one after each enqueue for its worker child).
"""

from __future__ import annotations

import contextlib
import os
import select
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

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

SCHEMA = """
CREATE TABLE IF NOT EXISTS work_queue (
    action_uid TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    bdb_uid INTEGER NOT NULL,
    payload TEXT NOT NULL,
    seq INTEGER NOT NULL,
    turn INTEGER NOT NULL,
    not_before REAL NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    worker TEXT,
    lease_until REAL,
    took_over INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS work_queue_bdb ON work_queue (bdb_uid, worker);
CREATE INDEX IF NOT EXISTS work_queue_order ON work_queue (turn, seq);
CREATE TABLE IF NOT EXISTS work_workers (
    worker TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    heartbeat REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS work_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

ENQUEUE = """
INSERT OR IGNORE INTO work_queue (action_uid, kind, bdb_uid, payload, seq, turn, not_before)
SELECT :uid, :kind, :bdb, :payload,
       coalesce((SELECT max(seq) FROM work_queue), 0) + 1,
       (SELECT count(*) FROM work_queue WHERE bdb_uid = :bdb),
       :now
"""

CLAIM = """
UPDATE work_queue
   SET attempt = attempt + 1,
       took_over = (worker IS NOT NULL),
       last_error = CASE WHEN worker IS NULL THEN last_error
                         ELSE replace(:lapsed, '{worker}', worker) END,
       worker = :worker,
       lease_until = :now + :lease
 WHERE action_uid = (
       SELECT q.action_uid FROM work_queue AS q
        WHERE ((q.worker IS NULL AND q.not_before <= :now)
               OR (q.worker IS NOT NULL AND q.lease_until <= :now))
          AND NOT EXISTS (SELECT 1 FROM work_queue AS r
                           WHERE r.bdb_uid = q.bdb_uid AND r.worker IS NOT NULL
                             AND r.lease_until > :now)
          AND (SELECT count(*) FROM work_queue AS r
                WHERE r.worker IS NOT NULL AND r.lease_until > :now) < :max_running
        ORDER BY q.turn, q.seq
        LIMIT 1)
RETURNING action_uid, kind, bdb_uid, payload, attempt, last_error, took_over
"""

HELD = "action_uid = :uid AND worker = :worker AND attempt = :attempt"

COUNT = (
    "INSERT INTO work_counters (name, value) VALUES (?, 1)"
    " ON CONFLICT (name) DO UPDATE SET value = value + 1"
)

POLL_EVERY = 0.05
STALE_WORKER = timedelta(seconds=90)


class SqliteWorkQueue:
    def __init__(
        self,
        path: Path | str,
        clock: Clock,
        *,
        wake_reader: int | None = None,
        wake_writer: int | None = None,
        stale_worker: timedelta = STALE_WORKER,
    ) -> None:
        self._clock = clock
        self._wake_reader = wake_reader
        self._wake_writer = wake_writer
        self._stale = stale_worker
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._db.execute("PRAGMA busy_timeout = 10000")
        with self._lock:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _wake(self) -> None:
        if self._wake_writer is not None:
            # a full pipe wakes its reader anyway; a closed one has no reader to wake
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(self._wake_writer, b"w")

    def enqueue(self, work: Work) -> bool:
        with self._write() as db:
            added = db.execute(
                ENQUEUE,
                {
                    "uid": work.action_uid,
                    "kind": work.kind,
                    "bdb": work.bdb_uid,
                    "payload": work.payload,
                    "now": self._now(),
                },
            ).rowcount
        self._wake()
        return added == 1

    def claim(self, worker: str, lease: timedelta, max_running: int) -> Claim | None:
        arguments = {
            "worker": worker,
            "now": self._now(),
            "lease": lease.total_seconds(),
            "max_running": max_running,
            "lapsed": LAPSED,
        }
        with self._write() as db:
            row = db.execute(CLAIM, arguments).fetchone()
            if row is None:
                return None
            uid, kind, bdb, payload, attempt, last_error, took_over = row
            db.execute(COUNT, ("claims",))
            if took_over:
                db.execute(COUNT, ("lapsed",))
        return Claim(Work(uid, kind, bdb, payload), worker, attempt, last_error)

    def _end(self, claim: Claim, statement: str, counter: str, **values: object) -> bool:
        held = {"uid": claim.work.action_uid, "worker": claim.worker, "attempt": claim.attempt}
        with self._write() as db:
            changed = db.execute(statement, {**held, **values}).rowcount == 1
            if changed and counter:
                db.execute(COUNT, (counter,))
        if changed and counter:
            self._wake()
        return changed

    def heartbeat(self, claim: Claim, lease: timedelta) -> bool:
        until = self._now() + lease.total_seconds()
        statement = (
            f"UPDATE work_queue SET lease_until = :until WHERE {HELD} AND lease_until > :now"
        )
        return self._end(claim, statement, "", until=until, now=self._now())

    def complete(self, claim: Claim) -> bool:
        return self._end(claim, f"DELETE FROM work_queue WHERE {HELD}", "completions")

    def retry(self, claim: Claim, error: str, delay: timedelta) -> bool:
        statement = (
            "UPDATE work_queue SET worker = NULL, lease_until = NULL,"
            f" not_before = :ready, last_error = :error WHERE {HELD}"
        )
        ready = self._now() + delay.total_seconds()
        return self._end(claim, statement, "retries", ready=ready, error=error)

    def release(self, claim: Claim) -> bool:
        statement = (
            "UPDATE work_queue SET worker = NULL, lease_until = NULL,"
            f" not_before = :ready, attempt = attempt - 1 WHERE {HELD}"
        )
        return self._end(claim, statement, "releases", ready=self._now())

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            seen = self._db.execute("PRAGMA data_version").fetchone()[0]
        while (left := deadline - time.monotonic()) > 0:
            pause = min(POLL_EVERY, left)
            if self._wake_reader is not None:
                ready, _, _ = select.select([self._wake_reader], [], [], pause)
                if ready:
                    if not os.read(self._wake_reader, 4096):
                        self._wake_reader = None  # the writer is gone: poll from now on
                    return
            else:
                time.sleep(pause)
            with self._lock:
                if self._db.execute("PRAGMA data_version").fetchone()[0] != seen:
                    return

    def item(self, action_uid: str) -> ItemState | None:
        with self._lock:
            row = self._db.execute(
                "SELECT attempt, last_error, worker FROM work_queue WHERE action_uid = ?",
                (action_uid,),
            ).fetchone()
        return None if row is None else ItemState(*row)

    def stats(self) -> QueueStats:
        with self._lock:
            queued = dict(
                self._db.execute(
                    "SELECT kind, count(*) FROM work_queue WHERE worker IS NULL GROUP BY kind"
                ).fetchall()
            )
            running = self._db.execute(
                "SELECT count(*) FROM work_queue WHERE worker IS NOT NULL"
            ).fetchone()[0]
            counters = dict.fromkeys(COUNTERS, 0)
            counters.update(self._db.execute("SELECT name, value FROM work_counters").fetchall())
        return QueueStats(queued, running, counters)

    def register(self, info: WorkerInfo) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO work_workers VALUES (?, ?, ?, ?, ?)",
                (info.worker, info.host, info.pid, info.concurrency, info.heartbeat.timestamp()),
            )

    def forget(self, worker: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM work_workers WHERE worker = ?", (worker,))

    def workers(self) -> list[WorkerInfo]:
        now = self._now()
        with self._write() as db:
            db.execute(
                "DELETE FROM work_workers WHERE heartbeat < ?", (now - self._stale.total_seconds(),)
            )
            rows = db.execute("SELECT * FROM work_workers ORDER BY worker").fetchall()
            held = db.execute(
                "SELECT worker, action_uid FROM work_queue"
                " WHERE worker IS NOT NULL AND lease_until > ? ORDER BY action_uid",
                (now,),
            ).fetchall()
        return [
            WorkerInfo(
                worker,
                host,
                pid,
                concurrency,
                datetime.fromtimestamp(beat, UTC),
                tuple(uid for holder, uid in held if holder == worker),
            )
            for worker, host, pid, concurrency, beat in rows
        ]
