"""The `Claims` port of a store, from its URL: part of the composition root.

Claims live where the store's data lives, so replicas sharing a store race on the
same claims: the `claims` table of the SQLite file, `<prefix>claim:<name>` keys in
Redis. A `memory://` store keeps them in this process (one replica only).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from bdbexport.adapters.memory.claims import InMemoryClaims
from bdbexport.domain.ports import Claims, Clock

from .stores import StoreUrlError, _sqlite_path


def open_claims(url: str, clock: Clock) -> tuple[Claims, Callable[[], None]]:
    """The store's claims and how to close their connection."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return InMemoryClaims(clock), _noop
    if scheme == "sqlite":
        from bdbexport.adapters.sqlite import SqliteDatabase
        from bdbexport.adapters.sqlite.claims import SqliteClaims

        database = SqliteDatabase(_sqlite_path(url))
        return SqliteClaims(database, clock), database.close
    if scheme in {"redis", "rediss"}:
        from bdbexport.adapters.redis_store import RedisConnection
        from bdbexport.adapters.redis_store.claims import RedisClaims

        connection = RedisConnection(url)
        return RedisClaims(connection), connection.close
    raise StoreUrlError(f"Unsupported store URL {url!r}.")


def _noop() -> None:
    return None
