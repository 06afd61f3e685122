"""An asyncio Redis connection pool from a URL, and outages as `StoreUnavailableError`.

It reads the same URL and `prefix` as `RedisConnection`, so the sync and the async
views one process holds of a store see the same keys. Every call runs under one
deadline, the socket timeout, covering the wait for a pooled connection, the connect
and the reply: a stopped or unreachable server costs a request at most that long and
never blocks the event loop. The messages name no host or port because
unauthenticated callers read them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection

from bdbexport.domain.errors import StoreUnavailableError

from .connection import DEFAULT_PREFIX, SOCKET_TIMEOUT

MAX_CONNECTIONS = 64
"""Enough for the requests one event loop has in flight; more wait for a turn (within
the deadline) instead of opening sockets without bound."""

HELD_IDLE = 32
"""Connections the loop's calls keep between calls, out of the pool: taking one is a
list pop, where the pool's checkout costs a lock, its observability hooks and a
liveness probe with a timer (≈ 50 µs of CPU a call, half a Redis call's cost,
docs/performance.md). The pool holds up to MAX_CONNECTIONS more for everything else."""

HEALTH_CHECK_INTERVAL = 30

NOT_READY = frozenset({"LOADING", "BUSY", "MASTERDOWN", "MISCONF"})
"""Replies that mean the server is up but cannot serve yet: an outage, not a bug
(`MISCONF`: it refuses writes because it cannot persist, e.g. its disk is full)."""
WRITES_REFUSED = (redis.exceptions.ReadOnlyError, redis.exceptions.OutOfMemoryError)


class AsyncRedisConnection:
    def __init__(self, url: str, *, socket_timeout: float = SOCKET_TIMEOUT) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.prefix = query.pop("prefix", DEFAULT_PREFIX)
        clean = urlunsplit(parts._replace(query=urlencode(query)))
        self.socket_timeout = socket_timeout
        # A burst beyond MAX_CONNECTIONS queues on the semaphore (cheap when a turn is
        # free) rather than failing with "Too many connections"; the plain pool behind it
        # then always has a connection, without the blocking pool's per-call condition
        # variable and timer.
        self._turns = asyncio.Semaphore(MAX_CONNECTIONS)
        pool = ConnectionPool.from_url(
            clean,
            max_connections=MAX_CONNECTIONS + HELD_IDLE,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            health_check_interval=HEALTH_CHECK_INTERVAL,
            retry_on_timeout=False,
        )
        self._pool = pool
        self.client: Redis = Redis.from_pool(pool)
        self._script_shas: dict[str, str] = {}
        self._idle: list[AbstractConnection] = []

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    @asynccontextmanager
    async def available(self) -> AsyncIterator[None]:
        """Bound the Redis calls in the body by the deadline; an outage becomes
        `StoreUnavailableError`. Do not `yield` to a consumer inside it: the deadline
        would run while the consumer works."""
        try:
            async with asyncio.timeout(self.socket_timeout), self._turns:
                yield
        except Exception as error:
            raise _as_outage(error) from error

    async def call(self, *command: Any) -> Any:
        """One command, one round trip, on a pooled connection: the path every request
        takes, so it skips the client's retry and observability layers (we retry nothing:
        a timeout is an outage). Bounded without a timer of its own: connecting and
        reading each time out after `socket_timeout` (the client's own deadlines), and a
        turn is awaited for at most that long when all are taken."""
        try:
            if self._turns.locked():
                await asyncio.wait_for(self._turns.acquire(), self.socket_timeout)
            else:
                await self._turns.acquire()
            try:
                connection = await self._connection()
                try:
                    await connection.send_command(*command)
                    reply = await connection.read_response()
                except redis.ResponseError:
                    await self._keep(connection)  # a reply: the connection is fine
                    raise
                except BaseException:
                    # Broken, timed out or cancelled mid-reply: its state is unknown.
                    await connection.disconnect()
                    await self._pool.release(connection)
                    raise
                await self._keep(connection)
                return reply
            finally:
                self._turns.release()
        except Exception as error:
            raise _as_outage(error) from error

    async def _connection(self) -> AbstractConnection:
        """A held connection the server has not closed, else one from the pool."""
        while self._idle:
            connection = self._idle.pop()
            if _still_open(connection):
                return connection
            # Closed by the server (a restart, a timeout): the pool reconnects it.
            await connection.disconnect()
            await self._pool.release(connection)
        fresh: AbstractConnection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
        return fresh

    async def _keep(self, connection: AbstractConnection) -> None:
        if len(self._idle) < HELD_IDLE:
            self._idle.append(connection)
        else:
            await self._pool.release(connection)

    async def run_script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """A Lua script by its SHA (`EVALSHA`, one round trip); sent whole (`EVAL`) only
        when the server's script cache has lost it (a restart)."""
        sha = self._script_shas.get(source)
        if sha is None:
            sha = self._script_shas[source] = hashlib.sha1(source.encode()).hexdigest()
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return await self.call("EVAL", source, len(keys), *keys, *args)

    async def aclose(self) -> None:
        # The pool disconnects the connections it lent too, the held ones among them.
        self._idle.clear()
        await self.client.aclose()


def _still_open(connection: AbstractConnection) -> bool:
    """Whether the server has not closed it: the loop has seen no end of stream. Free (no
    system call), unlike the pool's probe; a connection idle for HEALTH_CHECK_INTERVAL is
    also pinged by the client before its next command."""
    reader = getattr(connection, "_reader", None)
    return isinstance(reader, asyncio.StreamReader) and not reader.at_eof()


def _as_outage(error: Exception) -> Exception:
    """The error a Redis failure stands for: an outage becomes `StoreUnavailableError`
    (naming no host or port); anything else is returned as it is."""
    if isinstance(error, TimeoutError | redis.TimeoutError):
        return StoreUnavailableError("the Redis store did not answer (timeout)")
    if isinstance(error, redis.BusyLoadingError):
        return StoreUnavailableError("the Redis store is not ready (LOADING)")
    if isinstance(error, redis.ConnectionError):
        return StoreUnavailableError("the Redis store could not be reached (connection failed)")
    if isinstance(error, WRITES_REFUSED):
        # A read-only replica (after a failover) or a full memory: the store's state,
        # not the request's fault; writes may work again later.
        return StoreUnavailableError(f"the Redis store refuses writes ({error})")
    if isinstance(error, redis.ResponseError):
        word = str(error).split(" ", 1)[0]
        if word in NOT_READY:
            return StoreUnavailableError(f"the Redis store is not ready ({word})")
    return error
