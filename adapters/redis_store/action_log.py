"""The `ActionLog` over Redis, sync and async, on the same keys.

Each action is a hash `<prefix>action:<uid>` (`doc`: the record's JSON, `done`: 1 once
finished) changed only by one Lua script that refuses to touch a finished record (so
"unless finished" is atomic on the server and touches one key: Redis Cluster safe).
Two sorted sets index the records by start time: `<prefix>actions` (all) and
`<prefix>actions:bdb:<uid>` (one bdb's); they are written before the hash, so a crash
between leaves an index entry without a record (skipped when listing), never a hidden
record. Pruning reads the index oldest first and removes finished records only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, cast

from redis.commands.core import Script

from bdbexport.domain.action_records import ActionRecord

from .async_connection import AsyncRedisConnection
from .connection import RedisConnection

PUT_UNLESS_FINISHED = """
if redis.call('HGET', KEYS[1], 'done') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'done', ARGV[2])
return 1
"""

PRUNE_BATCH = 500


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _done(record: ActionRecord) -> str:
    return "1" if record.finished else "0"


def _prune_candidates(old: list[Any], card: int, oldest: list[Any], keep: int) -> list[str]:
    """Index entries that may go: started before the cutoff, or beyond the newest
    `keep` (whether they are finished is checked on their records)."""
    del card, keep  # already applied by the range read
    return list(dict.fromkeys(_text(uid) for uid in [*old, *oldest]))


def _removable(record: ActionRecord | None) -> bool:
    """A finished record, or an index entry whose record is gone."""
    return record is None or record.finished


class RedisActionLog:
    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection
        self._index = connection.key("actions")
        self._put: Script = connection.client.register_script(PUT_UNLESS_FINISHED)

    def _key(self, action_uid: str) -> str:
        return self._redis.key("action", action_uid)

    def _bdb_index(self, bdb_uid: int) -> str:
        return self._redis.key("actions", "bdb", bdb_uid)

    def get(self, action_uid: str) -> ActionRecord | None:
        with self._redis.available():
            doc = self._redis.client.hget(self._key(action_uid), "doc")
        return None if doc is None else ActionRecord.model_validate_json(cast(bytes, doc))

    def put(self, record: ActionRecord) -> bool:
        score = record.start_time.timestamp()
        with self._redis.available():
            pipeline = self._redis.client.pipeline(transaction=False)
            pipeline.zadd(self._index, {record.action_uid: score})
            pipeline.zadd(self._bdb_index(record.bdb_uid), {record.action_uid: score})
            pipeline.execute()
            stored = self._put(
                keys=[self._key(record.action_uid)],
                args=[record.model_dump_json(), _done(record)],
            )
        return bool(stored)

    def _entries(self, index: str, limit: int | None) -> list[tuple[str, ActionRecord | None]]:
        stop = -1 if limit is None else max(limit, 0) - 1
        if stop == -1 and limit is not None:
            return []
        with self._redis.available():
            uids = [
                _text(uid) for uid in cast(list[Any], self._redis.client.zrevrange(index, 0, stop))
            ]
            pipeline = self._redis.client.pipeline(transaction=False)
            for uid in uids:
                pipeline.hget(self._key(uid), "doc")
            docs = pipeline.execute() if uids else []
        return [
            (uid, None if doc is None else ActionRecord.model_validate_json(doc))
            for uid, doc in zip(uids, docs, strict=True)
        ]

    def list(
        self, *, bdb_uid: int | None = None, limit: int | None = None
    ) -> Iterator[ActionRecord]:
        index = self._index if bdb_uid is None else self._bdb_index(bdb_uid)
        entries = self._entries(index, limit)
        return iter([record for _, record in entries if record is not None])

    def prune(self, *, keep: int, older_than: datetime) -> int:
        client = self._redis.client
        with self._redis.available():
            old = cast(
                list[Any], client.zrangebyscore(self._index, "-inf", f"({older_than.timestamp()}")
            )
            card = int(client.zcard(self._index))
            oldest = (
                cast(list[Any], client.zrange(self._index, 0, card - keep - 1))
                if card > keep
                else []
            )
            candidates = _prune_candidates(old, card, oldest, keep)
            pipeline = client.pipeline(transaction=False)
            for uid in candidates:
                pipeline.hget(self._key(uid), "doc")
            docs = pipeline.execute() if candidates else []
            removed = 0
            pipeline = client.pipeline(transaction=False)
            for uid, doc in zip(candidates, docs, strict=True):
                record = None if doc is None else ActionRecord.model_validate_json(doc)
                if not _removable(record):
                    continue
                pipeline.delete(self._key(uid))
                pipeline.zrem(self._index, uid)
                if record is not None:
                    removed += 1
                    pipeline.zrem(self._bdb_index(record.bdb_uid), uid)
            pipeline.execute()
        return removed


class AsyncRedisActionLog:
    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._redis = connection
        self._index = connection.key("actions")

    def _key(self, action_uid: str) -> str:
        return self._redis.key("action", action_uid)

    def _bdb_index(self, bdb_uid: int) -> str:
        return self._redis.key("actions", "bdb", bdb_uid)

    async def get(self, action_uid: str) -> ActionRecord | None:
        doc = await self._redis.call("HGET", self._key(action_uid), "doc")
        return None if doc is None else ActionRecord.model_validate_json(doc)

    async def put(self, record: ActionRecord) -> bool:
        score = record.start_time.timestamp()
        await self._redis.call("ZADD", self._index, score, record.action_uid)
        await self._redis.call("ZADD", self._bdb_index(record.bdb_uid), score, record.action_uid)
        stored = await self._redis.run_script(
            PUT_UNLESS_FINISHED,
            [self._key(record.action_uid)],
            [record.model_dump_json(), _done(record)],
        )
        return bool(stored)

    async def _entries(
        self, index: str, limit: int | None
    ) -> list[tuple[str, ActionRecord | None]]:
        if limit is not None and limit <= 0:
            return []
        stop = -1 if limit is None else limit - 1
        client = self._redis.client
        async with self._redis.available():
            uids = [_text(member) for member in await client.zrevrange(index, 0, stop)]
            pipeline = client.pipeline(transaction=False)
            for uid in uids:
                pipeline.hget(self._key(uid), "doc")
            docs = await pipeline.execute() if uids else []
        return [
            (uid, None if doc is None else ActionRecord.model_validate_json(doc))
            for uid, doc in zip(uids, docs, strict=True)
        ]

    async def list(
        self, *, bdb_uid: int | None = None, limit: int | None = None
    ) -> AsyncIterator[ActionRecord]:
        index = self._index if bdb_uid is None else self._bdb_index(bdb_uid)
        for _, record in await self._entries(index, limit):
            if record is not None:
                yield record

    async def prune(self, *, keep: int, older_than: datetime) -> int:
        client = self._redis.client
        async with self._redis.available():
            old = await client.zrangebyscore(self._index, "-inf", f"({older_than.timestamp()}")
            card = int(await client.zcard(self._index))
            oldest = await client.zrange(self._index, 0, card - keep - 1) if card > keep else []
            candidates = _prune_candidates(old, card, oldest, keep)
            pipeline = client.pipeline(transaction=False)
            for uid in candidates:
                pipeline.hget(self._key(uid), "doc")
            docs = await pipeline.execute() if candidates else []
            removed = 0
            pipeline = client.pipeline(transaction=False)
            for uid, doc in zip(candidates, docs, strict=True):
                record = None if doc is None else ActionRecord.model_validate_json(doc)
                if not _removable(record):
                    continue
                pipeline.delete(self._key(uid))
                pipeline.zrem(self._index, uid)
                if record is not None:
                    removed += 1
                    pipeline.zrem(self._bdb_index(record.bdb_uid), uid)
            await pipeline.execute()
        return removed
