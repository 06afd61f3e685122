"""The embedded store: one SQLite file in WAL mode holding bdbs, modules, users and secrets."""

from .async_database import AsyncSqliteDatabase
from .async_stores import (
    AsyncSqliteBdbRepository,
    AsyncSqliteModuleCatalog,
    AsyncSqliteUserDirectory,
)
from .database import SqliteDatabase
from .stores import SqliteBdbRepository, SqliteModuleCatalog, SqliteUserDirectory

__all__ = [
    "AsyncSqliteBdbRepository",
    "AsyncSqliteDatabase",
    "AsyncSqliteModuleCatalog",
    "AsyncSqliteUserDirectory",
    "SqliteBdbRepository",
    "SqliteDatabase",
    "SqliteModuleCatalog",
    "SqliteUserDirectory",
]
