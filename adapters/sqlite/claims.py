"""`Claims` in the SQLite file: the `claims` table (schema 3), one row per live claim.

A claim is one write transaction: expired rows go, then an `INSERT OR IGNORE` either
adds the row (won) or finds the name taken (lost). SQLite serialises write
transactions across every process on the file, so exactly one caller wins. Expiry
uses the callers' clocks (epoch seconds), so replicas on one file should agree on
the time within the margin their ttl leaves (docs/backups.md).
"""

from __future__ import annotations

from datetime import timedelta

from bdbexport.domain.ports import Clock

from .database import SqliteDatabase


class SqliteClaims:
    def __init__(self, database: SqliteDatabase, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def claim(self, name: str, holder: str, ttl: timedelta) -> bool:
        now = self._clock.now().timestamp()
        with self._db.write() as cursor:
            cursor.execute("DELETE FROM claims WHERE expires <= ?", (now,))
            cursor.execute(
                "INSERT OR IGNORE INTO claims (name, holder, expires) VALUES (?, ?, ?)",
                (name, holder, now + ttl.total_seconds()),
            )
            return cursor.rowcount == 1
