"""The shared store: a Redis server (or Sentinel / managed Redis) that several
`bdbexport serve` replicas use at once."""

from .async_connection import AsyncRedisConnection
from .async_repositories import (
    AsyncRedisBdbRepository,
    AsyncRedisModuleCatalog,
    AsyncRedisUserDirectory,
)
from .connection import RedisConnection
from .repositories import RedisBdbRepository, RedisModuleCatalog, RedisUserDirectory

__all__ = [
    "AsyncRedisBdbRepository",
    "AsyncRedisConnection",
    "AsyncRedisModuleCatalog",
    "AsyncRedisUserDirectory",
    "RedisBdbRepository",
    "RedisConnection",
    "RedisModuleCatalog",
    "RedisUserDirectory",
]
