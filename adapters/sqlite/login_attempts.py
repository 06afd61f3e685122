"""`LoginAttempts` in the SQLite file: one row per subject in `login_attempts`.

A failure is counted in one write transaction (read, `after_failure`, write), so
processes sharing the file never lose one. Rows that no longer matter are pruned
now and then by the writes themselves (each row's document carries its `expires`).
"""

from __future__ import annotations

import itertools
import sqlite3

from bdbexport.domain.lockout import (
    LockoutPolicy,
    LoginRecord,
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


def _count_failure(
    cursor: sqlite3.Cursor, subject: str, now: float, policy: LockoutPolicy, prune: bool
) -> LoginRecord:
    row = cursor.execute(_SELECT, (subject,)).fetchone()
    previous = None if row is None else LoginRecord.from_doc(row[0])
    record = after_failure(previous, now, policy)
    cursor.execute(_UPSERT, (subject, record.to_doc(expires_at(record, policy))))
    if prune:
        cursor.execute(_PRUNE, (now,))
    return record


def _clear(cursor: sqlite3.Cursor, subject: str, now: float) -> bool:
    row = cursor.execute(_SELECT, (subject,)).fetchone()
    if row is None:
        return False
    cursor.execute("DELETE FROM login_attempts WHERE subject = ?", (subject,))
    return is_locked(LoginRecord.from_doc(row[0]), now)


class SqliteLoginAttempts:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        self._writes = itertools.count(1)

    def get(self, subject: str, now: float, policy: LockoutPolicy) -> LoginRecord | None:
        row = self._db.read_one(_SELECT, (subject,))
        record = None if row is None else LoginRecord.from_doc(row[0])
        return record if is_current(record, now, policy) else None

    def record_failure(self, subject: str, now: float, policy: LockoutPolicy) -> LoginRecord:
        prune = next(self._writes) % PRUNE_EVERY == 0
        with self._db.write() as cursor:
            return _count_failure(cursor, subject, now, policy, prune)

    def clear(self, subject: str, now: float) -> bool:
        with self._db.write() as cursor:
            return _clear(cursor, subject, now)


class AsyncSqliteLoginAttempts:
    def __init__(self, database: AsyncSqliteDatabase) -> None:
        self._db = database
        self._writes = itertools.count(1)

    async def get(self, subject: str, now: float, policy: LockoutPolicy) -> LoginRecord | None:
        row = await self._db.read_one(_SELECT, (subject,))
        record = None if row is None else LoginRecord.from_doc(row[0])
        return record if is_current(record, now, policy) else None

    async def record_failure(self, subject: str, now: float, policy: LockoutPolicy) -> LoginRecord:
        prune = next(self._writes) % PRUNE_EVERY == 0
        return await self._db.write(
            lambda cursor: _count_failure(cursor, subject, now, policy, prune)
        )

    async def clear(self, subject: str, now: float) -> bool:
        return await self._db.write(lambda cursor: _clear(cursor, subject, now))
