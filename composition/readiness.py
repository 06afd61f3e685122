"""The `/readyz` probe of a store, from its URL: part of the composition root.

Each store checks what serving needs (its schema or data present, a write going
through: `adapters/sqlite/readiness.py`, `adapters/redis_store/readiness.py`) over a
connection of its own, after the read the requests make (`reads`). A `memory://`
store lives in this process and is ready while the process is: the read alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from .stores import _sqlite_path

Probe = Callable[[], Awaitable[object]]


async def _nothing() -> None:
    return None


def open_readiness_probe(
    url: str, *, reads: Probe | None = None
) -> tuple[Probe | None, Callable[[], Awaitable[None]]]:
    """The probe of the store `url` names (after `reads`, the requests' own read of the
    store, so its time and failures show in the store metrics as before), and how to
    close its connection."""
    check, close = _store_check(url)
    if check is None:
        return reads, close
    if reads is None:
        return check, close
    first: Probe = reads
    then: Probe = check

    async def probe() -> object:
        await first()
        return await then()

    return probe, close


def _store_check(url: str) -> tuple[Probe | None, Callable[[], Awaitable[None]]]:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from bdbexport.adapters.sqlite import AsyncSqliteDatabase
        from bdbexport.adapters.sqlite.readiness import SqliteReadiness

        database = AsyncSqliteDatabase(_sqlite_path(url))

        async def close() -> None:
            database.close()

        return SqliteReadiness(database), close
    if scheme in {"redis", "rediss"}:
        from bdbexport.adapters.redis_store import AsyncRedisConnection
        from bdbexport.adapters.redis_store.readiness import RedisReadiness

        connection = AsyncRedisConnection(url)
        return RedisReadiness(connection), connection.aclose
    return None, _nothing
