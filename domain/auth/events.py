"""Authentication events for the audit trail: failed sign-ins, locks, unlocks, tokens.

They are domain events (`uid` None: they concern no bdb) so they reach the same
handlers as every change: the audit log writes them as JSON lines. `actor` is the user
name as it was tried (it may name nobody); no event carries a password, a hash or a
token. `client` is the caller's address as the server saw it, `request_id` the id the
access log gives the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bdbexport.domain.events import DomainEvent


@dataclass(slots=True, kw_only=True)
class AuthenticationEvent(DomainEvent):
    client: str | None = None
    request_id: str | None = None


@dataclass(slots=True, kw_only=True)
class LoginFailed(AuthenticationEvent):
    """A sign-in was refused: `reason` is `bad_credentials`, `locked` or `throttled`."""

    outcome: ClassVar[str] = "refused"

    reason: str = "bad_credentials"


@dataclass(slots=True, kw_only=True)
class AccountLocked(AuthenticationEvent):
    """This failure locked the account; `locked_until` is ISO 8601, or None until an
    admin unlocks it."""

    locked_until: str | None = None


@dataclass(slots=True, kw_only=True)
class AccountUnlocked(AuthenticationEvent):
    """An admin lifted the lock (`actor` is the admin, `subject` the account)."""

    subject: str = ""
    was_locked: bool = False


@dataclass(slots=True, kw_only=True)
class TokenIssued(AuthenticationEvent):
    """A JWT was handed out; `renewal` when it was traded for another token."""

    expires: str = ""
    renewal: bool = False
