"""The ports over Redis: one hash per bdb (`rev`, `doc`), changed only by Lua
compare-and-set scripts (one round trip each, atomic on the server).

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

from collections.abc import Iterable, Iterator

from redis.commands.core import Script

from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import BdbAlreadyExistsError, UserAlreadyExistsError
from bdbexport.domain.modules import CatalogModule

from .connection import RedisConnection
from .schedule_index import ScheduleIndexBuilder
from .scripts import COMPARE_AND_SET, CREATE, schedule_flag

LIST_PAGE = 500


class RedisBdbRepository:
    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection
        self._index = connection.key("bdbs")
        self._scheduled = connection.key("bdbs", "scheduled")
        self._create: Script = connection.client.register_script(CREATE)
        self._cas: Script = connection.client.register_script(COMPARE_AND_SET)
        self._schedule_index = ScheduleIndexBuilder(
            connection, listing=self._index, index=self._scheduled
        )

    def _key(self, uid: int) -> str:
        return self._redis.key("bdb", uid)

    def get(self, uid: int) -> Bdb | None:
        with self._redis.available():
            doc = self._redis.client.hget(self._key(uid), "doc")
        return None if doc is None else Bdb.model_validate_json(doc)

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> Iterator[Bdb]:
        return self._listed(self._index, after_uid=after_uid, limit=limit)

    def scheduled(self) -> Iterator[Bdb]:
        self._schedule_index.ensure_built()
        return (bdb for bdb in self._listed(self._scheduled) if bdb.backup)

    def _listed(self, index: str, *, after_uid: int = 0, limit: int | None = None) -> Iterator[Bdb]:
        """The bdbs of a sorted-set index of uids, in uid order, a page at a time."""
        remaining = limit
        cursor = after_uid
        while remaining is None or remaining > 0:
            page = LIST_PAGE if remaining is None else min(LIST_PAGE, remaining)
            with self._redis.available():
                uids = self._redis.client.zrangebyscore(
                    index, f"({cursor}", "+inf", start=0, num=page
                )
                pipeline = self._redis.client.pipeline(transaction=False)
                for uid in uids:
                    pipeline.hget(self._key(int(uid)), "doc")  # type: ignore[arg-type]
                docs = pipeline.execute() if uids else []
            for uid, doc in zip(uids, docs, strict=True):
                cursor = int(uid)  # type: ignore[arg-type]
                if doc is not None:
                    if remaining is not None:
                        remaining -= 1
                    yield Bdb.model_validate_json(doc)
                    if remaining == 0:
                        return
            if len(uids) < page:
                return

    def add(self, bdb: Bdb) -> None:
        with self._redis.available():
            self._redis.client.zadd(self._index, {str(bdb.uid): bdb.uid})
            created = self._create(
                keys=[self._key(bdb.uid), self._scheduled],
                args=[bdb.revision, bdb.to_storage_json(), bdb.uid, schedule_flag(bdb.backup)],
            )
        if not created:
            raise BdbAlreadyExistsError(bdb.uid)

    def add_many(self, bdbs: Iterable[Bdb]) -> int:
        """Bulk load (seeding, benchmarks): pipelined, not atomic as a whole. The
        schedule index is built first (at once for a new store), so the loaded store
        has it complete and no replica scans it later."""
        self._schedule_index.ensure_built()
        with self._redis.available():
            pipeline = self._redis.client.pipeline(transaction=False)
            created_at: list[int] = []
            for bdb in bdbs:
                pipeline.zadd(self._index, {str(bdb.uid): bdb.uid})
                created_at.append(len(pipeline))
                pipeline.hsetnx(self._key(bdb.uid), "doc", bdb.to_storage_json())
                pipeline.hsetnx(self._key(bdb.uid), "rev", bdb.revision)
                if bdb.backup:  # for a uid already taken: an extra entry, never yielded
                    pipeline.zadd(self._scheduled, {str(bdb.uid): bdb.uid})
            results = pipeline.execute()
        return sum(1 for at in created_at if results[at])

    def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        with self._redis.available():
            result = self._cas(
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


class RedisModuleCatalog:
    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection
        self._key = connection.key("modules")

    def get(self, module_name: str) -> CatalogModule | None:
        with self._redis.available():
            doc = self._redis.client.hget(self._key, module_name)
        return None if doc is None else CatalogModule.model_validate_json(doc)

    def list(self) -> Iterator[CatalogModule]:
        with self._redis.available():
            entries = self._redis.client.hgetall(self._key)
        modules = [CatalogModule.model_validate_json(doc) for doc in entries.values()]
        return iter(sorted(modules, key=lambda module: module.module_name))

    def add(self, module: CatalogModule) -> None:
        """Add or replace; bumps the version the async view's snapshot checks."""
        with self._redis.available():
            pipeline = self._redis.client.pipeline(transaction=True)
            pipeline.hset(self._key, module.module_name, module.model_dump_json())
            pipeline.incr(self._redis.key("modules", "version"))
            pipeline.execute()


_REPLACE_FIELD = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisUserDirectory:
    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection
        self._key = connection.key("users")
        self._replace: Script = connection.client.register_script(_REPLACE_FIELD)

    def get(self, email: str) -> User | None:
        with self._redis.available():
            doc = self._redis.client.hget(self._key, email)
        return None if doc is None else User.model_validate_json(doc)

    def add(self, user: User) -> None:
        with self._redis.available():
            created = self._redis.client.hsetnx(self._key, user.email, user.model_dump_json())
        if not created:
            raise UserAlreadyExistsError(user.email)

    def replace(self, user: User) -> bool:
        with self._redis.available():
            replaced = self._replace(keys=[self._key], args=[user.email, user.model_dump_json()])
        return bool(replaced == 1)

    def list(self) -> Iterator[User]:
        with self._redis.available():
            entries = self._redis.client.hgetall(self._key)
        users = [User.model_validate_json(doc) for doc in entries.values()]
        return iter(sorted(users, key=lambda user: user.email))
