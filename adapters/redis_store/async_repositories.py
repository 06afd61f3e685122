"""The async ports over Redis, on the keys, Lua scripts and JSON of the sync repositories.

Both views of one store run in the same server at once (requests on the event loop,
export workers in threads), so everything here must read and write exactly what
`repositories.py` does: the same `<prefix>bdb:<uid>` hashes changed only by the shared
compare-and-set script, the same sorted-set index written before the bdb, the same
schedule index kept by those scripts (`bdbs:scheduled`; only the sync view reads it:
the backup scheduler runs in a thread).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Sequence
from typing import cast

from redis.commands.core import AsyncScript

from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import BdbAlreadyExistsError, UserAlreadyExistsError
from bdbexport.domain.modules import CatalogModule

from .async_connection import AsyncRedisConnection
from .repositories import LIST_PAGE
from .scripts import COMPARE_AND_SET, CREATE, schedule_flag

CATALOG_RECHECK = 0.5
"""Seconds a replica serves its catalog snapshot before it checks the version key."""


class AsyncRedisBdbRepository:
    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._redis = connection
        self._index = connection.key("bdbs")
        self._scheduled = connection.key("bdbs", "scheduled")
        # EVALSHA first, EVAL once if the server's script cache lost it (a restart).
        self._create: AsyncScript = connection.client.register_script(CREATE)

    def _key(self, uid: int) -> str:
        return self._redis.key("bdb", uid)

    async def get(self, uid: int) -> Bdb | None:
        doc = await self._redis.call("HGET", self._key(uid), "doc")
        return None if doc is None else Bdb.model_validate_json(doc)

    async def list(self, *, after_uid: int = 0, limit: int | None = None) -> AsyncIterator[Bdb]:
        remaining = limit
        cursor = after_uid
        while remaining is None or remaining > 0:
            page = LIST_PAGE if remaining is None else min(LIST_PAGE, remaining)
            async with self._redis.available():
                members = await self._redis.client.zrangebyscore(
                    self._index, f"({cursor}", "+inf", start=0, num=page
                )
                # Without scores the reply is the members: the uids, as bytes.
                uids = [int(member) for member in cast("list[bytes]", members)]
                docs = await self._fetch(uids)
            for uid, doc in zip(uids, docs, strict=True):
                cursor = uid
                if doc is not None:  # an index entry whose add did not finish
                    if remaining is not None:
                        remaining -= 1
                    yield Bdb.model_validate_json(doc)
                    if remaining == 0:
                        return
            if len(uids) < page:
                return

    async def _fetch(self, uids: Sequence[int]) -> Sequence[bytes | None]:
        """One round trip for a page's documents."""
        if not uids:
            return ()
        pipeline = self._redis.client.pipeline(transaction=False)
        for uid in uids:
            pipeline.hget(self._key(uid), "doc")
        return cast("Sequence[bytes | None]", await pipeline.execute())

    async def add(self, bdb: Bdb) -> None:
        async with self._redis.available():
            await self._redis.client.zadd(self._index, {str(bdb.uid): bdb.uid})
            created = await self._create(
                keys=[self._key(bdb.uid), self._scheduled],
                args=[bdb.revision, bdb.to_storage_json(), bdb.uid, schedule_flag(bdb.backup)],
            )
        if not created:
            raise BdbAlreadyExistsError(bdb.uid)

    async def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        result = await self._redis.run_script(
            COMPARE_AND_SET,
            keys=[self._key(bdb.uid), self._scheduled],
            args=[
                str(expected_revision),
                bdb.revision,
                bdb.to_storage_json(),
                bdb.uid,
                schedule_flag(bdb.backup),
            ],
        )
        return bool(result == 1)


class AsyncRedisModuleCatalog:
    """The catalog, read from a snapshot this replica refreshes when it is stale.

    A request on a bdb with modules reads each of its modules' entries; the catalog
    changes rarely, so those reads are served from memory. Every writer (this class,
    `RedisModuleCatalog`) bumps `<prefix>modules:version` in the same transaction as the
    entry; a `get` more than `CATALOG_RECHECK` seconds after the last check reads that
    version (one round trip) and reloads the snapshot only when it moved. A change
    made on any replica is therefore seen by every replica within `CATALOG_RECHECK`
    plus one round trip (under 1 s); a change made here is seen here at once.
    `list` always reads the store.
    """

    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._redis = connection
        self._key = connection.key("modules")
        self._version_key = connection.key("modules", "version")
        self._snapshot: dict[str, CatalogModule] | None = None
        self._version: bytes | None = None
        self._checked = -math.inf

    async def get(self, module_name: str) -> CatalogModule | None:
        snapshot = self._snapshot
        if snapshot is None or time.monotonic() - self._checked >= CATALOG_RECHECK:
            snapshot = await self._refreshed()
        return snapshot.get(module_name)

    async def _refreshed(self) -> dict[str, CatalogModule]:
        # Noted before the await: requests arriving meanwhile use the snapshot they
        # have (at most one recheck in flight), only the very first one waits.
        self._checked = time.monotonic()
        version = await self._redis.call("GET", self._version_key)
        if self._snapshot is not None and version == self._version:
            return self._snapshot
        async with self._redis.available():
            pipeline = self._redis.client.pipeline(transaction=True)
            pipeline.get(self._version_key)
            pipeline.hgetall(self._key)
            version, entries = await pipeline.execute()
        self._snapshot = {
            name.decode(): CatalogModule.model_validate_json(doc)
            for name, doc in cast("dict[bytes, bytes]", entries).items()
        }
        self._version = version
        return self._snapshot

    async def list(self) -> AsyncIterator[CatalogModule]:
        async with self._redis.available():
            entries = await self._redis.client.hgetall(self._key)
        modules = [CatalogModule.model_validate_json(doc) for doc in entries.values()]
        for module in sorted(modules, key=lambda module: module.module_name):
            yield module

    async def add(self, module: CatalogModule) -> None:
        """Add or replace (a new version) the module of that name."""
        async with self._redis.available():
            pipeline = self._redis.client.pipeline(transaction=True)
            pipeline.hset(self._key, module.module_name, module.model_dump_json())
            pipeline.incr(self._version_key)
            await pipeline.execute()
        self._checked = -math.inf  # this replica sees its own change at once


class AsyncRedisUserDirectory:
    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._redis = connection
        self._key = connection.key("users")

    async def get(self, email: str) -> User | None:
        doc = await self._redis.call("HGET", self._key, email)
        return None if doc is None else User.model_validate_json(doc)

    async def add(self, user: User) -> None:
        async with self._redis.available():
            created = await self._redis.client.hsetnx(self._key, user.email, user.model_dump_json())
        if not created:
            raise UserAlreadyExistsError(user.email)

    async def list(self) -> AsyncIterator[User]:
        async with self._redis.available():
            entries = await self._redis.client.hgetall(self._key)
        users = [User.model_validate_json(doc) for doc in entries.values()]
        for user in sorted(users, key=lambda user: user.email):
            yield user
