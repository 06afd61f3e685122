"""Async in-memory adapters: the async ports over the in-memory stores.

Each wraps a synchronous in-memory store (a new one by default), so an application
can hold a sync and an async view of the same data — as our server does: requests on
the event loop use the async view, export workers in threads the sync one. A dict
lookup never blocks, so awaiting these never yields to a slow dependency: they are
real implementations of the contracts, not stand-ins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.modules import CatalogModule

from .bdb_repository import InMemoryBdbRepository
from .module_catalog import InMemoryModuleCatalog
from .user_directory import InMemoryUserDirectory


class AsyncInMemoryBdbRepository:
    def __init__(self, shared: InMemoryBdbRepository | None = None) -> None:
        self.sync = shared if shared is not None else InMemoryBdbRepository()

    async def get(self, uid: int) -> Bdb | None:
        return self.sync.get(uid)

    async def list(self, *, after_uid: int = 0, limit: int | None = None) -> AsyncIterator[Bdb]:
        for bdb in self.sync.list(after_uid=after_uid, limit=limit):
            yield bdb

    async def add(self, bdb: Bdb) -> None:
        self.sync.add(bdb)

    async def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        return self.sync.save(bdb, expected_revision=expected_revision)


class AsyncInMemoryModuleCatalog:
    def __init__(self, shared: InMemoryModuleCatalog | None = None) -> None:
        self.sync = shared if shared is not None else InMemoryModuleCatalog()

    async def get(self, module_name: str) -> CatalogModule | None:
        return self.sync.get(module_name)

    async def list(self) -> AsyncIterator[CatalogModule]:
        for module in self.sync.list():
            yield module

    async def add(self, module: CatalogModule) -> None:
        self.sync.add(module)


class AsyncInMemoryUserDirectory:
    def __init__(self, shared: InMemoryUserDirectory | None = None) -> None:
        self.sync = shared if shared is not None else InMemoryUserDirectory()

    async def get(self, email: str) -> User | None:
        return self.sync.get(email)

    async def add(self, user: User) -> None:
        self.sync.add(user)

    async def list(self) -> AsyncIterator[User]:
        for user in self.sync.list():
            yield user
