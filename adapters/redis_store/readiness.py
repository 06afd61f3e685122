"""Whether a Redis store can serve: what `/readyz` asks of it (issue 22, finding 11).

A Redis at its memory limit answers reads and refuses writes; one emptied by
`FLUSHALL` answers everything, with none of the store's data. So the probe checks
that the store's data is there (the token-signing secret, the first key a server
creates in a store it serves and never deletes) and that a write goes through (one
heartbeat key that expires by itself), and raises `StoreUnavailableError` saying which
is missing (naming no host or port: `/readyz` is unauthenticated).
"""

from __future__ import annotations

import time

from bdbexport.domain.errors import StoreUnavailableError

from .async_connection import AsyncRedisConnection

HEARTBEAT_TTL = 60
"""Seconds the heartbeat key lives: it never accumulates."""


class RedisReadiness:
    """The readiness probe of one store (a prefix on a Redis server)."""

    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._connection = connection
        self._marker = connection.key("secret", "jwt")
        self._heartbeat = connection.key("readiness", "heartbeat")

    async def __call__(self) -> None:
        if not await self._connection.call("EXISTS", self._marker):
            raise StoreUnavailableError("the store's data is gone (its keys were removed)")
        stamp = repr(time.time())
        await self._connection.call("SET", self._heartbeat, stamp, "EX", HEARTBEAT_TTL)
