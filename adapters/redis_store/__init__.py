"""The shared store: a Redis server (or Sentinel / managed Redis) that several
`bdbexport serve` replicas use at once."""

from .connection import RedisConnection
from .repositories import RedisBdbRepository, RedisModuleCatalog, RedisUserDirectory

__all__ = ["RedisBdbRepository", "RedisConnection", "RedisModuleCatalog", "RedisUserDirectory"]
