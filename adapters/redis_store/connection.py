"""A Redis connection pool from a URL, and the translation of Redis outages.

`redis://[user:password@]host:port/db?prefix=bdbexport:` and `rediss://` (TLS) are
accepted; `prefix` namespaces every key so several deployments can share a server. A
connection failure or timeout becomes `StoreUnavailableError` (HTTP 503, CLI exit 7):
never a hang (every socket operation has a timeout) and never a 500. The pool
reconnects by itself once Redis is back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from bdbexport.domain.errors import StoreUnavailableError

DEFAULT_PREFIX = "bdbexport:"
SOCKET_TIMEOUT = 2.0


class RedisConnection:
    def __init__(self, url: str, *, socket_timeout: float = SOCKET_TIMEOUT) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.prefix = query.pop("prefix", DEFAULT_PREFIX)
        clean = urlunsplit(parts._replace(query=urlencode(query)))
        self.client: redis.Redis = redis.Redis.from_url(
            clean,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            health_check_interval=30,
            retry_on_timeout=False,
        )
        self.where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
        self._script_shas: dict[str, str] = {}

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    @contextmanager
    def available(self) -> Iterator[None]:
        """Run Redis calls; an outage becomes `StoreUnavailableError`."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise StoreUnavailableError(
                f"Redis at {self.where} did not answer ({error})"
            ) from error
        except (redis.exceptions.ReadOnlyError, redis.exceptions.OutOfMemoryError) as error:
            raise StoreUnavailableError(
                f"Redis at {self.where} refuses writes ({error})"
            ) from error
        except redis.ResponseError as error:
            if any(word in str(error) for word in ("LOADING", "BUSY", "MASTERDOWN", "MISCONF")):
                raise StoreUnavailableError(
                    f"Redis at {self.where} is not ready ({error})"
                ) from error
            raise

    def call(self, *command: Any) -> Any:
        """One command, one round trip (the same call as `AsyncRedisConnection.call`, so
        the repositories generated from the async ones run on this connection)."""
        with self.available():
            return self.client.execute_command(*command)  # type: ignore[no-untyped-call]

    def run_script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """A Lua script by its SHA (`EVALSHA`); sent whole (`EVAL`) only when the
        server's script cache has lost it (a restart)."""
        sha = self._script_shas.get(source)
        if sha is None:
            sha = self._script_shas[source] = hashlib.sha1(source.encode()).hexdigest()
        try:
            return self.call("EVALSHA", sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return self.call("EVAL", source, len(keys), *keys, *args)

    def secret(self, name: str) -> bytes:
        """A random secret shared by every replica of this store, made on first use."""
        import secrets

        key = self.key("secret", name)
        with self.available():
            self.client.set(key, secrets.token_hex(32), nx=True)
            value = self.client.get(key)
        assert isinstance(value, bytes)
        return bytes.fromhex(value.decode())

    def close(self) -> None:
        self.client.close()


def refused(error: StoreUnavailableError) -> bool:
    """Whether an outage was a connection refused or dropped (not a timeout, not a server
    still loading): what a port may retry once, at the cost of milliseconds. Both
    connections (this one and `AsyncRedisConnection`) raise the outage from Redis' error."""
    cause = error.__cause__
    return isinstance(cause, redis.ConnectionError) and not isinstance(
        cause, redis.BusyLoadingError
    )
