"""`LoginAttempts` in Redis: one string key per subject, `<prefix>login:user:<email>` or
`<prefix>login:addr:<address>`, holding a JSON document of the record (the encoding
is this store's, as every earlier version wrote it, so an upgrade keeps its locks). A
failure is counted by one Lua script (`login_attempts_scripts.py`).

Written once, asynchronous: `login_attempts.py`'s `RedisLoginAttempts` (the CLI's
`user unlock`, the workers) is generated from this module by `tools/async_to_sync.py`,
so both views use the same keys, script and retry.
"""

from __future__ import annotations

from typing import Any

from bdbexport.domain.auth.lockout import LockoutPolicy, LoginRecord, LoginSubject, is_locked
from bdbexport.domain.errors import StoreUnavailableError

from .async_connection import AsyncRedisConnection
from .connection import refused
from .login_attempts_scripts import (
    RECORD_FAILURE,
    current,
    record_of,
    script_args,
    subject_key_suffix,
)


class AsyncRedisLoginAttempts:
    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._redis = connection

    def _key(self, subject: LoginSubject) -> str:
        return self._redis.key("login", subject_key_suffix(subject))

    async def get(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord | None:
        doc = await self._once_more("GET", self._key(subject))
        return current(doc, now, policy)

    async def record_failure(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord:
        keys = [self._key(subject)]
        args = script_args(now, policy)
        try:
            doc = await self._redis.run_script(RECORD_FAILURE, keys, args)
        except StoreUnavailableError as error:
            if not refused(error):
                raise
            doc = await self._redis.run_script(RECORD_FAILURE, keys, args)
        return record_of(doc)

    async def clear(self, subject: LoginSubject, now: float) -> bool:
        doc = await self._once_more("GETDEL", self._key(subject))
        return doc is not None and is_locked(record_of(doc), now)

    async def _once_more(self, *command: Any) -> Any:
        """Run `command`; after a refused or dropped connection, once more. This port
        has its own connection, used only for sign-ins (and `user unlock`): after Redis
        restarts, the async side's idle connection is stale and fails once (and is
        dropped) though Redis is back. The sync client's pool checks a connection as it
        hands it out, so there the retry only covers one dropped between checkout and
        reply; it is kept on both sides (one source, one behaviour) because a refusal
        costs milliseconds when Redis is down. A timeout is not retried (an outage stays
        bounded by one socket timeout); a failure counted twice (`record_failure`
        retries the same way), if Redis died mid-reply, errs on the side of locking."""
        try:
            return await self._redis.call(*command)
        except StoreUnavailableError as error:
            if not refused(error):
                raise
            return await self._redis.call(*command)
