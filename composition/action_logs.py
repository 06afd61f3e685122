"""The `ActionLog` ports of a store, from its URL: part of the composition root.

Action records live where the store's data lives, so every replica answers the
Actions API the same: the `actions` table of the SQLite file, `<prefix>action:<uid>`
keys in Redis. A `memory://` store keeps them in this process, one log shared by the
sync view (workers) and the async one (requests).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bdbexport.adapters.memory.action_log import AsyncInMemoryActionLog, InMemoryActionLog
from bdbexport.domain.ports import ActionLog, AsyncActionLog

from .stores import StoreUrlError, _sqlite_path, open_loop_database


async def _nothing() -> None:
    return None


@dataclass
class ActionLogs:
    """The sync port, how to open the async one (with its own connection and how to
    close it), and how to close the sync one."""

    sync: ActionLog
    open_async: Callable[[], tuple[AsyncActionLog, Callable[[], Awaitable[None]]]]
    close: Callable[[], None]


def open_action_logs(url: str) -> ActionLogs:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        shared = InMemoryActionLog()
        return ActionLogs(shared, lambda: (AsyncInMemoryActionLog(shared), _nothing), _noop)
    if scheme == "sqlite":
        from bdbexport.adapters.sqlite import SqliteDatabase
        from bdbexport.adapters.sqlite.action_log import AsyncSqliteActionLog, SqliteActionLog

        path = _sqlite_path(url)
        database = SqliteDatabase(path)

        def open_sqlite() -> tuple[AsyncActionLog, Callable[[], Awaitable[None]]]:
            connection, close = open_loop_database(path)  # the store's own, shared
            return AsyncSqliteActionLog(connection), close

        return ActionLogs(SqliteActionLog(database), open_sqlite, database.close)
    if scheme in {"redis", "rediss"}:
        from bdbexport.adapters.redis_store import AsyncRedisConnection, RedisConnection
        from bdbexport.adapters.redis_store.action_log import RedisActionLog
        from bdbexport.adapters.redis_store.async_action_log import AsyncRedisActionLog

        connection = RedisConnection(url)

        def open_redis() -> tuple[AsyncActionLog, Callable[[], Awaitable[None]]]:
            shared = AsyncRedisConnection(url)
            return AsyncRedisActionLog(shared), shared.aclose

        return ActionLogs(RedisActionLog(connection), open_redis, connection.close)
    raise StoreUrlError(f"Unsupported store URL {url!r}.")


def _noop() -> None:
    return None
