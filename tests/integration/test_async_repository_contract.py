"""The async ports' contract, run against every async adapter.

The assertions are those of `test_bdb_repository_contract.py`, awaited, so the async
stores promise exactly what the sync ones do. Each kind also opens the sync view of the
same store, because a server uses both at once (requests on the event loop, export
workers in threads): what one writes the other must read, and their compare-and-sets
must exclude each other. Each test runs its own event loop under a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from bdbexport.adapters.memory import (
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    AsyncInMemoryUserDirectory,
    InMemoryBdbRepository,
    InMemoryModuleCatalog,
    InMemoryUserDirectory,
)
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
from bdbexport.adapters.sqlite import (
    AsyncSqliteBdbRepository,
    AsyncSqliteDatabase,
    AsyncSqliteModuleCatalog,
    AsyncSqliteUserDirectory,
    SqliteBdbRepository,
    SqliteDatabase,
    SqliteModuleCatalog,
    SqliteUserDirectory,
)
from bdbexport.domain import (
    AsyncBdbRepository,
    AsyncModuleCatalog,
    AsyncUserDirectory,
    Bdb,
    BdbAlreadyExistsError,
    BdbRepository,
    CatalogModule,
    ModuleRegistry,
    MountPointLocation,
    User,
    UserAlreadyExistsError,
    UserDirectory,
)

KINDS = ["memory", "sqlite", "redis"]
DEADLINE = 20.0
CONTENDERS = 8

T = TypeVar("T")


class AsyncModuleRegistry(AsyncModuleCatalog, Protocol):
    async def add(self, module: CatalogModule) -> None: ...


class AsyncBdbStore(AsyncBdbRepository, Protocol):
    """What every async bdb adapter offers, as its sync twin does (one source each)."""

    def scheduled(self) -> AsyncIterator[Bdb]: ...

    async def add_many(self, bdbs: Iterable[Bdb]) -> int: ...


class AsyncUserStore(AsyncUserDirectory, Protocol):
    async def replace(self, user: User) -> bool: ...


@dataclass(frozen=True)
class Views:
    """The async ports of one store, and the sync ports of the same store."""

    bdbs: AsyncBdbStore
    modules: AsyncModuleRegistry
    users: AsyncUserStore
    sync_bdbs: BdbRepository
    sync_modules: ModuleRegistry
    sync_users: UserDirectory


Body = Callable[[Views], Awaitable[None]]
Run = Callable[[Body], None]


@asynccontextmanager
async def open_views(kind: str, location: str) -> AsyncIterator[Views]:
    if kind == "memory":
        bdbs, modules, users = (
            InMemoryBdbRepository(),
            InMemoryModuleCatalog(),
            InMemoryUserDirectory(),
        )
        yield Views(
            AsyncInMemoryBdbRepository(bdbs),
            AsyncInMemoryModuleCatalog(modules),
            AsyncInMemoryUserDirectory(users),
            bdbs,
            modules,
            users,
        )
    elif kind == "sqlite":
        sync_db = SqliteDatabase(location)  # creates the schema the async one requires
        async_db = AsyncSqliteDatabase(location)
        try:
            yield Views(
                AsyncSqliteBdbRepository(async_db),
                AsyncSqliteModuleCatalog(async_db),
                AsyncSqliteUserDirectory(async_db),
                SqliteBdbRepository(sync_db),
                SqliteModuleCatalog(sync_db),
                SqliteUserDirectory(sync_db),
            )
        finally:
            async_db.close()
            sync_db.close()
    else:
        sync_connection = RedisConnection(location)
        async_connection = AsyncRedisConnection(location)
        try:
            yield Views(
                AsyncRedisBdbRepository(async_connection),
                AsyncRedisModuleCatalog(async_connection),
                AsyncRedisUserDirectory(async_connection),
                RedisBdbRepository(sync_connection),
                RedisModuleCatalog(sync_connection),
                RedisUserDirectory(sync_connection),
            )
        finally:
            await async_connection.aclose()
            sync_connection.close()


@pytest.fixture(params=KINDS)
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """Runs a test body on a fresh event loop, with the store's views opened on it."""
    kind: str = request.param
    if kind == "sqlite":
        location = str(tmp_path / "contract.sqlite3")
    elif kind == "redis":
        location = request.getfixturevalue("redis_url")
    else:
        location = ""

    def runner(body: Body) -> None:
        async def main() -> None:
            async with asyncio.timeout(DEADLINE), open_views(kind, location) as views:
                await body(views)

        asyncio.run(main())

    return runner


async def collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


def test_get_returns_none_for_a_missing_uid(run: Run) -> None:
    async def body(store: Views) -> None:
        assert await store.bdbs.get(1) is None

    run(body)


def test_added_bdbs_read_back_equal(run: Run) -> None:
    async def body(store: Views) -> None:
        bdb = Bdb(uid=7, name="db")
        await store.bdbs.add(bdb)
        assert await store.bdbs.get(7) == bdb

    run(body)


def test_adding_a_taken_uid_is_refused_and_keeps_the_first(run: Run) -> None:
    async def body(store: Views) -> None:
        await store.bdbs.add(Bdb(uid=7, name="first"))
        with pytest.raises(BdbAlreadyExistsError):
            await store.bdbs.add(Bdb(uid=7, name="second"))
        assert (await store.bdbs.get(7)).name == "first"  # type: ignore[union-attr]

    run(body)


def test_save_is_a_compare_and_set_on_the_revision(run: Run) -> None:
    async def body(store: Views) -> None:
        await store.bdbs.add(Bdb(uid=1, name="db"))
        renamed = Bdb(uid=1, name="renamed", revision=1)
        assert await store.bdbs.save(renamed, expected_revision=0)
        assert await store.bdbs.get(1) == renamed
        stale = Bdb(uid=1, name="stale", revision=1)
        assert not await store.bdbs.save(stale, expected_revision=0)
        assert await store.bdbs.get(1) == renamed

    run(body)


def test_save_never_creates(run: Run) -> None:
    async def body(store: Views) -> None:
        ghost = Bdb(uid=9, name="ghost", revision=1)
        assert not await store.bdbs.save(ghost, expected_revision=0)
        assert await store.bdbs.get(9) is None

    run(body)


def test_every_field_survives_a_round_trip(run: Run) -> None:
    from datetime import UTC, datetime

    from bdbexport.domain import ExportFailureReason, ExportStatus, ModuleRef

    bdb = Bdb(
        uid=3,
        name="full",
        module_list=(ModuleRef(module_name="search", semantic_version="2.8.4"),),
        export_status=ExportStatus.FAILED,
        export_progress=37,
        export_failure_reason=ExportFailureReason.NO_PERMISSION,
        last_export_time=datetime(2026, 5, 1, 12, 30, tzinfo=UTC),
        endpoints=[{"addr": ["10.0.0.5"], "port": 12000, "dns_name": "redis-12000.local"}],
        authentication_redis_pass="data-password",
        revision=9,
    )

    async def body(store: Views) -> None:
        await store.bdbs.add(bdb)
        stored = await store.bdbs.get(3)
        assert stored == bdb
        assert stored is not None
        assert stored.authentication_redis_pass is not None
        assert stored.authentication_redis_pass.get_secret_value() == "data-password"

    run(body)


def test_list_is_in_uid_order_and_resumable(run: Run) -> None:
    async def body(store: Views) -> None:
        for uid in (5, 1, 3, 2, 4):
            await store.bdbs.add(Bdb(uid=uid, name=f"db{uid}"))
        assert [bdb.uid for bdb in await collect(store.bdbs.list())] == [1, 2, 3, 4, 5]
        assert [bdb.uid for bdb in await collect(store.bdbs.list(after_uid=2))] == [3, 4, 5]
        assert [b.uid for b in await collect(store.bdbs.list(after_uid=1, limit=2))] == [2, 3]
        assert await collect(store.bdbs.list(after_uid=5)) == []
        assert await collect(store.bdbs.list(limit=0)) == []

    run(body)


def test_list_pages_through_a_store_larger_than_a_page(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bdbexport.adapters.sqlite.async_stores.LIST_PAGE", 2)
    monkeypatch.setattr("bdbexport.adapters.redis_store.async_repositories.LIST_PAGE", 2)

    async def body(store: Views) -> None:
        for uid in range(1, 8):
            await store.bdbs.add(Bdb(uid=uid, name=f"db{uid}"))
        assert [bdb.uid for bdb in await collect(store.bdbs.list())] == list(range(1, 8))
        assert [b.uid for b in await collect(store.bdbs.list(after_uid=2, limit=3))] == [3, 4, 5]
        assert [bdb.uid for bdb in await collect(store.bdbs.list(limit=4))] == [1, 2, 3, 4]
        assert [bdb.uid for bdb in await collect(store.bdbs.list(after_uid=6))] == [7]

    run(body)


def test_concurrent_compare_and_set_admits_exactly_one_winner_per_revision(run: Run) -> None:
    async def body(store: Views) -> None:
        await store.bdbs.add(Bdb(uid=1, name="db"))

        async def contend(name: str) -> str | None:
            saved = await store.bdbs.save(Bdb(uid=1, name=name, revision=1), expected_revision=0)
            return name if saved else None

        results = await asyncio.gather(*(contend(f"w{i}") for i in range(CONTENDERS)))
        wins = [name for name in results if name is not None]
        assert len(wins) == 1
        assert (await store.bdbs.get(1)).name == wins[0]  # type: ignore[union-attr]

    run(body)


def test_sync_and_async_saves_racing_on_one_store_admit_exactly_one_winner(run: Run) -> None:
    async def body(store: Views) -> None:
        await store.bdbs.add(Bdb(uid=1, name="db"))

        async def contend_async(name: str) -> str | None:
            saved = await store.bdbs.save(Bdb(uid=1, name=name, revision=1), expected_revision=0)
            return name if saved else None

        def contend_sync(name: str) -> str | None:
            saved = store.sync_bdbs.save(Bdb(uid=1, name=name, revision=1), expected_revision=0)
            return name if saved else None

        half = CONTENDERS // 2
        results = await asyncio.gather(
            *(contend_async(f"a{i}") for i in range(half)),
            *(asyncio.to_thread(contend_sync, f"s{i}") for i in range(half)),
        )
        wins = [name for name in results if name is not None]
        assert len(wins) == 1
        assert (await store.bdbs.get(1)).name == wins[0]  # type: ignore[union-attr]
        assert store.sync_bdbs.get(1) == await store.bdbs.get(1)

    run(body)


def test_what_one_view_writes_the_other_reads(run: Run) -> None:
    async def body(store: Views) -> None:
        store.sync_bdbs.add(Bdb(uid=1, name="from-sync", revision=4))
        assert await store.bdbs.get(1) == Bdb(uid=1, name="from-sync", revision=4)
        await store.bdbs.add(Bdb(uid=2, name="from-async"))
        assert store.sync_bdbs.get(2) == Bdb(uid=2, name="from-async")
        assert [bdb.uid for bdb in store.sync_bdbs.list()] == [1, 2]
        assert [bdb.uid for bdb in await collect(store.bdbs.list())] == [1, 2]

        assert await store.bdbs.save(Bdb(uid=1, name="async", revision=5), expected_revision=4)
        assert not store.sync_bdbs.save(Bdb(uid=1, name="late", revision=5), expected_revision=4)
        assert store.sync_bdbs.save(Bdb(uid=1, name="sync", revision=6), expected_revision=5)
        assert await store.bdbs.get(1) == Bdb(uid=1, name="sync", revision=6)
        with pytest.raises(BdbAlreadyExistsError):
            await store.bdbs.add(Bdb(uid=1, name="again"))

        store.sync_modules.add(CatalogModule(module_name="search", semantic_version="1.0"))
        assert await store.modules.get("search") == store.sync_modules.get("search")
        await store.modules.add(CatalogModule(module_name="graph", semantic_version="2.10"))
        assert [m.module_name for m in store.sync_modules.list()] == ["graph", "search"]

        user = User(email="a@example.com", role="admin", password_hash="scrypt$14$8$1$c2E=$aGE=")
        store.sync_users.add(user)
        assert await store.users.get("a@example.com") == user
        with pytest.raises(UserAlreadyExistsError):
            await store.users.add(user)
        await store.users.add(user.model_copy(update={"email": "b@example.com"}))
        assert [u.email for u in store.sync_users.list()] == ["a@example.com", "b@example.com"]

    run(body)


def test_async_writes_keep_the_schedule_index_the_sync_view_reads(run: Run) -> None:
    """Requests change backup settings on the event loop; the scheduler, in a thread,
    reads the index through the sync view."""

    def backing_up(uid: int, *, backup: bool = True, revision: int = 0) -> Bdb:
        location = MountPointLocation(path="/backups")
        return Bdb(
            uid=uid,
            name=f"db{uid}",
            backup=backup,
            backup_interval=60,
            backup_location=location,
            revision=revision,
        )

    async def body(store: Views) -> None:
        await store.bdbs.add(backing_up(1))
        await store.bdbs.add(backing_up(2, backup=False))
        await store.bdbs.add(backing_up(3))
        assert [bdb.uid for bdb in store.sync_bdbs.scheduled()] == [1, 3]
        assert await store.bdbs.save(backing_up(1, backup=False, revision=1), expected_revision=0)
        assert await store.bdbs.save(backing_up(2, revision=1), expected_revision=0)
        assert not await store.bdbs.save(
            backing_up(3, backup=False, revision=1), expected_revision=9
        )
        assert [bdb.uid for bdb in store.sync_bdbs.scheduled()] == [2, 3]

    run(body)


def test_the_catalog_replaces_a_module_by_name(run: Run) -> None:
    async def body(store: Views) -> None:
        catalog = store.modules
        assert await catalog.get("search") is None
        await catalog.add(CatalogModule(module_name="search", semantic_version="1.0"))
        await catalog.add(
            CatalogModule(
                module_name="search", semantic_version="2.0", capabilities=["backup_restore"]
            )
        )
        entry = await catalog.get("search")
        assert entry is not None
        assert entry.semantic_version == "2.0"
        assert entry.supports_backup_restore
        await catalog.add(CatalogModule(module_name="graph", semantic_version="2.10"))
        assert [module.module_name for module in await collect(catalog.list())] == [
            "graph",
            "search",
        ]

    run(body)


def test_users_are_unique_by_email(run: Run) -> None:
    async def body(store: Views) -> None:
        user = User(email="a@example.com", role="admin", password_hash="scrypt$14$8$1$c2E=$aGE=")
        await store.users.add(user)
        with pytest.raises(UserAlreadyExistsError):
            await store.users.add(user.model_copy(update={"role": "none"}))
        await store.users.add(user.model_copy(update={"email": "0@example.com"}))
        assert await store.users.get("a@example.com") == user
        assert await store.users.get("b@example.com") is None
        assert [u.email for u in await collect(store.users.list())] == [
            "0@example.com",
            "a@example.com",
        ]

    run(body)


def test_redis_listing_skips_an_index_entry_whose_add_did_not_finish(redis_url: str) -> None:
    """A crash between writing the index and the bdb leaves an entry with no bdb."""

    async def main() -> None:
        async with asyncio.timeout(DEADLINE), open_views("redis", redis_url) as store:
            for uid in (1, 3):
                await store.bdbs.add(Bdb(uid=uid, name=f"db{uid}"))
            connection = AsyncRedisConnection(redis_url)
            try:
                await connection.client.zadd(connection.key("bdbs"), {"2": 2})
            finally:
                await connection.aclose()
            assert [bdb.uid for bdb in await collect(store.bdbs.list())] == [1, 3]
            assert [bdb.uid for bdb in await collect(store.bdbs.list(limit=2))] == [1, 3]

    asyncio.run(main())


def test_redis_saves_still_compare_and_set_after_the_script_cache_is_flushed(
    redis_url: str,
) -> None:
    """A restarted Redis has forgotten the script: EVALSHA fails once, EVAL resends it."""

    async def main() -> None:
        async with asyncio.timeout(DEADLINE), open_views("redis", redis_url) as store:
            await store.bdbs.add(Bdb(uid=1, name="db"))
            assert await store.bdbs.save(Bdb(uid=1, name="one", revision=1), expected_revision=0)
            connection = AsyncRedisConnection(redis_url)
            try:
                await connection.client.script_flush()
            finally:
                await connection.aclose()
            assert await store.bdbs.save(Bdb(uid=1, name="two", revision=2), expected_revision=1)
            assert not await store.bdbs.save(
                Bdb(uid=1, name="stale", revision=2), expected_revision=1
            )
            stored = await store.bdbs.get(1)
            assert stored is not None
            assert stored.name == "two"

    asyncio.run(main())


def test_the_async_views_bulk_load_list_the_schedule_and_replace_users(run: Run) -> None:
    """Once drifted (the async Redis views had no `scheduled`, `add_many`, `replace`):
    every async adapter now offers what its sync twin does, on the same data."""
    location = MountPointLocation(path="/backups")

    def bdb(uid: int, *, backup: bool) -> Bdb:
        return Bdb(
            uid=uid, name=f"db{uid}", backup=backup, backup_interval=60, backup_location=location
        )

    async def body(store: Views) -> None:
        loaded = [bdb(2, backup=False), bdb(3, backup=True), bdb(1, backup=True)]
        assert await store.bdbs.add_many(loaded) == 3
        assert [b.uid for b in await collect(store.bdbs.scheduled())] == [1, 3]
        assert [b.uid for b in store.sync_bdbs.scheduled()] == [1, 3]
        user = User(email="a@example.com", role="admin", password_hash="scrypt$14$8$1$c2E=$aGE=")
        await store.users.add(user)
        assert await store.users.replace(user.model_copy(update={"role": "db_viewer"}))
        replaced = store.sync_users.get("a@example.com")
        assert replaced is not None
        assert replaced.role == "db_viewer"
        stranger = User(email="b@example.com", role="admin", password_hash="x")
        assert not await store.users.replace(stranger)
        assert await store.users.get("b@example.com") is None

    run(body)
