"""The stores' readiness probes (issue 22, finding 11), against a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bdbexport.adapters.sqlite import AsyncSqliteDatabase, SqliteDatabase
from bdbexport.adapters.sqlite.readiness import SqliteReadiness
from bdbexport.domain.errors import StoreUnavailableError

pytestmark = pytest.mark.anyio


async def test_a_sqlite_store_is_ready_and_the_probe_writes_one_heartbeat_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    SqliteDatabase(path).close()
    database = AsyncSqliteDatabase(path)
    try:
        probe = SqliteReadiness(database)
        await probe()
        await probe()
        rows = await database.read_all("SELECT key FROM meta WHERE key LIKE 'readiness%'", ())
        assert len(rows) == 1
    finally:
        database.close()


async def test_a_sqlite_store_missing_a_table_is_not_ready(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    SqliteDatabase(path).close()
    database = AsyncSqliteDatabase(path)
    try:
        with sqlite3.connect(path) as other:
            other.execute("DROP TABLE claims")
        with pytest.raises(StoreUnavailableError, match="schema is missing"):
            await SqliteReadiness(database)()
    finally:
        database.close()


async def test_less_room_than_the_minimum_is_a_full_disk(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    SqliteDatabase(path).close()
    database = AsyncSqliteDatabase(path)
    try:
        with pytest.raises(StoreUnavailableError, match="disk is full"):
            await SqliteReadiness(database, min_free=2**62)()
    finally:
        database.close()
