"""The ports over one `SqliteDatabase`: bdbs, modules and users as JSON documents.

Each row keeps the model's JSON (validated again on read, so a damaged row is an
error, not a wrong answer); bdbs also keep `revision` in a column so a save is one
`UPDATE ... WHERE uid = ? AND revision = ?`, atomic in SQLite, found by primary key.
The bdbs with periodic backups on are also in a partial index (`SCHEDULED`) that
SQLite updates in that same statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import BdbAlreadyExistsError, UserAlreadyExistsError
from bdbexport.domain.modules import CatalogModule

from .database import SqliteDatabase

LIST_PAGE = 500
"""Rows fetched per query when listing: memory stays flat however large the store."""

SCHEDULED = "json_extract(doc, '$.backup') = 1"
"""The condition of the partial index `bdbs_scheduled` (schema 4), word for word: a
query that repeats it reads the index, not the table."""


class SqliteBdbRepository:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def get(self, uid: int) -> Bdb | None:
        row = self._db.read_one("SELECT doc FROM bdbs WHERE uid = ?", (uid,))
        return None if row is None else Bdb.model_validate_json(row[0])

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> Iterator[Bdb]:
        remaining = limit
        cursor = after_uid
        while remaining is None or remaining > 0:
            page = LIST_PAGE if remaining is None else min(LIST_PAGE, remaining)
            rows = self._db.read_all(
                "SELECT uid, doc FROM bdbs WHERE uid > ? ORDER BY uid LIMIT ?", (cursor, page)
            )
            for uid, doc in rows:
                cursor = uid
                yield Bdb.model_validate_json(doc)
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < page:
                return

    def scheduled(self) -> Iterator[Bdb]:
        """Pages through the partial index `bdbs_scheduled`, which SQLite maintains."""
        cursor = 0
        while True:
            rows = self._db.read_all(
                f"SELECT uid, doc FROM bdbs WHERE {SCHEDULED} AND uid > ? ORDER BY uid LIMIT ?",
                (cursor, LIST_PAGE),
            )
            for uid, doc in rows:
                cursor = uid
                yield Bdb.model_validate_json(doc)
            if len(rows) < LIST_PAGE:
                return

    def add(self, bdb: Bdb) -> None:
        try:
            with self._db.write() as cursor:
                cursor.execute(
                    "INSERT INTO bdbs (uid, revision, doc) VALUES (?, ?, ?)",
                    (bdb.uid, bdb.revision, bdb.to_storage_json()),
                )
        except sqlite3.IntegrityError as error:
            raise BdbAlreadyExistsError(bdb.uid) from error

    def add_many(self, bdbs: Iterable[Bdb]) -> int:
        """Bulk load in one transaction (for seeding and benchmarks); existing uids fail it."""
        with self._db.write() as cursor:
            before = cursor.execute("SELECT count(*) FROM bdbs").fetchone()[0]
            cursor.executemany(
                "INSERT INTO bdbs (uid, revision, doc) VALUES (?, ?, ?)",
                ((bdb.uid, bdb.revision, bdb.to_storage_json()) for bdb in bdbs),
            )
            return int(cursor.execute("SELECT count(*) FROM bdbs").fetchone()[0] - before)

    def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        with self._db.write() as cursor:
            cursor.execute(
                "UPDATE bdbs SET revision = ?, doc = ? WHERE uid = ? AND revision = ?",
                (bdb.revision, bdb.to_storage_json(), bdb.uid, expected_revision),
            )
            return cursor.rowcount == 1


class SqliteModuleCatalog:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def get(self, module_name: str) -> CatalogModule | None:
        row = self._db.read_one("SELECT doc FROM modules WHERE module_name = ?", (module_name,))
        return None if row is None else CatalogModule.model_validate_json(row[0])

    def list(self) -> Iterator[CatalogModule]:
        rows = self._db.read_all("SELECT doc FROM modules ORDER BY module_name", ())
        return (CatalogModule.model_validate_json(doc) for (doc,) in rows)

    def add(self, module: CatalogModule) -> None:
        """Add or replace (a new version) the module of that name."""
        with self._db.write() as cursor:
            cursor.execute(
                "INSERT INTO modules (module_name, doc) VALUES (?, ?)"
                " ON CONFLICT (module_name) DO UPDATE SET doc = excluded.doc",
                (module.module_name, module.model_dump_json()),
            )


class SqliteUserDirectory:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def get(self, email: str) -> User | None:
        row = self._db.read_one("SELECT doc FROM users WHERE email = ?", (email,))
        return None if row is None else User.model_validate_json(row[0])

    def add(self, user: User) -> None:
        try:
            with self._db.write() as cursor:
                cursor.execute(
                    "INSERT INTO users (email, doc) VALUES (?, ?)",
                    (user.email, user.model_dump_json()),
                )
        except sqlite3.IntegrityError as error:
            raise UserAlreadyExistsError(user.email) from error

    def replace(self, user: User) -> bool:
        with self._db.write() as cursor:
            cursor.execute(
                "UPDATE users SET doc = ? WHERE email = ?", (user.model_dump_json(), user.email)
            )
            return cursor.rowcount == 1

    def list(self) -> Iterator[User]:
        rows = self._db.read_all("SELECT doc FROM users ORDER BY email", ())
        return (User.model_validate_json(doc) for (doc,) in rows)
