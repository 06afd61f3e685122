"""One SQLite file, one connection, versioned schema.

WAL with `synchronous=NORMAL` on a single connection, serialised by a lock, beat a
pool of connections contending for SQLite's one write lock; each change is one short
transaction. The file is marked with an `application_id`, and `user_version` records
the schema version: a file that is not ours, or from a newer bdbexport, is refused
with a clear error instead of being damaged.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from bdbexport.domain.errors import IncompatibleStoreError, StoreUnavailableError

from .faults import FileWatch, primary_code

APPLICATION_ID = 0x62646278  # "bdbx"
BUSY_TIMEOUT_MS = 5_000
BUSY_RETRIES = 5
BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
FIRST_BACKOFF = 0.001
MAX_BACKOFF = 0.05

T = TypeVar("T")

OPEN_OUTAGES = frozenset(
    {
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_PROTOCOL,
    }
)
"""At open, these are the disk's fault (a store that is not ours is another matter)."""

MIGRATIONS: Sequence[str] = (
    # 1: the first schema.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE bdbs (
        uid INTEGER PRIMARY KEY,
        revision INTEGER NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE modules (module_name TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE users (email TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
    """,
    # 2: the family. Import and backup fields have defaults and need nothing; the lease,
    # once the export's, is now the running action's: `action_lease_expires`.
    """
    UPDATE bdbs SET doc = json_set(
        json_remove(doc, '$.export_lease_expires'),
        '$.action_lease_expires',
        json_extract(doc, '$.export_lease_expires')
    ) WHERE json_type(doc, '$.export_lease_expires') IS NOT NULL
    """,
    # 3: what replicas share besides bdbs: failed-login counters and lockouts, the
    # action records the Actions API answers from, and claims (e.g. "this replica runs
    # the backup due at T") that make scheduled work happen exactly once.
    """
    CREATE TABLE login_attempts (subject TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE actions (
        action_uid TEXT PRIMARY KEY,
        bdb_uid INTEGER NOT NULL,
        created REAL NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX actions_by_bdb ON actions (bdb_uid, created);
    CREATE INDEX actions_by_time ON actions (created);
    CREATE TABLE claims (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # 4: the schedule index. The backup scheduler reads the bdbs whose periodic backups
    # are on, never the whole table: a partial index SQLite keeps up to date in the
    # statement that writes the row, whichever process or version writes it.
    # `stores.SCHEDULED` repeats its condition word for word, so SQLite uses it.
    """
    CREATE INDEX bdbs_scheduled ON bdbs (uid) WHERE json_extract(doc, '$.backup') = 1
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteDatabase:
    """The connection and its lock; repositories borrow it through `read`/`write`.

    Two ways to wait for SQLite's lock. By default (the CLI, export workers) SQLite
    waits itself (`busy_timeout`), a few times over. Given `opened` and `lock_wait`, an
    already open connection with `busy_timeout = 0` (the loop's, on its own thread:
    `AsyncSqliteDatabase`), a locked statement is retried here with a growing backoff
    until `deadline` (each caller's own), then `StoreUnavailableError`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        opened: sqlite3.Connection | None = None,
        lock_wait: float | None = None,
    ) -> None:
        self.path = str(path)
        self.lock_wait = lock_wait
        self.deadline: float | None = None
        """With `lock_wait`: when the current caller gives up waiting for the lock
        (`time.monotonic()`); None: `lock_wait` from the first try."""
        if opened is not None:
            self._lock = threading.RLock()
            self._depth = 0
            self.created = False
            self._connection = opened
            self._watch = FileWatch(self.path)
            return
        new_file = self.path != ":memory:" and not Path(self.path).exists()
        if self.path != ":memory:":
            # The store holds password hashes and the token signing key: a new store's
            # folder and file are its owner's alone (SQLite gives its -wal and -shm files
            # the file's own permissions).
            Path(self.path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self.created = new_file
        """Whether this open created the file (it did not exist before)."""
        try:
            if new_file:
                Path(self.path).touch(mode=0o600)
            self._connection = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            self._watch = FileWatch(self.path)
            self._prepare()
        except sqlite3.DatabaseError as error:
            if hasattr(self, "_connection"):
                self._connection.close()
            if primary_code(error) in OPEN_OUTAGES:
                raise FileWatch(self.path).down(
                    f"the SQLite store cannot be opened for writing ({error})"
                ) from error
            raise IncompatibleStoreError(
                f"{self.path} is not a bdbexport SQLite store ({error})."
            ) from error

    def _prepare(self) -> None:
        connection = self._connection
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        if application_id != APPLICATION_ID and (application_id != 0 or tables):
            raise IncompatibleStoreError(
                f"{self.path} is an SQLite file, but not a bdbexport store."
            )
        if version > SCHEMA_VERSION:
            raise IncompatibleStoreError(
                f"{self.path} was written by a newer bdbexport (schema {version}; this version"
                f" reads up to {SCHEMA_VERSION})."
            )
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if self.path != ":memory:":
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self._migrate(target)

    def _migrate(self, target: int) -> None:
        with self.write() as cursor:
            # Another process may have migrated while we waited for the write lock.
            if cursor.execute("PRAGMA user_version").fetchone()[0] >= target:
                return
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    cursor.execute(statement)
            cursor.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            cursor.execute(f"PRAGMA user_version = {target}")

    @property
    def schema_version(self) -> int:
        return int(self.read_one("PRAGMA user_version", ())[0])

    def read_one(self, sql: str, params: Sequence[Any]) -> Any:
        return self._retry(lambda: self._connection.execute(sql, params).fetchone())

    def read_all(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self._retry(lambda: self._connection.execute(sql, params).fetchall())

    @contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back if the body raises.

        Nested calls join the outermost transaction, so a caller can make several
        repository writes (a bootstrap load) commit or fail together.
        """
        with self._lock:
            cursor = self._connection.cursor()
            outermost = self._depth == 0
            if outermost:
                self._watch.check()
                self._retry(lambda: cursor.execute("BEGIN IMMEDIATE"))
            self._depth += 1
            try:
                yield cursor
            except BaseException as error:
                self._depth -= 1
                if outermost and self._connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._connection.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    unavailable = self._watch.translate(error)
                    if unavailable is not None:
                        raise unavailable from error
                raise
            self._depth -= 1
            if outermost:
                self._retry(lambda: cursor.execute("COMMIT"))
                self._watch.up()

    def secret(self, name: str) -> bytes:
        """A random secret shared by every process using this file, made on first use."""
        key = f"secret:{name}"
        with self.write() as cursor:
            row = cursor.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is None:
                value = secrets.token_hex(32)
                cursor.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
                return bytes.fromhex(value)
            return bytes.fromhex(row[0])

    def has_secret(self, name: str) -> bool:
        """Whether the secret `name` was ever made (without making it)."""
        row = self.read_one("SELECT 1 FROM meta WHERE key = ?", (f"secret:{name}",))
        return row is not None

    def integrity_check(self) -> str:
        return str(self.read_one("PRAGMA integrity_check", ())[0])

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _retry(self, operation: Callable[[], T]) -> T:
        # busy_timeout already waits; this covers the cases SQLite returns BUSY at once
        # (e.g. a lock upgrade in WAL mode) without turning them into errors.
        if self.lock_wait is not None:
            return self._retry_until(operation, self.lock_wait)
        for attempt in range(BUSY_RETRIES):
            try:
                with self._lock:
                    return operation()
            except sqlite3.Error as error:
                self._raise_unless_busy(error)
                if attempt == BUSY_RETRIES - 1:
                    raise StoreUnavailableError("the SQLite store stayed locked") from error
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")

    def _retry_until(self, operation: Callable[[], T], lock_wait: float) -> T:
        """Retry a statement SQLite found locked until the caller's deadline: the
        thread sleeps, never the event loop, and nothing is held meanwhile."""
        deadline = self.deadline if self.deadline is not None else time.monotonic() + lock_wait
        backoff = FIRST_BACKOFF
        while True:
            try:
                with self._lock:
                    return operation()
            except sqlite3.Error as error:
                self._raise_unless_busy(error)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreUnavailableError("the SQLite store stayed locked") from error
                pause = min(remaining, backoff * random.uniform(0.5, 1.0))
            time.sleep(pause)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _raise_unless_busy(self, error: sqlite3.Error) -> None:
        """Return if `error` is SQLite's lock being held, else raise: the outage it is
        (rolled back), or `error` itself."""
        if primary_code(error) in BUSY_CODES:
            return
        unavailable = self._watch.translate(error)
        if unavailable is None:
            raise error
        if self._connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._connection.execute("ROLLBACK")
        raise unavailable from error
