"""Every `LoginAttempts` adapter keeps the same records: memory, a real SQLite file and a
real redis-server, through the sync and the async port. The Redis adapter's Lua script
mirrors `after_failure`; a property test runs both on the same sequences."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bdbexport.adapters.memory.login_attempts import (
    AsyncInMemoryLoginAttempts,
    InMemoryLoginAttempts,
)
from bdbexport.adapters.redis_store import AsyncRedisConnection, RedisConnection
from bdbexport.adapters.redis_store.async_login_attempts import AsyncRedisLoginAttempts
from bdbexport.adapters.redis_store.login_attempts import RedisLoginAttempts
from bdbexport.adapters.sqlite import AsyncSqliteDatabase, SqliteDatabase
from bdbexport.adapters.sqlite.login_attempts import (
    AsyncSqliteLoginAttempts,
    SqliteLoginAttempts,
)
from bdbexport.domain.auth.lockout import (
    LockoutPolicy,
    LoginRecord,
    address_subject,
    after_failure,
    is_locked,
    user_subject,
)
from bdbexport.domain.auth.ports import AsyncLoginAttempts, LoginAttempts
from tests.support.thoroughness import examples

POLICY = LockoutPolicy(threshold=3, duration=100.0, reset_after=10.0)
KINDS = ["memory", "sqlite", "redis"]
T0 = 1_800_000_000.0


@contextmanager
def sync_port(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoginAttempts]:
    if kind == "memory":
        yield InMemoryLoginAttempts()
    elif kind == "sqlite":
        database = SqliteDatabase(tmp_path / "store.sqlite3")
        try:
            yield SqliteLoginAttempts(database)
        finally:
            database.close()
    else:
        connection = RedisConnection(request.getfixturevalue("redis_url"))
        try:
            yield RedisLoginAttempts(connection)
        finally:
            connection.close()


@pytest.fixture(params=KINDS)
def attempts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoginAttempts]:
    with sync_port(request.param, request, tmp_path) as port:
        yield port


def test_no_record_until_a_failure(attempts: LoginAttempts) -> None:
    assert attempts.get(user_subject("a@b"), T0, POLICY) is None
    assert attempts.clear(user_subject("a@b"), T0) is False


def test_failures_count_and_lock(attempts: LoginAttempts) -> None:
    first = attempts.record_failure(user_subject("a@b"), T0, POLICY)
    assert first == LoginRecord(failures=1, last_failure=T0)
    attempts.record_failure(user_subject("a@b"), T0 + 1, POLICY)
    locked = attempts.record_failure(user_subject("a@b"), T0 + 2, POLICY)
    assert locked == LoginRecord(
        failures=0, last_failure=T0 + 2, locked=True, locked_until=T0 + 102
    )
    assert attempts.get(user_subject("a@b"), T0 + 50, POLICY) == locked
    assert attempts.get(user_subject("other@b"), T0 + 50, POLICY) is None


def test_a_record_that_stopped_mattering_reads_as_none(attempts: LoginAttempts) -> None:
    attempts.record_failure(address_subject("127.0.0.1"), T0, POLICY)
    assert attempts.get(address_subject("127.0.0.1"), T0 + 9, POLICY) is not None
    assert attempts.get(address_subject("127.0.0.1"), T0 + 10, POLICY) is None


def test_clear_says_whether_it_lifted_a_lock(attempts: LoginAttempts) -> None:
    attempts.record_failure(user_subject("a@b"), T0, POLICY)
    assert attempts.clear(user_subject("a@b"), T0) is False
    for step in range(3):
        attempts.record_failure(user_subject("a@b"), T0 + step, POLICY)
    assert attempts.clear(user_subject("a@b"), T0 + 5) is True
    assert attempts.get(user_subject("a@b"), T0 + 5, POLICY) is None


def test_concurrent_failures_are_never_lost(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Two connections (two replicas) count 2 x 20 failures under a high threshold."""
    many = LockoutPolicy(threshold=1000, duration=10, reset_after=1000)
    for kind in ("sqlite", "redis"):
        with ExitStack() as stack:
            ports = [
                stack.enter_context(sync_port(kind, request, tmp_path / kind)) for _ in range(2)
            ]

            def hammer(port: LoginAttempts) -> None:
                for step in range(20):
                    port.record_failure(user_subject("shared@b"), T0 + step / 100, many)

            threads = [threading.Thread(target=hammer, args=(port,)) for port in ports]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            record = ports[0].get(user_subject("shared@b"), T0 + 1, many)
            assert record is not None
            assert record.failures == 40, kind


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_the_async_port_reads_what_the_sync_port_wrote(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with sync_port(kind, request, tmp_path) as port:
        aport: AsyncLoginAttempts
        if kind == "memory":
            assert isinstance(port, InMemoryLoginAttempts)
            aport = AsyncInMemoryLoginAttempts(port)
            close = None
        elif kind == "sqlite":
            database = AsyncSqliteDatabase(tmp_path / "store.sqlite3")
            aport, close = AsyncSqliteLoginAttempts(database), database.close
        else:
            connection = AsyncRedisConnection(request.getfixturevalue("redis_url"))
            aport, close = AsyncRedisLoginAttempts(connection), None
        try:
            port.record_failure(user_subject("x@y"), T0, POLICY)
            port.record_failure(user_subject("x@y"), T0 + 1, POLICY)
            locked = await aport.record_failure(user_subject("x@y"), T0 + 2, POLICY)
            assert is_locked(locked, T0 + 3)
            assert port.get(user_subject("x@y"), T0 + 3, POLICY) == locked
            assert await aport.get(user_subject("x@y"), T0 + 3, POLICY) == locked
            assert await aport.clear(user_subject("x@y"), T0 + 3) is True
            assert port.get(user_subject("x@y"), T0 + 3, POLICY) is None
        finally:
            if close is not None:
                close()
            if kind == "redis":
                await connection.aclose()


policies = st.builds(
    LockoutPolicy,
    threshold=st.integers(0, 5),
    duration=st.sampled_from([0.0, 2.5, 30.0]),
    reset_after=st.sampled_from([1.0, 7.5]),
)
steps = st.lists(st.integers(0, 20_000).map(lambda ms: ms / 1000), min_size=1, max_size=15)


@settings(
    max_examples=examples(0.6),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(policy=policies, gaps=steps)
def test_the_lua_script_agrees_with_the_domain_rule(
    redis_url: str, policy: LockoutPolicy, gaps: list[float]
) -> None:
    connection = RedisConnection(redis_url)
    try:
        port = RedisLoginAttempts(connection)
        subject = user_subject(f"{id(gaps)}-{len(gaps)}@lua")
        port.clear(subject, T0)
        expected: LoginRecord | None = None
        now = T0
        for gap in gaps:
            now = round(now + gap, 3)
            expected = after_failure(expected, now, policy)
            assert port.record_failure(subject, now, policy) == expected
        port.clear(subject, now)
    finally:
        connection.close()


def test_the_lua_script_runs_once_per_failure_on_the_async_connection(redis_url: str) -> None:
    async def main() -> LoginRecord:
        connection = AsyncRedisConnection(redis_url)
        try:
            port = AsyncRedisLoginAttempts(connection)
            for step in range(3):
                record = await port.record_failure(address_subject("10.0.0.1"), T0 + step, POLICY)
            return record
        finally:
            await connection.aclose()

    record = asyncio.run(main())
    assert record == LoginRecord(
        failures=0, last_failure=T0 + 2, locked=True, locked_until=T0 + 102
    )


EARLIER_DOC = json.dumps(
    {
        "failures": 0,
        "last_failure": T0,
        "locked": True,
        "locked_until": T0 + 100,
        "expires": T0 + 100,
    },
    separators=(",", ":"),
)
"""A locked record as every earlier version wrote it, before the encodings moved from the
domain into the adapters."""
EARLIER_LOCK = LoginRecord(failures=0, last_failure=T0, locked=True, locked_until=T0 + 100)


def test_a_sqlite_file_written_by_an_earlier_version_keeps_its_locks(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "store.sqlite3")
    try:
        with sqlite3.connect(tmp_path / "store.sqlite3") as raw:
            raw.executemany(
                "INSERT INTO login_attempts (subject, doc) VALUES (?, ?)",
                [("user:a@b", EARLIER_DOC), ("addr:10.0.0.1", EARLIER_DOC)],
            )
        port = SqliteLoginAttempts(database)
        assert port.get(user_subject("a@b"), T0 + 1, POLICY) == EARLIER_LOCK
        assert port.get(address_subject("10.0.0.1"), T0 + 1, POLICY) == EARLIER_LOCK
        assert port.get(address_subject("a@b"), T0 + 1, POLICY) is None
        assert port.clear(user_subject("a@b"), T0 + 1) is True
    finally:
        database.close()


def test_a_redis_store_written_by_an_earlier_version_keeps_its_locks(redis_url: str) -> None:
    connection = RedisConnection(redis_url)
    try:
        connection.client.set(connection.key("login", "user:old@b"), EARLIER_DOC)
        connection.client.set(connection.key("login", "addr:10.9.9.9"), EARLIER_DOC)
        port = RedisLoginAttempts(connection)
        assert port.get(user_subject("old@b"), T0 + 1, POLICY) == EARLIER_LOCK
        assert port.get(address_subject("10.9.9.9"), T0 + 1, POLICY) == EARLIER_LOCK
        assert port.get(address_subject("old@b"), T0 + 1, POLICY) is None
        assert port.clear(user_subject("old@b"), T0 + 1) is True
        assert port.clear(address_subject("10.9.9.9"), T0 + 1) is True
    finally:
        connection.close()
