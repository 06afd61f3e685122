"""The event loop's SQLite: writes on one thread holding one connection, reads at once.

SQLite calls are synchronous: a write waiting for SQLite's write lock, a commit or a
checkpoint (the disk's sync) would stop the event loop for as long as it takes. So
every write the loop asks runs on one dedicated thread that holds one connection (one
connection serialised beat a pool contending for SQLite's one write lock), and the loop
awaits its result: one hop per store method (its statements and its transaction run
together over there). Reads run at once on a read connection of the loop's own: in WAL
mode a read never waits for a writer or a lock and takes microseconds, where a hop to
a thread costs tens of microseconds and, under load, the thread's wait for the GIL
(measured: one hop per read took the SQLite reset from 10,600 to 7,300 req/s, p99
from 8 ms to 100 ms; docs/architecture.md). The stores built on it (`async_stores.py`)
are the sync stores of `stores.py` over these two connections.

Neither connection lets SQLite wait (`busy_timeout = 0`): when the write lock is held
elsewhere (another process, or the export workers' `SqliteDatabase` in this one), the
thread retries with a growing backoff until the caller's deadline, `lock_wait` seconds
after the loop asked, then answers `StoreUnavailableError` (503 with Retry-After). A
write that waited its turn behind a locked one has had its deadline running meanwhile,
so no request waits longer than `lock_wait` plus one statement, however many queue; a
write stuck longer (a stalled disk) ends its request `STALL_GRACE` later, and the calls
queued behind it are dropped once their callers have given up.

It does not create or migrate the schema: the sync `SqliteDatabase` does, and the
server opens it first. Messages never name the file: unauthenticated callers see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bdbexport.domain.errors import IncompatibleStoreError, StoreUnavailableError

from .database import APPLICATION_ID, SCHEMA_VERSION, SqliteDatabase
from .faults import FileWatch

T = TypeVar("T")

LOCK_WAIT = 2.0

STALL_GRACE = 1.0
"""Seconds past `lock_wait` a caller waits for the thread at all: a write stuck on the
disk (a stalled file system) ends the request in 503 then, and a call still queued is
dropped instead of run."""

_Job = tuple[Callable[[], Any], float, asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class AsyncSqliteDatabase:
    """The writing thread and its connection (`sync`, reached through `run`, the hop),
    and the loop's read connection (`reads`, used at once)."""

    def __init__(self, path: str | Path, *, lock_wait: float = LOCK_WAIT) -> None:
        self.path = str(path)
        self.lock_wait = lock_wait
        connection = _open(self.path, lock_wait)
        self._connection = connection
        self.sync = SqliteDatabase(self.path, opened=connection, lock_wait=lock_wait)
        try:
            # No wait at all: a read SQLite finds locked (in WAL mode only while another
            # connection recovers the log) is unavailable at once, never slept on.
            reader = _open(self.path, lock_wait)
            self.reads = SqliteDatabase(self.path, opened=reader, lock_wait=0)
        except BaseException:
            connection.close()
            raise
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="bdbexport-sqlite", daemon=True)
        self._thread.start()

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` on the store's thread, awaited; it gives up waiting for SQLite's
        lock `lock_wait` seconds from now."""
        if self._closed:
            raise StoreUnavailableError("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((work, time.monotonic() + self.lock_wait, loop, future))
        try:
            return await asyncio.wait_for(future, self.lock_wait + STALL_GRACE)
        except TimeoutError:
            raise StoreUnavailableError("the SQLite store did not answer in time") from None

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            work, deadline, loop, future = job
            if future.done():  # its caller gave up (or was cancelled) while it queued
                continue
            self.sync.deadline = deadline
            try:
                result = work()
            except BaseException as error:  # handed to the awaiting coroutine
                _answer(loop, future, None, error)
            else:
                _answer(loop, future, result, None)
            finally:
                self.sync.deadline = None
                del job, work, future

    async def read_one(self, sql: str, params: Sequence[Any]) -> Any:
        """One row, read at once on the loop's read connection."""
        return self.reads.read_one(sql, params)

    async def read_all(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every row, read at once on the loop's read connection."""
        return self.reads.read_all(sql, params)

    async def write(self, work: Callable[[sqlite3.Cursor], T]) -> T:
        """Run `work` in one BEGIN IMMEDIATE ... COMMIT transaction on the store's
        thread, rolled back if it raises."""

        def transaction() -> T:
            with self.sync.write() as cursor:
                return work(cursor)

        return await self.run(transaction)

    def close(self) -> None:
        """Finish the calls asked so far, then close the connection."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._thread.join()
        self.sync.close()
        self.reads.close()


def _answer(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    def settle() -> None:
        if future.done():  # the caller was cancelled meanwhile
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
        loop.call_soon_threadsafe(settle)


def _open(path: str, lock_wait: float) -> sqlite3.Connection:
    """The loop's connection to an existing store of the current schema."""
    watch = FileWatch(path)
    if not Path(path).is_file():
        raise IncompatibleStoreError(
            "There is no bdbexport SQLite store at that path: open it with"
            " SqliteDatabase first, which creates it."
        )
    # mode=rw: a file removed under us must not be silently re-created empty.
    uri = Path(path).absolute().as_uri() + "?mode=rw"
    try:
        # Only while opening (at start-up) may SQLite wait for a lock itself.
        connection = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, timeout=lock_wait
        )
    except sqlite3.Error as error:
        unavailable = watch.translate(error)
        if unavailable is None:
            raise
        raise unavailable from error
    try:
        _check_schema(connection)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA busy_timeout = 0")
    except sqlite3.DatabaseError as error:
        connection.close()
        unavailable = watch.translate(error)
        if unavailable is not None:
            raise unavailable from error
        raise IncompatibleStoreError(
            f"The file is not a bdbexport SQLite store ({error})."
        ) from error
    except BaseException:
        connection.close()
        raise
    return connection


def _check_schema(connection: sqlite3.Connection) -> None:
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if application_id != APPLICATION_ID:
        raise IncompatibleStoreError(
            "The SQLite file has no bdbexport schema: open it with SqliteDatabase"
            " first, which creates it."
        )
    if version != SCHEMA_VERSION:
        raise IncompatibleStoreError(
            f"The SQLite store has schema {version}, this version uses {SCHEMA_VERSION}:"
            " open it with SqliteDatabase first, which migrates it (or refuses a newer one)."
        )
