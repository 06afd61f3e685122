"""What both views of `LoginAttempts` in Redis share (`async_login_attempts.py` and
the `login_attempts.py` generated from it): a subject's key, the record a key's JSON
document holds, and `RECORD_FAILURE`, the Lua script that counts a failure in one round
trip, atomic on the server, mirroring `domain.auth.lockout.after_failure` line by line
(a contract test runs both on the same sequences). The script sets the key to expire when
the record stops mattering; a lock only an admin lifts never expires. Times are rounded
to milliseconds so the document Lua writes (14 significant digits) holds exactly what
Python computed.
"""

from __future__ import annotations

import json
from typing import Any

from bdbexport.domain.auth.lockout import (
    LockoutPolicy,
    LoginRecord,
    LoginSubject,
    SubjectKind,
    is_current,
)

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


def script_args(now: float, policy: LockoutPolicy) -> list[Any]:
    """`RECORD_FAILURE`'s arguments: the time (in milliseconds' precision) and the policy."""
    return [repr(_millis(now)), policy.threshold, repr(policy.duration), repr(policy.reset_after)]


def current(doc: bytes | None, now: float, policy: LockoutPolicy) -> LoginRecord | None:
    """The record a key's document (if any) holds, while it still matters."""
    record = None if doc is None else record_of(doc)
    return record if is_current(record, now, policy) else None
