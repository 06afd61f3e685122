"""The async stores when the store misbehaves: they give up in bounded time with
`StoreUnavailableError` and never block the event loop meanwhile.

A ticker task sleeping 10 ms in a loop measures how late it wakes: if a store call
blocked the loop's thread, the ticker would be late by as long.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path
from types import TracebackType

import pytest

from bdbexport.adapters.redis_store import AsyncRedisBdbRepository, AsyncRedisConnection
from bdbexport.adapters.sqlite import (
    AsyncSqliteBdbRepository,
    AsyncSqliteDatabase,
    SqliteBdbRepository,
    SqliteDatabase,
)
from bdbexport.domain import Bdb, IncompatibleStoreError, StoreUnavailableError
from tests.support.redis_server import RedisServer

DEADLINE = 30.0
TICK = 0.01
MAX_LAG = 0.1
"""How late the ticker may wake on a quiet machine; on a loaded one, three times the
lag it showed just before, with no store call (`LoopWatch.bound`)."""
GIVES_UP_WITHIN = 3.0
"""A generous deadline for a call that should give up after 0.5 s: the store stays
broken longer than this (the lock is held 3 s, Redis is stopped until the test goes on),
so an answer by then shows the call's own bound; this only fails a call that waited."""

HOLD_WRITE_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""


class LoopWatch:
    """How late a 10 ms sleep wakes up, at worst, while the block runs."""

    def __init__(self) -> None:
        self.max_lag = 0.0
        self.quiet_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0.3)  # the same run's baseline: how late it wakes with no call
        self.quiet_lag, self.max_lag = self.max_lag, 0.0
        return self

    @property
    def bound(self) -> float:
        """MAX_LAG, or three times the quiet lag on a loaded machine: a call that blocked
        the loop makes it late by the call's whole wait (0.5 s and more)."""
        return max(MAX_LAG, 3 * self.quiet_lag)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK)
            self.max_lag = max(self.max_lag, loop.time() - before - TICK)


def test_a_write_lock_held_by_another_process_is_waited_for_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    sync_db = SqliteDatabase(path)
    SqliteBdbRepository(sync_db).add(Bdb(uid=1, name="db"))
    impatient = AsyncSqliteDatabase(path, lock_wait=0.5)
    patient = AsyncSqliteDatabase(path, lock_wait=10)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path), "3"],
        stdout=subprocess.PIPE,
        text=True,
    )

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        bdbs = AsyncSqliteBdbRepository(impatient)
        async with LoopWatch() as watch:
            assert await bdbs.get(1) == Bdb(uid=1, name="db")  # WAL: reads go on
            started = loop.time()
            with pytest.raises(StoreUnavailableError) as raised:
                await bdbs.save(Bdb(uid=1, name="impatient", revision=1), expected_revision=0)
            assert 0.45 <= loop.time() - started < GIVES_UP_WITHIN
            assert holder.poll() is None, "the lock was released too early to prove anything"

            started = loop.time()
            saved = await AsyncSqliteBdbRepository(patient).save(
                Bdb(uid=1, name="patient", revision=1), expected_revision=0
            )
            waited = loop.time() - started
        assert saved
        assert waited > 1.0  # it really waited for the other process
        assert watch.max_lag < watch.bound, (watch.max_lag, watch.quiet_lag)
        assert (
            raised.value.description == "The store is unavailable: the SQLite store stayed locked."
        )
        assert await bdbs.get(1) == Bdb(uid=1, name="patient", revision=1)
        assert await bdbs.save(Bdb(uid=1, name="again", revision=2), expected_revision=1)

    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        asyncio.run(asyncio.wait_for(scenario(), DEADLINE))
        assert holder.wait(10) == 0
        assert SqliteBdbRepository(sync_db).get(1) == Bdb(uid=1, name="again", revision=2)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
        impatient.close()
        patient.close()
        sync_db.close()


def test_a_read_only_connection_is_unavailable_without_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    SqliteDatabase(path).close()
    database = AsyncSqliteDatabase(path)
    database._connection.execute("PRAGMA query_only = ON")

    async def scenario() -> None:
        with pytest.raises(StoreUnavailableError) as raised:
            await AsyncSqliteBdbRepository(database).add(Bdb(uid=1, name="db"))
        assert "readonly" in str(raised.value)
        assert str(tmp_path) not in str(raised.value)

    try:
        asyncio.run(asyncio.wait_for(scenario(), DEADLINE))
    finally:
        database.close()


def test_a_file_without_the_schema_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IncompatibleStoreError, match="SqliteDatabase first"):
        AsyncSqliteDatabase(tmp_path / "missing.sqlite3")
    assert not (tmp_path / "missing.sqlite3").exists()

    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    connection.close()
    with pytest.raises(IncompatibleStoreError, match="no bdbexport schema"):
        AsyncSqliteDatabase(other)


def test_a_stopped_redis_server_is_unavailable_in_bounded_time_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    assert server.process is not None
    pid = server.process.pid

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        connection = AsyncRedisConnection(server.url, socket_timeout=0.5)
        bdbs = AsyncRedisBdbRepository(connection)
        try:
            await bdbs.add(Bdb(uid=1, name="db"))  # leaves a connection in the pool
            os.kill(pid, signal.SIGSTOP)
            try:
                async with LoopWatch() as watch:
                    # The pooled connection first, then a fresh one (the first was dropped).
                    for _ in range(2):
                        started = loop.time()
                        with pytest.raises(StoreUnavailableError) as raised:
                            await bdbs.get(1)
                        assert loop.time() - started < GIVES_UP_WITHIN
                        assert str(server.port) not in str(raised.value)
                        assert "127.0.0.1" not in str(raised.value)
                    started = loop.time()
                    outcomes = await asyncio.gather(
                        *(bdbs.get(1) for _ in range(10)), return_exceptions=True
                    )
                    assert loop.time() - started < GIVES_UP_WITHIN
                    assert all(isinstance(o, StoreUnavailableError) for o in outcomes)
                assert watch.max_lag < watch.bound, (watch.max_lag, watch.quiet_lag)
            finally:
                os.kill(pid, signal.SIGCONT)
            assert await bdbs.get(1) == Bdb(uid=1, name="db")
            assert await bdbs.save(Bdb(uid=1, name="back", revision=1), expected_revision=0)
        finally:
            await connection.aclose()

    try:
        asyncio.run(asyncio.wait_for(scenario(), DEADLINE))
    finally:
        if server.process.poll() is None:
            os.kill(pid, signal.SIGCONT)
        server.stop()


def test_the_loops_connection_never_lets_sqlite_wait(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    SqliteDatabase(path).close()
    database = AsyncSqliteDatabase(path, lock_wait=5)

    async def pragmas() -> list[object]:
        names = ("busy_timeout", "journal_mode", "synchronous")
        return [(await database.read_one(f"PRAGMA {name}", ()))[0] for name in names]

    try:
        assert asyncio.run(asyncio.wait_for(pragmas(), DEADLINE)) == [0, "wal", 1]
    finally:
        database.close()


def test_a_removed_store_file_refuses_writes_on_both_connections_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite would write on into the unlinked file and report success."""
    path = tmp_path / "store.sqlite3"
    sync_db = SqliteDatabase(path)
    SqliteBdbRepository(sync_db).add(Bdb(uid=1, name="db"))
    loop_db = AsyncSqliteDatabase(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    async def scenario() -> None:
        bdbs = AsyncSqliteBdbRepository(loop_db)
        assert await bdbs.get(1) == Bdb(uid=1, name="db")  # reads go on
        for _ in range(3):
            with pytest.raises(StoreUnavailableError) as raised:
                await bdbs.save(Bdb(uid=1, name="lost", revision=1), expected_revision=0)
            assert str(tmp_path) not in raised.value.description

    try:
        with caplog.at_level("ERROR", logger="bdbexport.store"):
            asyncio.run(asyncio.wait_for(scenario(), DEADLINE))
            with pytest.raises(StoreUnavailableError, match="removed or replaced"):
                SqliteBdbRepository(sync_db).save(
                    Bdb(uid=1, name="lost", revision=1), expected_revision=0
                )
        assert SqliteBdbRepository(sync_db).get(1) == Bdb(uid=1, name="db")
        assert not path.exists()  # nothing re-created it
        lines = [r.getMessage() for r in caplog.records if r.name == "bdbexport.store"]
        assert len(lines) == 1, lines
        assert str(path) in lines[0]
    finally:
        loop_db.close()
        sync_db.close()


def test_an_immutable_store_file_is_unavailable_for_the_workers_connection_too(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    sync_db = SqliteDatabase(path)
    bdbs = SqliteBdbRepository(sync_db)
    bdbs.add(Bdb(uid=1, name="db"))
    sync_db.close()
    sync_db = SqliteDatabase(path)  # WAL checkpointed: the data is in the file itself
    bdbs = SqliteBdbRepository(sync_db)
    # Not the -shm file: SQLite maps it into memory, and a write to an immutable
    # mapping is a SIGBUS, not an error it could report.
    files = [tmp_path, path, Path(f"{path}-wal")]
    locked = []
    try:
        for file in files:
            if file.exists():
                done = subprocess.run(["chattr", "+i", str(file)], capture_output=True, check=False)
                if done.returncode != 0:
                    pytest.skip("platform lacks chattr +i")
                locked.append(file)
        with pytest.raises(StoreUnavailableError):
            bdbs.save(Bdb(uid=1, name="x", revision=1), expected_revision=0)
        assert bdbs.get(1) == Bdb(uid=1, name="db")
    finally:
        for file in locked:
            subprocess.run(["chattr", "-i", str(file)], check=False)
        sync_db.close()
    assert SqliteBdbRepository(SqliteDatabase(path)).get(1) == Bdb(uid=1, name="db")


def test_a_write_stuck_on_the_disk_stalls_neither_the_loop_nor_the_reads(tmp_path: Path) -> None:
    """A write transaction that takes seconds (a commit on a stalled file system: here a
    statement that sleeps) runs on the store's own thread: the loop keeps ticking, reads
    answer meanwhile, and the stuck write and a write queued behind it end in 503 within
    `lock_wait` plus the grace, not after the stall (the queued one is never run)."""
    path = tmp_path / "store.sqlite3"
    sync_db = SqliteDatabase(path)
    SqliteBdbRepository(sync_db).add(Bdb(uid=1, name="db"))
    database = AsyncSqliteDatabase(path, lock_wait=0.3)
    database._connection.create_function("stall", 1, time.sleep)  # the writing connection

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        bdbs = AsyncSqliteBdbRepository(database)
        assert await database.run(threading.get_ident) != threading.get_ident()
        async with LoopWatch() as watch:
            stuck = asyncio.create_task(database.write(lambda c: c.execute("SELECT stall(3)")))
            await asyncio.sleep(0.1)
            started = loop.time()
            assert await bdbs.get(1) == Bdb(uid=1, name="db")
            assert loop.time() - started < 0.5  # at once, not after the stall
            with pytest.raises(StoreUnavailableError, match="did not answer in time"):
                await bdbs.save(Bdb(uid=1, name="queued", revision=1), expected_revision=0)
            waited = loop.time() - started
            with pytest.raises(StoreUnavailableError):
                await stuck  # its request, too, ends in 503 before the stall does
        assert waited < 3.0, f"the queued write waited {waited:.2f}s, the whole stall"
        assert watch.max_lag < MAX_LAG
        assert await bdbs.get(1) == Bdb(uid=1, name="db")  # the dropped write never ran

    try:
        asyncio.run(asyncio.wait_for(scenario(), DEADLINE))
    finally:
        database.close()
        sync_db.close()
