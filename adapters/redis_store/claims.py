"""`Claims` in Redis: `SET <prefix>claim:<name> <holder> NX PX <ttl>`, one round trip.

Redis decides atomically, and expires the claim on its own clock, so replicas'
clocks do not matter to the claim itself (only to which name they ask for).
"""

from __future__ import annotations

from datetime import timedelta

from .connection import RedisConnection


class RedisClaims:
    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection

    def claim(self, name: str, holder: str, ttl: timedelta) -> bool:
        milliseconds = max(int(ttl / timedelta(milliseconds=1)), 1)
        with self._redis.available():
            won = self._redis.client.set(
                self._redis.key("claim", name), holder, nx=True, px=milliseconds
            )
        return bool(won)
