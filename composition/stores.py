"""Choosing a store from a URL: part of the composition root.

A store offers the synchronous ports (CLI, export workers, seeding) and, on demand
(`Store.open_async()`), the asynchronous ones over the same data (the server's
requests on the event loop).

`memory://` keeps everything in the process (throwaway runs, tests); `sqlite:///path`
is the embedded default, one file; `redis://` / `rediss://` is the store several
replicas share. Every
store offers the same ports, plus a `secret(name)` shared by all processes using it
(the JWT signing key), so replicas of one store accept each other's tokens.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bdbexport.adapters.memory import (
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    AsyncInMemoryUserDirectory,
    InMemoryBdbRepository,
    InMemoryModuleCatalog,
    InMemoryUserDirectory,
)
from bdbexport.domain.auth.ports import AsyncUserDirectory, UserDirectory
from bdbexport.domain.ports import (
    AsyncBdbRepository,
    AsyncModuleCatalog,
    BdbRepository,
    ModuleRegistry,
)

if TYPE_CHECKING:  # imported when a SQLite store is opened, never by memory embedders
    from bdbexport.adapters.sqlite import AsyncSqliteDatabase

STORE_ENV = "BDBEXPORT_STORE"
HOME_ENV = "BDBEXPORT_HOME"


class StoreUrlError(ValueError):
    """The store URL names no store this build can open."""


def default_store_path() -> Path:
    """`$BDBEXPORT_HOME/bdbexport.sqlite3`, else under `$XDG_DATA_HOME` (~/.local/share)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home) / "bdbexport.sqlite3"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "bdbexport" / "bdbexport.sqlite3"


def default_store_url() -> str:
    return os.environ.get(STORE_ENV) or f"sqlite://{default_store_path()}"


def default_export_root(store_url: str) -> Path:
    """Where `mount_point` exports may go when no `--export-root` is given: the folder
    `exports` next to a SQLite store's file, else (Redis, memory) in the data directory
    of the default store (`$BDBEXPORT_HOME/exports`, else
    `$XDG_DATA_HOME/bdbexport/exports`): a place the server's own user owns, never the
    whole file system."""
    if store_url.startswith("sqlite://"):
        return Path(_sqlite_path(store_url)).absolute().parent / "exports"
    return default_store_path().parent / "exports"


def store_hosts(store_url: str) -> tuple[str, ...]:
    """The hosts a store lives on, which exports may not connect to (egress policy)."""
    parts = urlsplit(store_url)
    if parts.scheme in {"redis", "rediss"} and parts.hostname:
        return (parts.hostname,)
    return ()


async def _nothing_to_close() -> None:
    return None


@dataclass
class AsyncStore:
    """The asynchronous ports over a store's data, for code on an event loop."""

    bdbs: AsyncBdbRepository
    modules: AsyncModuleCatalog
    users: AsyncUserDirectory
    close: Callable[[], Awaitable[None]] = _nothing_to_close


@dataclass
class Store:
    url: str
    bdbs: BdbRepository
    modules: ModuleRegistry
    users: UserDirectory
    secret: Callable[[str], bytes]
    close: Callable[[], None] = field(default=lambda: None)
    transaction: Callable[[], AbstractContextManager[Any]] | None = None
    """A context manager making several writes atomic, where the store has one."""
    open_async: Callable[[], AsyncStore] | None = None
    """Opens the asynchronous ports over the same data (its own connections)."""
    never_served: Callable[[], bool] = field(default=lambda: True)
    """Whether no server ever used this store: it holds no token-signing secret (the
    first thing a server creates in a store it serves)."""

    @property
    def is_empty(self) -> bool:
        return (
            next(iter(self.users.list()), None) is None
            and next(iter(self.bdbs.list(limit=1)), None) is None
        )

    @property
    def is_new(self) -> bool:
        """Provably new, so automatic seeding (the demo dataset) may fill it: no user, no
        bdb, and never served. A store a server has served, even one emptied since, is
        never seeded again without the operator asking (`--bootstrap`)."""
        return self.is_empty and self.never_served()


def open_store(url: str) -> Store:
    """Open (creating if needed) the store `url` names; `StoreUrlError` if none."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return _memory_store(url)
    if parts.scheme == "sqlite":
        return _sqlite_store(url)
    if parts.scheme in {"redis", "rediss"}:
        return _redis_store(url)
    raise StoreUrlError(
        f"Unsupported store URL {url!r}: use memory://, sqlite:///path/to/file.sqlite3,"
        " redis://host:port/db or rediss://..."
    )


def _sqlite_store(url: str) -> Store:
    # Imported here, like the Redis client: an embedder of the in-memory adapters
    # never loads a store driver.
    from bdbexport.adapters.sqlite import (
        AsyncSqliteBdbRepository,
        AsyncSqliteModuleCatalog,
        AsyncSqliteUserDirectory,
        SqliteBdbRepository,
        SqliteDatabase,
        SqliteModuleCatalog,
        SqliteUserDirectory,
    )

    path = _sqlite_path(url)
    database = SqliteDatabase(path)

    def open_async() -> AsyncStore:
        # The loop's SQLite: writes on one thread, reads at once, never blocking the loop.
        connection, close = open_loop_database(path)
        return AsyncStore(
            bdbs=AsyncSqliteBdbRepository(connection),
            modules=AsyncSqliteModuleCatalog(connection),
            users=AsyncSqliteUserDirectory(connection),
            close=close,
        )

    return Store(
        url=url,
        bdbs=SqliteBdbRepository(database),
        modules=SqliteModuleCatalog(database),
        users=SqliteUserDirectory(database),
        secret=database.secret,
        close=database.close,
        transaction=database.write,
        open_async=open_async,
        never_served=lambda: not database.has_secret("jwt"),
    )


_loop_databases: dict[str, tuple[AsyncSqliteDatabase, int]] = {}
_loop_databases_lock = threading.Lock()


def open_loop_database(path: str) -> tuple[AsyncSqliteDatabase, Callable[[], Awaitable[None]]]:
    """The event loop's database of the SQLite file at `path`, and how to let go of it.

    One per file in a process: the store's async ports, its action log and its login
    attempts share one writing thread holding one connection (one connection beat a
    pool contending for SQLite's write lock), and it closes when the last of them lets
    go."""
    from bdbexport.adapters.sqlite import AsyncSqliteDatabase

    try:
        status = os.stat(path)  # the file itself: one replaced under the same name is another
        key = f"{Path(path).resolve()}:{status.st_dev}:{status.st_ino}"
    except OSError:
        key = str(Path(path).resolve())  # no such file: AsyncSqliteDatabase says so
    with _loop_databases_lock:
        database, users = _loop_databases.get(key) or (AsyncSqliteDatabase(path), 0)
        _loop_databases[key] = (database, users + 1)
    released = False

    async def close() -> None:
        nonlocal released
        with _loop_databases_lock:
            if released:
                return
            released = True
            database_now, remaining = _loop_databases[key]
            if remaining > 1:
                _loop_databases[key] = (database_now, remaining - 1)
                return
            del _loop_databases[key]
        database.close()

    return database, close


def _redis_store(url: str) -> Store:
    # Imported here: the redis client is an optional dependency (the `redis` extra).
    try:
        from bdbexport.adapters.redis_store import (
            AsyncRedisBdbRepository,
            AsyncRedisConnection,
            AsyncRedisModuleCatalog,
            AsyncRedisUserDirectory,
            RedisBdbRepository,
            RedisConnection,
            RedisModuleCatalog,
            RedisUserDirectory,
        )
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise StoreUrlError(
            f"Store URL {url!r} needs the Redis client: pip install 'bdbexport[redis]'."
        ) from error
    connection = RedisConnection(url)

    def open_async() -> AsyncStore:
        # redis.asyncio: one round trip per read or compare-and-set, on the loop.
        shared = AsyncRedisConnection(url)
        return AsyncStore(
            bdbs=AsyncRedisBdbRepository(shared),
            modules=AsyncRedisModuleCatalog(shared),
            users=AsyncRedisUserDirectory(shared),
            close=shared.aclose,
        )

    return Store(
        url=url,
        bdbs=RedisBdbRepository(connection),
        modules=RedisModuleCatalog(connection),
        users=RedisUserDirectory(connection),
        secret=connection.secret,
        close=connection.close,
        open_async=open_async,
        never_served=lambda: not _redis_has(connection, connection.key("secret", "jwt")),
    )


def _redis_has(connection: Any, key: str) -> bool:
    with connection.available():
        return bool(connection.client.exists(key))


def _sqlite_path(url: str) -> str:
    # Everything after "sqlite://" is the file's path: sqlite:///var/lib/x.sqlite3 is
    # /var/lib/x.sqlite3, sqlite://x.sqlite3 is relative to the working directory.
    path = url[len("sqlite://") :]
    if not path.strip("/") or "?" in path:
        raise StoreUrlError(f"Store URL {url!r} names no file: use sqlite:///path/to/file.")
    return path


def _memory_store(url: str) -> Store:
    keys: dict[str, bytes] = {}

    def secret(name: str) -> bytes:
        return keys.setdefault(name, secrets.token_bytes(32))

    bdbs, modules, users = InMemoryBdbRepository(), InMemoryModuleCatalog(), InMemoryUserDirectory()

    def open_async() -> AsyncStore:
        # Views of the same dicts: what the loop changes, the workers see.
        return AsyncStore(
            bdbs=AsyncInMemoryBdbRepository(bdbs),
            modules=AsyncInMemoryModuleCatalog(modules),
            users=AsyncInMemoryUserDirectory(users),
        )

    return Store(
        url=url,
        bdbs=bdbs,
        modules=modules,
        users=users,
        secret=secret,
        open_async=open_async,
        never_served=lambda: "jwt" not in keys,
    )
