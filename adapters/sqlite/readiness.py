"""Whether a SQLite store can serve: what `/readyz` asks of it (issue 22, finding 11).

Reading one row proves little: a file deleted, made immutable or on a full disk still
answers reads from the open file while every write fails. So the probe checks what
serving needs, cheapest first, and raises `StoreUnavailableError` saying which is
missing (the reason names no file: `/readyz` is unauthenticated):

- the schema: every table the store uses is there (`sqlite_master`);
- the file can be written: the path still names the file that was opened, and it,
  its WAL and shared-memory files and its directory are writable (`os.access`: an
  immutable file or a read-only mount fails it, even for root);
- the disk has room: at least `MIN_FREE_BYTES` free (SQLite can still rewrite a page
  in place on a full disk, so a small write proves nothing there);
- a write goes through: one heartbeat row in `meta`, in a transaction of its own.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bdbexport.domain.errors import StoreUnavailableError

from .async_database import AsyncSqliteDatabase

TABLES = ("meta", "bdbs", "modules", "users", "login_attempts", "actions", "claims")
"""Every table a store of this version has: one missing is no store to serve from."""

MIN_FREE_BYTES = 1024 * 1024
"""Less free space than this on the store's file system is a full disk."""

HEARTBEAT_KEY = "readiness:heartbeat"


class SqliteReadiness:
    """The readiness probe of one store file, over a connection of its own."""

    def __init__(self, database: AsyncSqliteDatabase, *, min_free: int = MIN_FREE_BYTES) -> None:
        self._database = database
        self._path = Path(database.path)
        self._min_free = min_free

    async def __call__(self) -> None:
        await self._schema_present()
        self._writable()
        self._room_left()
        stamp = repr(time.time())
        await self._database.write(
            lambda cursor: cursor.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (HEARTBEAT_KEY, stamp),
            )
        )

    async def _schema_present(self) -> None:
        marks = ", ".join("?" for _ in TABLES)
        rows = await self._database.read_all(
            f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",
            TABLES,
        )
        if len(rows) != len(TABLES):
            raise StoreUnavailableError("the store's schema is missing")

    def _writable(self) -> None:
        if not self._path.is_file():
            raise StoreUnavailableError("the store file was removed or replaced while in use")
        companions = (Path(f"{self._path}-wal"), Path(f"{self._path}-shm"))
        for path in (self._path, *companions, self._path.parent):
            if path.exists() and not os.access(path, os.W_OK):
                raise StoreUnavailableError("the store file cannot be written")

    def _room_left(self) -> None:
        status = os.statvfs(self._path.parent)
        # Root may use the blocks reserved for it; others only the available ones.
        blocks = status.f_bfree if os.geteuid() == 0 else status.f_bavail
        if blocks * status.f_frsize < self._min_free:
            raise StoreUnavailableError("the store's disk is full")
