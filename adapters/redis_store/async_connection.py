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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.asyncio import BlockingConnectionPool, Redis

from bdbexport.domain.errors import StoreUnavailableError

from .connection import DEFAULT_PREFIX, SOCKET_TIMEOUT

MAX_CONNECTIONS = 64
"""Enough for the requests one event loop has in flight; more wait (within the deadline)
instead of opening sockets without bound."""

HEALTH_CHECK_INTERVAL = 30

NOT_READY = frozenset({"LOADING", "BUSY", "MASTERDOWN"})
"""Replies that mean the server is up but cannot serve yet: an outage, not a bug."""


class AsyncRedisConnection:
    def __init__(self, url: str, *, socket_timeout: float = SOCKET_TIMEOUT) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.prefix = query.pop("prefix", DEFAULT_PREFIX)
        clean = urlunsplit(parts._replace(query=urlencode(query)))
        self.socket_timeout = socket_timeout
        # A blocking pool makes a burst beyond MAX_CONNECTIONS queue for a connection
        # rather than fail at once with "Too many connections".
        pool = BlockingConnectionPool.from_url(
            clean,
            max_connections=MAX_CONNECTIONS,
            timeout=socket_timeout,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            health_check_interval=HEALTH_CHECK_INTERVAL,
            retry_on_timeout=False,
        )
        self.client: Redis = Redis.from_pool(pool)

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    @asynccontextmanager
    async def available(self) -> AsyncIterator[None]:
        """Bound the Redis calls in the body by the deadline; an outage becomes
        `StoreUnavailableError`. Do not `yield` to a consumer inside it: the deadline
        would run while the consumer works."""
        try:
            async with asyncio.timeout(self.socket_timeout):
                yield
        except (TimeoutError, redis.TimeoutError) as error:
            raise StoreUnavailableError("the Redis store did not answer (timeout)") from error
        except redis.BusyLoadingError as error:
            raise StoreUnavailableError("the Redis store is not ready (LOADING)") from error
        except redis.ConnectionError as error:
            raise StoreUnavailableError(
                "the Redis store could not be reached (connection failed)"
            ) from error
        except redis.ResponseError as error:
            word = str(error).split(" ", 1)[0]
            if word in NOT_READY:
                raise StoreUnavailableError(f"the Redis store is not ready ({word})") from error
            raise

    async def aclose(self) -> None:
        await self.client.aclose()
