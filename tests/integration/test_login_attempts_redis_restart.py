"""Both Redis `LoginAttempts` ports (one source: the sync one is generated) survive a
restart of redis-server. The async port's pooled connection goes stale: its first call
after the restart fails once and is retried on a fresh one instead of failing a sign-in
(this test fails without the retry). The sync client's pool checks a connection as it
hands it out; the same retry only covers one dropped mid-call there, and this holds the
sync port (`user unlock`, the workers) to the same outcome. While the server is down,
both still say the store is unavailable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bdbexport.adapters.redis_store import AsyncRedisConnection, RedisConnection
from bdbexport.adapters.redis_store.async_login_attempts import AsyncRedisLoginAttempts
from bdbexport.adapters.redis_store.login_attempts import RedisLoginAttempts
from bdbexport.domain.auth.lockout import LockoutPolicy, LoginRecord, user_subject
from bdbexport.domain.errors import StoreUnavailableError
from tests.support.redis_server import RedisServer

POLICY = LockoutPolicy(threshold=3, duration=100.0, reset_after=10.0)
T0 = 1_800_000_000.0
SUBJECT = user_subject("a@b")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own: the test restarts it."""
    started = RedisServer(tmp_path / "redis").start()
    try:
        yield started
    finally:
        started.stop()


def restarted(server: RedisServer) -> None:
    port = server.port
    server.stop()
    server.start()
    assert server.port == port, "the port was taken while redis-server was down"


def test_the_sync_port_retries_once_on_the_connection_a_restart_made_stale(
    server: RedisServer,
) -> None:
    connection = RedisConnection(server.url)
    try:
        attempts = RedisLoginAttempts(connection)
        assert attempts.record_failure(SUBJECT, T0, POLICY).failures == 1
        restarted(server)  # no persistence: the record is gone with the old process
        assert attempts.get(SUBJECT, T0, POLICY) is None
        restarted(server)
        assert attempts.record_failure(SUBJECT, T0, POLICY) == LoginRecord(
            failures=1, last_failure=T0
        )
        restarted(server)
        assert attempts.clear(SUBJECT, T0) is False
        server.stop()
        with pytest.raises(StoreUnavailableError):
            attempts.get(SUBJECT, T0, POLICY)
    finally:
        connection.close()


@pytest.mark.anyio
async def test_the_async_port_retries_once_on_the_connection_a_restart_made_stale(
    server: RedisServer,
) -> None:
    connection = AsyncRedisConnection(server.url)
    try:
        attempts = AsyncRedisLoginAttempts(connection)
        assert (await attempts.record_failure(SUBJECT, T0, POLICY)).failures == 1
        restarted(server)
        assert await attempts.get(SUBJECT, T0, POLICY) is None
        restarted(server)
        assert await attempts.record_failure(SUBJECT, T0, POLICY) == LoginRecord(
            failures=1, last_failure=T0
        )
        restarted(server)
        assert await attempts.clear(SUBJECT, T0) is False
        server.stop()
        with pytest.raises(StoreUnavailableError):
            await attempts.get(SUBJECT, T0, POLICY)
    finally:
        await connection.aclose()
