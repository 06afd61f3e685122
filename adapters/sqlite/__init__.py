"""The embedded store: one SQLite file in WAL mode holding bdbs, modules, users and secrets."""

from .database import SqliteDatabase
from .stores import SqliteBdbRepository, SqliteModuleCatalog, SqliteUserDirectory

__all__ = ["SqliteBdbRepository", "SqliteDatabase", "SqliteModuleCatalog", "SqliteUserDirectory"]
