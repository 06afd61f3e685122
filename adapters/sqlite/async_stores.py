"""The async ports over one `AsyncSqliteDatabase`: the sync stores of `stores.py`, each
write run on the database's own thread, each read at once on the loop's read
connection (`bdbexport.domain.async_ports`).

The statements, the documents and their decoding exist once, in `stores.py`; a write
here is one hop to the thread that holds the writing connection.
"""

from __future__ import annotations

from bdbexport.domain.async_ports import (
    AsyncBdbRepositoryOver,
    AsyncModuleCatalogOver,
)
from bdbexport.domain.auth.async_ports import AsyncUserDirectoryOver

from .async_database import AsyncSqliteDatabase
from .stores import SqliteBdbRepository, SqliteModuleCatalog, SqliteUserDirectory

LIST_PAGE = 500
"""Bdbs a listing decodes per page."""


class AsyncSqliteBdbRepository(AsyncBdbRepositoryOver[SqliteBdbRepository]):
    def __init__(self, database: AsyncSqliteDatabase) -> None:
        super().__init__(
            SqliteBdbRepository(database.sync),
            database.run,
            reads=SqliteBdbRepository(database.reads),
            page=LIST_PAGE,
        )


class AsyncSqliteModuleCatalog(AsyncModuleCatalogOver[SqliteModuleCatalog]):
    def __init__(self, database: AsyncSqliteDatabase) -> None:
        super().__init__(
            SqliteModuleCatalog(database.sync),
            database.run,
            reads=SqliteModuleCatalog(database.reads),
        )


class AsyncSqliteUserDirectory(AsyncUserDirectoryOver[SqliteUserDirectory]):
    def __init__(self, database: AsyncSqliteDatabase) -> None:
        super().__init__(
            SqliteUserDirectory(database.sync),
            database.run,
            reads=SqliteUserDirectory(database.reads),
        )
