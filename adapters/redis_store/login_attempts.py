"""`LoginAttempts` in Redis: one string key per subject, `<prefix>login:user:<email>` or
`<prefix>login:addr:<address>`, holding a JSON document of the record (the encoding
is this store's, as every earlier version wrote it, so an upgrade keeps its locks).

A failure is counted by one Lua script (one round trip, atomic on the server) that
mirrors `domain.auth.lockout.after_failure` line by line; a contract test runs both on the
same sequences. The key expires when the record stops mattering (a lock only an admin
lifts never expires). Times are rounded to milliseconds so the document Lua writes
(14 significant digits) holds exactly what Python computed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from redis.commands.core import Script

from bdbexport.domain.auth.lockout import (
    LockoutPolicy,
    LoginRecord,
    LoginSubject,
    SubjectKind,
    is_current,
    is_locked,
)
from bdbexport.domain.errors import StoreUnavailableError

from .async_connection import AsyncRedisConnection
from .connection import RedisConnection

RECORD_FAILURE = """
local now = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local duration = tonumber(ARGV[3])
local reset_after = tonumber(ARGV[4])
local raw = redis.call('GET', KEYS[1])
local rec = nil
if raw then rec = cjson.decode(raw) end
if rec and rec.locked then
  if rec.locked_until == cjson.null or now < rec.locked_until then return raw end
end
local failures = 1
if rec and not rec.locked and now - rec.last_failure < reset_after then
  failures = rec.failures + 1
end
local out
local expires
if threshold > 0 and failures >= threshold then
  local locked_until = cjson.null
  if duration > 0 then
    locked_until = now + duration
    expires = locked_until
  end
  out = {failures = 0, last_failure = now, locked = true, locked_until = locked_until}
else
  expires = now + reset_after
  out = {failures = failures, last_failure = now, locked = false, locked_until = cjson.null}
end
if expires then out.expires = expires else out.expires = cjson.null end
local doc = cjson.encode(out)
if expires then
  redis.call('SET', KEYS[1], doc, 'PX', math.max(1, math.ceil((expires - now) * 1000)))
else
  redis.call('SET', KEYS[1], doc)
end
return doc
"""


_PREFIX = {SubjectKind.USER: "user:", SubjectKind.ADDRESS: "addr:"}


def subject_key_suffix(subject: LoginSubject) -> str:
    """What follows `<prefix>login:` in a subject's key."""
    return _PREFIX[subject.kind] + subject.name


def record_of(doc: str | bytes) -> LoginRecord:
    """The record a key's JSON document holds (the script writes it)."""
    data: dict[str, Any] = json.loads(doc)
    until = data.get("locked_until")
    return LoginRecord(
        failures=int(data.get("failures", 0)),
        last_failure=float(data.get("last_failure", 0.0)),
        locked=bool(data.get("locked", False)),
        locked_until=None if until is None else float(until),
    )


def _millis(now: float) -> float:
    return round(now, 3)


def _args(now: float, policy: LockoutPolicy) -> list[Any]:
    return [repr(_millis(now)), policy.threshold, repr(policy.duration), repr(policy.reset_after)]


def _current(doc: bytes | None, now: float, policy: LockoutPolicy) -> LoginRecord | None:
    record = None if doc is None else record_of(doc)
    return record if is_current(record, now, policy) else None


class RedisLoginAttempts:
    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection
        self._record: Script = connection.client.register_script(RECORD_FAILURE)

    def _key(self, subject: LoginSubject) -> str:
        return self._redis.key("login", subject_key_suffix(subject))

    def get(self, subject: LoginSubject, now: float, policy: LockoutPolicy) -> LoginRecord | None:
        with self._redis.available():
            doc = self._redis.client.get(self._key(subject))
        return _current(doc, now, policy)  # type: ignore[arg-type]

    def record_failure(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord:
        with self._redis.available():
            doc = self._record(keys=[self._key(subject)], args=_args(now, policy))
        return record_of(doc)

    def clear(self, subject: LoginSubject, now: float) -> bool:
        with self._redis.available():
            doc = self._redis.client.getdel(self._key(subject))
        return doc is not None and is_locked(record_of(doc), now)


class AsyncRedisLoginAttempts:
    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._redis = connection

    def _key(self, subject: LoginSubject) -> str:
        return self._redis.key("login", subject_key_suffix(subject))

    async def get(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord | None:
        doc = await self._once_more(lambda: self._redis.call("GET", self._key(subject)))
        return _current(doc, now, policy)

    async def record_failure(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord:
        doc = await self._once_more(
            lambda: self._redis.run_script(RECORD_FAILURE, [self._key(subject)], _args(now, policy))
        )
        return record_of(doc)

    async def clear(self, subject: LoginSubject, now: float) -> bool:
        doc = await self._once_more(lambda: self._redis.call("GETDEL", self._key(subject)))
        return doc is not None and is_locked(record_of(doc), now)

    async def _once_more(self, command: Callable[[], Awaitable[Any]]) -> Any:
        """Run `command`; after a refused connection, once more. This port has its own
        pool, used only for sign-ins: after Redis restarts, its idle connection is
        stale and fails once (and is dropped) though Redis is back. A timeout is not
        retried (an outage stays bounded by one socket timeout); a failure counted
        twice, if Redis died mid-reply, errs on the side of locking."""
        try:
            return await command()
        except StoreUnavailableError as error:
            if "connection failed" not in error.detail:
                raise
            return await command()
