"""The `ActionLog` over the `actions` table (schema 3), sync (and async over it).

One row per action: its uid, its bdb and start time in columns (indexed, for listing
and pruning), the record's JSON in `doc`. "Unless finished" is in the statement
itself (an upsert whose update has a WHERE), so it is atomic in SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bdbexport.domain.action_records import FINISHED, ActionRecord
from bdbexport.domain.async_ports import AsyncActionLogOver

from .async_database import AsyncSqliteDatabase
from .database import SqliteDatabase

_FINISHED_SQL = "(" + ", ".join(f"'{status.value}'" for status in sorted(FINISHED)) + ")"

PUT = f"""
INSERT INTO actions (action_uid, bdb_uid, created, doc) VALUES (?, ?, ?, ?)
ON CONFLICT (action_uid) DO UPDATE SET doc = excluded.doc
WHERE json_extract(actions.doc, '$.status') NOT IN {_FINISHED_SQL}
"""
PRUNE_OLD = f"""
DELETE FROM actions WHERE created < ? AND json_extract(doc, '$.status') IN {_FINISHED_SQL}
"""
PRUNE_MANY = f"""
DELETE FROM actions WHERE json_extract(doc, '$.status') IN {_FINISHED_SQL} AND action_uid IN (
    SELECT action_uid FROM actions ORDER BY created DESC LIMIT -1 OFFSET ?
)
"""


def _row(record: ActionRecord) -> tuple[Any, ...]:
    return (
        record.action_uid,
        record.bdb_uid,
        record.start_time.timestamp(),
        record.model_dump_json(),
    )


def _listing(bdb_uid: int | None, limit: int | None) -> tuple[str, tuple[Any, ...]]:
    where, params = ("WHERE bdb_uid = ?", (bdb_uid,)) if bdb_uid is not None else ("", ())
    sql = f"SELECT doc FROM actions {where} ORDER BY created DESC LIMIT ?"
    return sql, (*params, -1 if limit is None else max(limit, 0))


class SqliteActionLog:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def get(self, action_uid: str) -> ActionRecord | None:
        row = self._db.read_one("SELECT doc FROM actions WHERE action_uid = ?", (action_uid,))
        return None if row is None else ActionRecord.model_validate_json(row[0])

    def put(self, record: ActionRecord) -> bool:
        with self._db.write() as cursor:
            return cursor.execute(PUT, _row(record)).rowcount > 0

    def list(
        self, *, bdb_uid: int | None = None, limit: int | None = None
    ) -> Iterator[ActionRecord]:
        sql, params = _listing(bdb_uid, limit)
        return iter(
            [ActionRecord.model_validate_json(doc) for (doc,) in self._db.read_all(sql, params)]
        )

    def prune(self, *, keep: int, older_than: datetime) -> int:
        with self._db.write() as cursor:
            removed = cursor.execute(PRUNE_OLD, (older_than.timestamp(),)).rowcount
            return int(removed + cursor.execute(PRUNE_MANY, (keep,)).rowcount)


class AsyncSqliteActionLog(AsyncActionLogOver[SqliteActionLog]):
    """`SqliteActionLog`: writes on the loop's SQLite thread, reads at once."""

    def __init__(self, database: AsyncSqliteDatabase) -> None:
        super().__init__(
            SqliteActionLog(database.sync), database.run, reads=SqliteActionLog(database.reads)
        )
