"""The `LoginAttempts` ports of a store, from its URL: part of the composition root.

Failed sign-ins are counted where the store's data lives, so every replica of a
store sees the same counts and locks: the `login_attempts` table of the SQLite file,
`<prefix>login:<subject>` keys in Redis. A `memory://` store counts in this process.
Each opener returns the port and how to close what it opened (its own connection).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from bdbexport.adapters.memory.login_attempts import (
    AsyncInMemoryLoginAttempts,
    InMemoryLoginAttempts,
)
from bdbexport.domain.auth.ports import AsyncLoginAttempts, LoginAttempts

from .stores import StoreUrlError, _sqlite_path, open_loop_database


async def _nothing() -> None:
    return None


def open_login_attempts(url: str) -> tuple[LoginAttempts, Callable[[], None]]:
    """The synchronous port (the CLI's `user unlock`) over the store `url` names."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return InMemoryLoginAttempts(), lambda: None
    if scheme == "sqlite":
        from bdbexport.adapters.sqlite import SqliteDatabase
        from bdbexport.adapters.sqlite.login_attempts import SqliteLoginAttempts

        database = SqliteDatabase(_sqlite_path(url))
        return SqliteLoginAttempts(database), database.close
    if scheme in {"redis", "rediss"}:
        from bdbexport.adapters.redis_store import RedisConnection
        from bdbexport.adapters.redis_store.login_attempts import RedisLoginAttempts

        connection = RedisConnection(url)
        return RedisLoginAttempts(connection), connection.close
    raise StoreUrlError(f"Unsupported store URL {url!r}.")


def open_async_login_attempts(
    url: str,
) -> tuple[AsyncLoginAttempts, Callable[[], Awaitable[None]]]:
    """The asynchronous port (the server's sign-ins) over the store `url` names."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return AsyncInMemoryLoginAttempts(), _nothing
    if scheme == "sqlite":
        from bdbexport.adapters.sqlite.login_attempts import AsyncSqliteLoginAttempts

        database, close = open_loop_database(_sqlite_path(url))  # the store's own, shared
        return AsyncSqliteLoginAttempts(database), close
    if scheme in {"redis", "rediss"}:
        from bdbexport.adapters.redis_store import AsyncRedisConnection
        from bdbexport.adapters.redis_store.async_login_attempts import AsyncRedisLoginAttempts

        connection = AsyncRedisConnection(url)
        return AsyncRedisLoginAttempts(connection), connection.aclose
    raise StoreUrlError(f"Unsupported store URL {url!r}.")
