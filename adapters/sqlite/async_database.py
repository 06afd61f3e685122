"""A second connection to a store's SQLite file, for the event loop.

SQLite calls are synchronous, and a busy timeout would make them sleep on the calling
thread, the event loop's. So this connection never lets SQLite wait
(`busy_timeout = 0`): a statement runs inline, which takes microseconds, and when the
write lock is held elsewhere (another process, or the sync `SqliteDatabase` of export
workers in this one) SQLite answers BUSY at once and the coroutine sleeps with
`asyncio.sleep` before trying again, giving up after `lock_wait` seconds with
`StoreUnavailableError`. Nothing awaits while a transaction is open, so coroutines
sharing the connection never see each other's transactions.

It does not create or migrate the schema: the sync `SqliteDatabase` does, and the
server opens it first. Messages never name the file: unauthenticated callers see them.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bdbexport.domain.errors import IncompatibleStoreError, StoreUnavailableError

from .database import APPLICATION_ID, SCHEMA_VERSION
from .faults import FileWatch, primary_code

T = TypeVar("T")

LOCK_WAIT = 2.0
FIRST_BACKOFF = 0.001
MAX_BACKOFF = 0.05

_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class AsyncSqliteDatabase:
    """The loop's connection; repositories borrow it through `read_one`, `read_all`
    and `write`. Use it from one event loop only."""

    def __init__(self, path: str | Path, *, lock_wait: float = LOCK_WAIT) -> None:
        self.path = str(path)
        self.lock_wait = lock_wait
        self._watch = FileWatch(self.path)
        if not Path(self.path).is_file():
            raise IncompatibleStoreError(
                "There is no bdbexport SQLite store at that path: open it with"
                " SqliteDatabase first, which creates it."
            )
        # mode=rw: a file removed under us must not be silently re-created empty.
        uri = Path(self.path).absolute().as_uri() + "?mode=rw"
        try:
            # Only while opening (at start-up, not on the loop's hot path) may SQLite
            # wait for a lock, as the sync database does.
            self._connection = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=lock_wait
            )
        except sqlite3.Error as error:
            unavailable = self._watch.translate(error)
            if unavailable is None:
                raise
            raise unavailable from error
        try:
            self._check_schema()
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA synchronous = NORMAL")
            self._connection.execute("PRAGMA busy_timeout = 0")
        except sqlite3.DatabaseError as error:
            self._connection.close()
            unavailable = self._watch.translate(error)
            if unavailable is not None:
                raise unavailable from error
            raise IncompatibleStoreError(
                f"The file is not a bdbexport SQLite store ({error})."
            ) from error
        except BaseException:
            self._connection.close()
            raise

    def _check_schema(self) -> None:
        application_id = self._connection.execute("PRAGMA application_id").fetchone()[0]
        version = self._connection.execute("PRAGMA user_version").fetchone()[0]
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

    async def read_one(self, sql: str, params: Sequence[Any]) -> Any:
        rows = await self.read_all(sql, params)
        return rows[0] if rows else None

    async def read_all(self, sql: str, params: Sequence[Any]) -> list[Any]:
        # fetchall finishes the statement, so no read transaction outlives the call.
        return await self._retry(lambda: self._connection.execute(sql, params).fetchall())

    async def write(self, work: Callable[[sqlite3.Cursor], T]) -> T:
        """Run `work` in one BEGIN IMMEDIATE ... COMMIT transaction, rolled back if it
        raises. `work` is synchronous on purpose: the transaction opens and closes
        without an `await` in between. It may run again (after a rollback) if SQLite
        answers BUSY, so it must only touch the database."""
        self._watch.check()
        result = await self._retry(lambda: self._transaction(work))
        self._watch.up()
        return result

    def _transaction(self, work: Callable[[sqlite3.Cursor], T]) -> T:
        cursor = self._connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            result = work(cursor)
            cursor.execute("COMMIT")
        except BaseException:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            raise
        return result

    async def _retry(self, operation: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait
        backoff = FIRST_BACKOFF
        while True:
            try:
                return operation()
            except sqlite3.Error as error:
                if primary_code(error) not in _BUSY:
                    unavailable = self._watch.translate(error)
                    if unavailable is None:
                        raise
                    raise unavailable from error
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise StoreUnavailableError("the SQLite store stayed locked") from error
                # Jitter keeps the coroutines waiting on one lock from retrying in step.
                pause = min(remaining, backoff * random.uniform(0.5, 1.0))
            await asyncio.sleep(pause)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def close(self) -> None:
        self._connection.close()
