"""The asynchronous ports over synchronous adapters: written once for every store
whose async side is its sync side, run somewhere else or at once.

Two stores are built that way. The in-memory adapters never block, so each call runs
at once, inline (`inline`). SQLite runs each write on the one thread that holds its
writing connection (`adapters/sqlite/async_database.py`), so the event loop never
waits for SQLite's write lock, a commit or a checkpoint, and its reads at once on a
read connection of the loop's (in WAL mode a read never waits for a lock). Either way
the statements, the documents and the rules exist once, in the sync adapter, and the
async port is this code over it (Redis, whose async client is native, generates its
sync side instead: `tools/async_to_sync.py`).

A call crosses once: a method's statements run together on the other side, and a
listing crosses once per page (`PAGE` items), never once per item.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Protocol, TypeVar

from .action_records import ActionRecord
from .async_over import PAGE, Over, Runner, inline
from .bdb import Bdb
from .modules import CatalogModule
from .ports import ActionLog, BdbRepository, ModuleRegistry

__all__ = [
    "AsyncActionLogOver",
    "AsyncBdbRepositoryOver",
    "AsyncModuleCatalogOver",
    "BulkBdbRepository",
    "Runner",
    "inline",
]


class BulkBdbRepository(BdbRepository, Protocol):
    """A `BdbRepository` that also loads many bdbs at once (seeding, benchmarks)."""

    def add_many(self, bdbs: Iterable[Bdb]) -> int: ...


S = TypeVar("S")
B = TypeVar("B", bound=BulkBdbRepository)
M = TypeVar("M", bound=ModuleRegistry)
A = TypeVar("A", bound=ActionLog)


class AsyncBdbRepositoryOver(Over[B]):
    """`AsyncBdbRepository` over the sync repository `sync`."""

    def __init__(
        self, sync: B, run: Runner = inline, *, reads: B | None = None, page: int = PAGE
    ) -> None:
        super().__init__(sync, run, reads=reads)
        self._page = page

    async def get(self, uid: int) -> Bdb | None:
        return await self._read(lambda store: store.get(uid))

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> AsyncIterator[Bdb]:
        return self._listed(lambda store: store.list(after_uid=after_uid, limit=limit), self._page)

    def scheduled(self) -> AsyncIterator[Bdb]:
        return self._listed(lambda store: store.scheduled(), self._page)

    async def add(self, bdb: Bdb) -> None:
        await self._run(lambda: self.sync.add(bdb))

    async def add_many(self, bdbs: Iterable[Bdb]) -> int:
        return await self._run(lambda: self.sync.add_many(bdbs))

    async def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        return await self._run(lambda: self.sync.save(bdb, expected_revision=expected_revision))


class AsyncModuleCatalogOver(Over[M]):
    """The async module catalog (with `add`) over the sync registry `sync`."""

    async def get(self, module_name: str) -> CatalogModule | None:
        return await self._read(lambda store: store.get(module_name))

    def list(self) -> AsyncIterator[CatalogModule]:
        return self._listed(lambda store: store.list())

    async def add(self, module: CatalogModule) -> None:
        await self._run(lambda: self.sync.add(module))


class AsyncActionLogOver(Over[A]):
    """`AsyncActionLog` over the sync action log `sync`."""

    async def get(self, action_uid: str) -> ActionRecord | None:
        return await self._read(lambda store: store.get(action_uid))

    async def put(self, record: ActionRecord) -> bool:
        return await self._run(lambda: self.sync.put(record))

    def list(
        self, *, bdb_uid: int | None = None, limit: int | None = None
    ) -> AsyncIterator[ActionRecord]:
        return self._listed(lambda store: store.list(bdb_uid=bdb_uid, limit=limit))

    async def prune(self, *, keep: int, older_than: datetime) -> int:
        return await self._run(lambda: self.sync.prune(keep=keep, older_than=older_than))
