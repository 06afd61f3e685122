"""`LoginAttempts` in the SQLite file: one row per subject in `login_attempts`.

A failure is counted in one write transaction (read, `after_failure`, write), so
processes sharing the file never lose one. Rows that no longer matter are pruned
now and then by the writes themselves (each row's document carries its `expires`).

The encoding is this store's: a row's key is `user:<email>` or `addr:<address>`, its
`doc` a JSON object of the record's fields and `expires` (as every earlier version
wrote them, so an upgraded file keeps its locks).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from typing import Any

from bdbexport.domain.auth.async_ports import AsyncLoginAttemptsOver
from bdbexport.domain.auth.lockout import (
    LockoutPolicy,
    LoginRecord,
    LoginSubject,
    SubjectKind,
    after_failure,
    expires_at,
    is_current,
    is_locked,
)

from .async_database import AsyncSqliteDatabase
from .database import SqliteDatabase

PRUNE_EVERY = 256
"""One write in this many also deletes the rows that have expired."""

_SELECT = "SELECT doc FROM login_attempts WHERE subject = ?"
_UPSERT = (
    "INSERT INTO login_attempts (subject, doc) VALUES (?, ?)"
    " ON CONFLICT (subject) DO UPDATE SET doc = excluded.doc"
)
_PRUNE = (
    "DELETE FROM login_attempts WHERE json_extract(doc, '$.expires') IS NOT NULL"
    " AND json_extract(doc, '$.expires') < ?"
)

_PREFIX = {SubjectKind.USER: "user:", SubjectKind.ADDRESS: "addr:"}


def subject_key(subject: LoginSubject) -> str:
    """The row key of a subject."""
    return _PREFIX[subject.kind] + subject.name


def record_doc(record: LoginRecord, expires: float | None) -> str:
    """The JSON document a row keeps; `expires` (when the row may be pruned) rides along."""
    return json.dumps(
        {
            "failures": record.failures,
            "last_failure": record.last_failure,
            "locked": record.locked,
            "locked_until": record.locked_until,
            "expires": expires,
        },
        separators=(",", ":"),
    )


def record_of(doc: str) -> LoginRecord:
    """The record a row's document holds."""
    data: dict[str, Any] = json.loads(doc)
    until = data.get("locked_until")
    return LoginRecord(
        failures=int(data.get("failures", 0)),
        last_failure=float(data.get("last_failure", 0.0)),
        locked=bool(data.get("locked", False)),
        locked_until=None if until is None else float(until),
    )


def _count_failure(
    cursor: sqlite3.Cursor, key: str, now: float, policy: LockoutPolicy, prune: bool
) -> LoginRecord:
    row = cursor.execute(_SELECT, (key,)).fetchone()
    previous = None if row is None else record_of(row[0])
    record = after_failure(previous, now, policy)
    cursor.execute(_UPSERT, (key, record_doc(record, expires_at(record, policy))))
    if prune:
        cursor.execute(_PRUNE, (now,))
    return record


def _clear(cursor: sqlite3.Cursor, key: str, now: float) -> bool:
    row = cursor.execute(_SELECT, (key,)).fetchone()
    if row is None:
        return False
    cursor.execute("DELETE FROM login_attempts WHERE subject = ?", (key,))
    return is_locked(record_of(row[0]), now)


class SqliteLoginAttempts:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        self._writes = itertools.count(1)

    def get(self, subject: LoginSubject, now: float, policy: LockoutPolicy) -> LoginRecord | None:
        row = self._db.read_one(_SELECT, (subject_key(subject),))
        record = None if row is None else record_of(row[0])
        return record if is_current(record, now, policy) else None

    def record_failure(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord:
        prune = next(self._writes) % PRUNE_EVERY == 0
        with self._db.write() as cursor:
            return _count_failure(cursor, subject_key(subject), now, policy, prune)

    def clear(self, subject: LoginSubject, now: float) -> bool:
        with self._db.write() as cursor:
            return _clear(cursor, subject_key(subject), now)


class AsyncSqliteLoginAttempts(AsyncLoginAttemptsOver[SqliteLoginAttempts]):
    """The same rows, awaited: writes on the store's own thread, reads on the loop's
    read connection (reads never wait in WAL mode)."""

    def __init__(self, database: AsyncSqliteDatabase) -> None:
        super().__init__(
            SqliteLoginAttempts(database.sync),
            database.run,
            reads=SqliteLoginAttempts(database.reads),
        )
