"""The sign-in rules an `Authenticator` runs under, who is calling, and its audit trail.

Shared by the password checks (`password_checks.py`), the tokens (`tokens.py`) and
the `Authenticator` that puts them together (`authentication.py`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bdbexport.domain.auth.events import AuthenticationEvent
from bdbexport.domain.auth.lockout import DEFAULT_ADDRESS_THROTTLE, DEFAULT_LOCKOUT, LockoutPolicy
from bdbexport.domain.events import DomainEvent

BAD_CREDENTIALS = "Invalid username or password."
DEFAULT_TOKEN_LIFETIME = 86400
"""Seconds a token, and every token traded for it, may live after the password sign-in."""

LOCK_RECHECK = 1.0
"""How long a cached credential's account, once read unlocked, is taken as unlocked: a
lock placed through another replica stops its cached sessions at most this late (a
sign-in that needs the password reads the lock every time)."""

REJECTED_TTL = 10.0
"""How long a credential that failed verification is refused from memory: repeating a
wrong password costs neither a KDF run nor a store write (it is audited, not counted
again), and a password changed to exactly that value is accepted at once anyway (the
key holds the stored hash)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Where a request comes from, for throttling and the audit trail."""

    address: str = "unknown"
    request_id: str | None = None


def default_kdf_concurrency() -> int:
    """One scrypt at a time per core but one: the event loop keeps a core to answer
    everything else (on two cores, a second KDF thread starved the loop)."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    lockout: LockoutPolicy = DEFAULT_LOCKOUT
    address_throttle: LockoutPolicy = DEFAULT_ADDRESS_THROTTLE
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    kdf_concurrency: int = field(default_factory=default_kdf_concurrency)
    kdf_max_waiting: int = 4
    """Sign-ins one client address may have waiting for the KDF; more are 429."""
    cache_size: int = 4096
    cache_ttl: float = 60.0


class AuthAudit:
    """Publishes authentication events (sign-ins failed, locks, tokens) to the bus."""

    def __init__(self, publish: Callable[[DomainEvent], None] | None) -> None:
        self._publish = publish

    def __call__(
        self, kind: type[AuthenticationEvent], actor: str, caller: Caller, **fields: object
    ) -> None:
        if self._publish is None:
            return
        event = kind(
            actor=actor,
            uid=None,
            at=datetime.now(UTC),
            client=caller.address,
            request_id=caller.request_id,
            **fields,  # type: ignore[arg-type]
        )
        self._publish(event)


def seconds_until(until: float | None, now: float) -> int:
    return 1 if until is None else max(1, math.ceil(until - now))


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")
