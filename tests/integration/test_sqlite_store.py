"""The SQLite file itself: schema versions, foreign files, WAL, catalogs, users, secrets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bdbexport.adapters.sqlite import (
    SqliteBdbRepository,
    SqliteDatabase,
    SqliteModuleCatalog,
    SqliteUserDirectory,
)
from bdbexport.adapters.sqlite.database import SCHEMA_VERSION
from bdbexport.domain import (
    Bdb,
    CatalogModule,
    IncompatibleStoreError,
    User,
    UserAlreadyExistsError,
)


def test_a_new_file_is_created_with_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "store.sqlite3"
    database = SqliteDatabase(path)
    assert path.exists()
    assert database.schema_version == SCHEMA_VERSION
    assert database.read_one("PRAGMA journal_mode", ())[0] == "wal"
    assert database.read_one("PRAGMA synchronous", ())[0] == 1  # NORMAL
    assert database.integrity_check() == "ok"


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    first = SqliteDatabase(path)
    SqliteBdbRepository(first).add(Bdb(uid=1, name="kept"))
    first.close()
    again = SqliteDatabase(path)
    assert SqliteBdbRepository(again).get(1) == Bdb(uid=1, name="kept")


def test_a_schema_1_file_is_migrated_and_its_export_lease_kept(tmp_path: Path) -> None:
    """A store written before the family existed: the export's lease moves to the
    action's field, and every bdb still loads."""
    path = tmp_path / "v1.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE bdbs (uid INTEGER PRIMARY KEY, revision INTEGER NOT NULL, doc TEXT NOT NULL);
        CREATE TABLE modules (module_name TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE users (email TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
        PRAGMA application_id = 1650745976;
        PRAGMA user_version = 1;
        """
    )
    leased = (
        '{"uid":1,"name":"busy","export_status":"exporting","export_progress":40,'
        '"export_failure_reason":null,"last_export_time":null,"action_uid":"a-1",'
        '"export_lease_expires":"2026-01-01T00:00:00Z","revision":3}'
    )
    idle = '{"uid":2,"name":"idle","export_lease_expires":null,"revision":0}'
    old.execute("INSERT INTO bdbs VALUES (1, 3, ?), (2, 0, ?)", (leased, idle))
    old.commit()
    old.close()

    database = SqliteDatabase(path)
    assert database.schema_version == SCHEMA_VERSION
    bdbs = SqliteBdbRepository(database)
    busy = bdbs.get(1)
    assert busy is not None
    assert busy.action_lease_expires is not None
    assert busy.action_lease_expires.isoformat() == "2026-01-01T00:00:00+00:00"
    assert busy.import_status == "idle"
    assert bdbs.get(2) == Bdb(uid=2, name="idle")
    raw = database.read_one("SELECT doc FROM bdbs WHERE uid = 1", ())[0]
    assert "export_lease_expires" not in raw


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the bytes you are looking for " * 100)
    with pytest.raises(IncompatibleStoreError, match="not a bdbexport SQLite store"):
        SqliteDatabase(path)
    assert path.read_text().startswith("these are not")


def test_another_applications_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(IncompatibleStoreError, match="not a bdbexport store"):
        SqliteDatabase(path)
    with sqlite3.connect(path) as other:
        tables = [row[0] for row in other.execute("SELECT name FROM sqlite_schema")]
    assert tables == ["invoices"]


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    SqliteDatabase(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(IncompatibleStoreError, match="newer bdbexport"):
        SqliteDatabase(path)


def test_modules_are_added_or_replaced_by_name(tmp_path: Path) -> None:
    catalog = SqliteModuleCatalog(SqliteDatabase(tmp_path / "s.sqlite3"))
    catalog.add(CatalogModule(module_name="search", semantic_version="1.0"))
    catalog.add(
        CatalogModule(module_name="search", semantic_version="2.0", capabilities=["backup_restore"])
    )
    catalog.add(CatalogModule(module_name="graph", semantic_version="2.10"))
    assert [m.module_name for m in catalog.list()] == ["graph", "search"]
    search = catalog.get("search")
    assert search is not None
    assert search.supports_backup_restore
    assert catalog.get("nope") is None


def test_users_are_unique_by_email(tmp_path: Path) -> None:
    users = SqliteUserDirectory(SqliteDatabase(tmp_path / "s.sqlite3"))
    user = User(
        email="a@example.com", role="admin", password_hash="scrypt$14$8$1$c2FsdA==$aGFzaA=="
    )
    users.add(user)
    with pytest.raises(UserAlreadyExistsError):
        users.add(user.model_copy(update={"role": "none"}))
    assert users.get("a@example.com") == user
    assert list(users.list()) == [user]
    assert users.get("b@example.com") is None


def test_secrets_are_made_once_and_shared_by_every_connection(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = SqliteDatabase(path).secret("jwt")
    assert len(first) == 32
    assert SqliteDatabase(path).secret("jwt") == first
    assert SqliteDatabase(path).secret("other") != first


def test_a_failed_write_transaction_rolls_back_everything_in_it(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "s.sqlite3")
    bdbs = SqliteBdbRepository(database)

    def load_then_fail() -> None:
        with database.write():
            bdbs.add(Bdb(uid=1, name="one"))
            bdbs.add(Bdb(uid=2, name="two"))
            raise RuntimeError("halfway")

    with pytest.raises(RuntimeError):
        load_then_fail()
    assert list(bdbs.list()) == []


def test_bulk_loading_and_paged_listing(tmp_path: Path) -> None:
    bdbs = SqliteBdbRepository(SqliteDatabase(tmp_path / "s.sqlite3"))
    assert bdbs.add_many(Bdb(uid=uid, name=f"db{uid}") for uid in range(1, 1202)) == 1201
    assert sum(1 for _ in bdbs.list()) == 1201
    assert [bdb.uid for bdb in bdbs.list(after_uid=499, limit=3)] == [500, 501, 502]
    assert len(list(bdbs.list(after_uid=100, limit=700))) == 700


def test_a_new_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """It holds password hashes and the token signing key."""
    path = tmp_path / "private" / "store.sqlite3"
    database = SqliteDatabase(path)
    database.secret("jwt")
    database.close()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    for created in path.parent.iterdir():
        assert created.stat().st_mode & 0o077 == 0, created


def test_a_process_has_one_loop_database_per_file_until_its_last_user_lets_go(
    tmp_path: Path,
) -> None:
    """The server's store, action log and login attempts share one writing thread and
    one connection (composition.stores.open_loop_database)."""
    import asyncio

    from bdbexport.adapters.sqlite import AsyncSqliteBdbRepository
    from bdbexport.composition.stores import open_loop_database
    from bdbexport.domain import StoreUnavailableError

    path = tmp_path / "store.sqlite3"
    SqliteDatabase(path).close()

    async def scenario() -> None:
        first, let_go_first = open_loop_database(str(path))
        second, let_go_second = open_loop_database(str(path))
        assert first is second
        await let_go_first()
        await let_go_first()  # a second release by the same user changes nothing
        await AsyncSqliteBdbRepository(second).add(Bdb(uid=1, name="db"))
        await let_go_second()
        with pytest.raises(StoreUnavailableError, match="closed"):
            await AsyncSqliteBdbRepository(second).add(Bdb(uid=2, name="late"))
        third, let_go_third = open_loop_database(str(path))
        assert third is not first
        assert await AsyncSqliteBdbRepository(third).get(1) == Bdb(uid=1, name="db")
        await let_go_third()

    asyncio.run(scenario())
