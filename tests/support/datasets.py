"""A dataset of every Redis data type, and a faithful picture of a server's content,
for proving that an export and an import together lose nothing."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import redis

DATABASES = (0, 3, 15)
"""Databases the dataset spreads over: the first, one in the middle, the last of 16."""
TTL_TOLERANCE_MS = 1_000
"""Expiry moments (unix ms) may move by the time a copy takes between reading a
key's TTL and writing it: compared within this margin, or within the time that really
passed between the two pictures (a loaded machine copies slower), whichever is more."""
LARGE_SIZES = (1_000_000, 2_500_000)


def write_every_type(port: int, db: int, *, scale: int = 100) -> None:
    """Strings, hashes, lists, sets, sorted sets, streams with consumer groups and
    pending entries, HyperLogLogs, large values (1 MB and more) and keys with TTLs,
    in database `db` of the server on `port`."""
    with redis.Redis(port=port, db=db, socket_timeout=30) as client:
        _write(client, db, scale)


def _write(client: redis.Redis, db: int, scale: int) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(scale):
        pipe.set(f"string:{i}", f"value-{db}-{i}-" + "x" * (i % 50))
        pipe.set(f"int:{i}", i * 1000 + db)
        pipe.hset(f"hash:{i}", mapping={f"field{j}": f"{i}.{j}" for j in range(8)})
        pipe.rpush(f"list:{i}", *[f"item{j}" for j in range(12)])
        pipe.sadd(f"set:{i}", *[f"member{j}" for j in range(10)])
        pipe.sadd(f"intset:{i}", *range(10))
        pipe.zadd(f"zset:{i}", {f"m{j}": j * 1.5 for j in range(10)})
        pipe.set(f"ttl:{i}", "expires", px=600_000 + i * 1000)
        pipe.hset(f"ttl-hash:{i}", mapping={"a": "1"})
        pipe.pexpire(f"ttl-hash:{i}", 900_000)
    pipe.hset("hash:big", mapping={f"f{j}": "v" * 100 for j in range(1000)})
    pipe.rpush("list:big", *[f"element-{j}" for j in range(5000)])
    pipe.zadd("zset:big", {f"member-{j}": j / 7 for j in range(2000)})
    pipe.pfadd("hll", *[f"visitor-{j}" for j in range(500)])
    for i, size in enumerate(LARGE_SIZES):
        pipe.set(f"large:{i}", bytes((k * 7 + i + db) % 256 for k in range(size)))
    pipe.execute()
    for j in range(30):
        client.xadd("stream", {"n": str(j), "db": str(db)}, id=f"{1000 + j}-0")
    client.xgroup_create("stream", "workers", id="0")
    client.xgroup_create("stream", "auditors", id="1010-0")
    client.xreadgroup("workers", "alice", {"stream": ">"}, count=5)
    client.xreadgroup("workers", "bob", {"stream": ">"}, count=3)
    client.xack("stream", "workers", "1000-0")
    client.xadd("stream:capped", {"k": "v"}, maxlen=10)


class Content(dict[tuple[int, bytes], tuple[bytes, Any, int]]):
    """A picture of a server's content, and when it was taken (time.monotonic())."""

    started: float = 0.0
    finished: float = 0.0


def content_of(port: int) -> Content:
    """Every key of every database of the server on `port`:
    (db, key) -> (type, value, expiry in unix ms or -1)."""
    content = Content()
    content.started = time.monotonic()
    with redis.Redis(port=port, socket_timeout=30) as client:
        databases = [int(str(name)[2:]) for name in client.info("keyspace")]
    for db in databases:
        with redis.Redis(port=port, db=db, socket_timeout=30) as client:
            for key in client.scan_iter(count=1000):
                kind = bytes(client.type(key))
                if kind == b"none":  # deleted since the scan saw it (a server at work)
                    continue
                expires = int(client.pexpiretime(key))
                content[(db, key)] = (kind, _value(client, key, kind), expires)
    content.finished = time.monotonic()
    return content


def _value(client: redis.Redis, key: bytes, kind: bytes) -> Any:
    if kind == b"string":
        return client.get(key)
    if kind == b"hash":
        return client.hgetall(key)
    if kind == b"list":
        return client.lrange(key, 0, -1)
    if kind == b"set":
        return client.smembers(key)
    if kind == b"zset":
        return client.zrange(key, 0, -1, withscores=True)
    if kind == b"stream":
        groups = client.xinfo_groups(key)
        return {
            "entries": client.xrange(key),
            "groups": groups,
            "pending": {
                group["name"]: client.xpending_range(key, group["name"], "-", "+", 1000)
                for group in groups
            },
            "consumers": {
                group["name"]: sorted(
                    (consumer["name"], consumer["pending"])
                    for consumer in client.xinfo_consumers(key, group["name"])
                )
                for group in groups
            },
        }
    raise AssertionError(f"unexpected type {kind!r}")


def assert_same_content(
    expected: Mapping[tuple[int, bytes], tuple[bytes, Any, int]],
    actual: Content,
    *,
    since: float | None = None,
) -> None:
    """Same keys, types and values; expiry moments equal within `TTL_TOLERANCE_MS` or
    the time that passed since `since` (the copy's start; by default when `expected`
    was taken), and no expiry where there was none. A copy that moves an expiry can move
    it by no more than the time it took: a bound measured in the same run."""
    if since is None:
        since = expected.started if isinstance(expected, Content) else actual.started
    tolerance = max(TTL_TOLERANCE_MS, (actual.finished - since) * 1000)
    assert sorted(actual) == sorted(expected)
    for where, (kind, value, expires) in expected.items():
        got_kind, got_value, got_expires = actual[where]
        assert got_kind == kind, where
        assert _comparable(got_value) == _comparable(value), where
        if expires < 0:
            assert got_expires == expires, where
        else:
            assert abs(got_expires - expires) <= tolerance, (where, got_expires - expires)


def _comparable(value: Any) -> Any:
    # Delivery counts and idle times in the pending list move with time: compare the
    # ids and consumers of pending entries, not their clocks.
    if isinstance(value, dict) and "pending" in value:
        return {
            **value,
            "pending": {
                group: [(entry["message_id"], entry["consumer"]) for entry in entries]
                for group, entries in value["pending"].items()
            },
        }
    return value
