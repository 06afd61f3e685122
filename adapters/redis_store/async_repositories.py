"""The ports over Redis: one hash per bdb (`rev`, `doc`), changed only by Lua
compare-and-set scripts (one round trip each, atomic on the server).

Written once, asynchronous: `repositories.py` (the sync ports, for export workers, the
backup scheduler and the CLI) is generated from this module by
`tools/async_to_sync.py`, so both views of one store, used at once by one server, read
and write exactly the same keys, scripts and JSON, and offer the same methods.

Every bdb lives in its own key; a save touches that key and the schedule index below
(on Redis Cluster both must share a slot: a hash-tagged prefix, docs/storage.md).
Listing in uid order reads a sorted-set index (`bdbs`, score = uid) page by page; the
index is written before the bdb's key, so a crash between the two leaves an index
entry without a bdb (skipped when listing), never a hidden bdb.

The bdbs whose periodic backups are on are also in `bdbs:scheduled` (score = uid),
written by the same script as the bdb (`scripts.py`), so the backup scheduler reads
those alone. A keyspace from before that index gets it built once, by the first
`scheduled()` or bulk load that finds `bdbs:scheduled:built` missing
(`schedule_index.py`).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import cast

from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import BdbAlreadyExistsError, UserAlreadyExistsError
from bdbexport.domain.modules import CatalogModule

from .async_connection import AsyncRedisConnection
from .async_schedule_index import AsyncScheduleIndexBuilder
from .scripts import COMPARE_AND_SET, CREATE, REPLACE_FIELD, schedule_flag

LIST_PAGE = 500

CATALOG_RECHECK = 0.5
"""Seconds a replica serves its catalog snapshot before it checks the version key."""


class AsyncRedisBdbRepository:
    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._redis = connection
        self._index = connection.key("bdbs")
        self._scheduled = connection.key("bdbs", "scheduled")
        self._schedule_index = AsyncScheduleIndexBuilder(
            connection, listing=self._index, index=self._scheduled
        )

    def _key(self, uid: int) -> str:
        return self._redis.key("bdb", uid)

    async def get(self, uid: int) -> Bdb | None:
        doc = await self._redis.call("HGET", self._key(uid), "doc")
        return None if doc is None else Bdb.model_validate_json(doc)

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> AsyncIterator[Bdb]:
        return self._listed(self._index, after_uid=after_uid, limit=limit)

    async def scheduled(self) -> AsyncIterator[Bdb]:
        """The bdbs whose periodic backups are on, in uid order (the schedule index)."""
        await self._schedule_index.ensure_built()
        async for bdb in self._listed(self._scheduled):
            if bdb.backup:
                yield bdb

    async def _listed(
        self, index: str, *, after_uid: int = 0, limit: int | None = None
    ) -> AsyncIterator[Bdb]:
        """The bdbs of a sorted-set index of uids, in uid order, a page at a time (never
        yielding inside `available()`: its deadline would run while the consumer works)."""
        remaining = limit
        cursor = after_uid
        while remaining is None or remaining > 0:
            page = LIST_PAGE if remaining is None else min(LIST_PAGE, remaining)
            async with self._redis.available():
                members = await self._redis.client.zrangebyscore(
                    index, f"({cursor}", "+inf", start=0, num=page
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
        await self._redis.call("ZADD", self._index, bdb.uid, str(bdb.uid))
        created = await self._redis.run_script(
            CREATE,
            keys=[self._key(bdb.uid), self._scheduled],
            args=[bdb.revision, bdb.to_storage_json(), bdb.uid, schedule_flag(bdb.backup)],
        )
        if not created:
            raise BdbAlreadyExistsError(bdb.uid)

    async def add_many(self, bdbs: Iterable[Bdb]) -> int:
        """Bulk load (seeding, benchmarks): pipelined, not atomic as a whole. The
        schedule index is built first (at once for a new store), so the loaded store
        has it complete and no replica scans it later."""
        await self._schedule_index.ensure_built()
        async with self._redis.available():
            pipeline = self._redis.client.pipeline(transaction=False)
            created_at: list[int] = []
            for bdb in bdbs:
                pipeline.zadd(self._index, {str(bdb.uid): bdb.uid})
                created_at.append(len(pipeline))
                pipeline.hsetnx(self._key(bdb.uid), "doc", bdb.to_storage_json())
                pipeline.hsetnx(self._key(bdb.uid), "rev", bdb.revision)
                if bdb.backup:  # for a uid already taken: an extra entry, never yielded
                    pipeline.zadd(self._scheduled, {str(bdb.uid): bdb.uid})
            results = await pipeline.execute()
        return sum(1 for at in created_at if results[at])

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
    changes rarely, so those reads are served from memory. Every writer bumps
    `<prefix>modules:version` in the same transaction as the entry; a `get` more than
    `CATALOG_RECHECK` seconds after the last check reads that version (one round trip)
    and reloads the snapshot only when it moved. A change made on any replica is
    therefore seen by every replica within `CATALOG_RECHECK` plus one round trip (under
    1 s); a change made here is seen here at once. `list` always reads the store.
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
        entries = await self._redis.call("HGETALL", self._key)
        modules = [CatalogModule.model_validate_json(doc) for doc in _values(entries)]
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
        created = await self._redis.call("HSETNX", self._key, user.email, user.model_dump_json())
        if not created:
            raise UserAlreadyExistsError(user.email)

    async def replace(self, user: User) -> bool:
        """Replace the user of that email, if there is one (one atomic script)."""
        replaced = await self._redis.run_script(
            REPLACE_FIELD, keys=[self._key], args=[user.email, user.model_dump_json()]
        )
        return bool(replaced == 1)

    async def list(self) -> AsyncIterator[User]:
        entries = await self._redis.call("HGETALL", self._key)
        users = [User.model_validate_json(doc) for doc in _values(entries)]
        for user in sorted(users, key=lambda user: user.email):
            yield user


def _values(reply: object) -> list[bytes]:
    """The values of an `HGETALL` reply: a dict, or RESP2's flat list (field, value, ...)."""
    if isinstance(reply, dict):
        return list(reply.values())
    return list(cast("list[bytes]", reply)[1::2])
