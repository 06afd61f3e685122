"""The async ports over one `AsyncSqliteDatabase`, on the rows of `stores.py`.

The sync and async views of one file are used at the same time by one server, so
these run the same statements on the same tables and store the same JSON documents.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import BdbAlreadyExistsError, UserAlreadyExistsError
from bdbexport.domain.modules import CatalogModule

from .async_database import AsyncSqliteDatabase
from .stores import LIST_PAGE


class AsyncSqliteBdbRepository:
    def __init__(self, database: AsyncSqliteDatabase) -> None:
        self._db = database

    async def get(self, uid: int) -> Bdb | None:
        row = await self._db.read_one("SELECT doc FROM bdbs WHERE uid = ?", (uid,))
        return None if row is None else Bdb.model_validate_json(row[0])

    async def list(self, *, after_uid: int = 0, limit: int | None = None) -> AsyncIterator[Bdb]:
        remaining = limit
        cursor = after_uid
        while remaining is None or remaining > 0:
            page = LIST_PAGE if remaining is None else min(LIST_PAGE, remaining)
            rows = await self._db.read_all(
                "SELECT uid, doc FROM bdbs WHERE uid > ? ORDER BY uid LIMIT ?", (cursor, page)
            )
            for uid, doc in rows:
                cursor = uid
                yield Bdb.model_validate_json(doc)
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < page:
                return

    async def add(self, bdb: Bdb) -> None:
        row = (bdb.uid, bdb.revision, bdb.to_storage_json())
        try:
            await self._db.write(
                lambda cursor: cursor.execute(
                    "INSERT INTO bdbs (uid, revision, doc) VALUES (?, ?, ?)", row
                )
            )
        except sqlite3.IntegrityError as error:
            raise BdbAlreadyExistsError(bdb.uid) from error

    async def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        params = (bdb.revision, bdb.to_storage_json(), bdb.uid, expected_revision)

        def update(cursor: sqlite3.Cursor) -> bool:
            cursor.execute(
                "UPDATE bdbs SET revision = ?, doc = ? WHERE uid = ? AND revision = ?", params
            )
            return cursor.rowcount == 1

        return await self._db.write(update)


class AsyncSqliteModuleCatalog:
    def __init__(self, database: AsyncSqliteDatabase) -> None:
        self._db = database

    async def get(self, module_name: str) -> CatalogModule | None:
        row = await self._db.read_one(
            "SELECT doc FROM modules WHERE module_name = ?", (module_name,)
        )
        return None if row is None else CatalogModule.model_validate_json(row[0])

    async def list(self) -> AsyncIterator[CatalogModule]:
        rows = await self._db.read_all("SELECT doc FROM modules ORDER BY module_name", ())
        for (doc,) in rows:
            yield CatalogModule.model_validate_json(doc)

    async def add(self, module: CatalogModule) -> None:
        """Add or replace (a new version) the module of that name."""
        row = (module.module_name, module.model_dump_json())
        await self._db.write(
            lambda cursor: cursor.execute(
                "INSERT INTO modules (module_name, doc) VALUES (?, ?)"
                " ON CONFLICT (module_name) DO UPDATE SET doc = excluded.doc",
                row,
            )
        )


class AsyncSqliteUserDirectory:
    def __init__(self, database: AsyncSqliteDatabase) -> None:
        self._db = database

    async def get(self, email: str) -> User | None:
        row = await self._db.read_one("SELECT doc FROM users WHERE email = ?", (email,))
        return None if row is None else User.model_validate_json(row[0])

    async def add(self, user: User) -> None:
        row = (user.email, user.model_dump_json())
        try:
            await self._db.write(
                lambda cursor: cursor.execute("INSERT INTO users (email, doc) VALUES (?, ?)", row)
            )
        except sqlite3.IntegrityError as error:
            raise UserAlreadyExistsError(user.email) from error

    async def list(self) -> AsyncIterator[User]:
        rows = await self._db.read_all("SELECT doc FROM users ORDER BY email", ())
        for (doc,) in rows:
            yield User.model_validate_json(doc)
