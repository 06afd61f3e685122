"""Who is calling: HTTP Basic (RFC 7617) and Redis Software's JWT tokens.

Every authenticated request reads its user's record from the store (one read by
primary key: a dict lookup in memory, a few microseconds in SQLite, one round trip to
Redis), so a password change, a role change or a removal made on any replica counts
on the very next request.

A header this replica already proved (Basic or JWT) is remembered as a `Proof` under a
keyed digest of the whole header (`proofs.ProvenHeaders`): a request that shows it
again costs that digest, one dict lookup, the user read and two string compares of the
read against the record the proof was made against. Nothing is decoded again.

The parts, one concern a module: the password checks with their caches, KDF queue,
lockout and throttling (`password_checks.py`, `unrecorded_failures.py`,
`kdf_queue.py`), the tokens (`tokens.py`), the proofs (`proofs.py`) and the settings,
caller and audit trail they share (`auth_settings.py`).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable

from bdbexport.domain.auth.passwords import prepare_dummy
from bdbexport.domain.auth.ports import AsyncLoginAttempts, AsyncUserDirectory
from bdbexport.domain.auth.users import User
from bdbexport.domain.errors import UnauthenticatedError
from bdbexport.domain.events import DomainEvent
from bdbexport.domain.principal import Principal

from .auth_settings import (
    BAD_CREDENTIALS,
    DEFAULT_TOKEN_LIFETIME,
    LOCK_RECHECK,
    REJECTED_TTL,
    AuthAudit,
    AuthSettings,
    Caller,
    default_kdf_concurrency,
)
from .kdf_queue import FairKdfQueue
from .password_checks import PasswordChecks
from .proofs import Authenticated, Proof, ProvenHeaders
from .tokens import TOKEN_ALGORITHM, TOKEN_ISSUER, Tokens

__all__ = [
    "BAD_CREDENTIALS",
    "DEFAULT_TOKEN_LIFETIME",
    "LOCK_RECHECK",
    "REJECTED_TTL",
    "TOKEN_ALGORITHM",
    "TOKEN_ISSUER",
    "AuthSettings",
    "Authenticated",
    "Authenticator",
    "Caller",
    "default_kdf_concurrency",
]

UNKNOWN_CALLER = Caller()
DEFAULT_SETTINGS = AuthSettings()


class Authenticator:
    def __init__(
        self,
        users: AsyncUserDirectory,
        *,
        attempts: AsyncLoginAttempts,
        token_key: bytes,
        settings: AuthSettings = DEFAULT_SETTINGS,
        publish: Callable[[DomainEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._users = users
        self.settings = settings
        self._clock = clock
        audit = AuthAudit(publish)
        self._sessions = ProvenHeaders(settings.cache_size)
        # The parts read the clock through this object, so one clock serves them all.
        self._passwords = PasswordChecks(
            users, attempts=attempts, settings=settings, clock=self._now, audit=audit
        )
        self._tokens = Tokens(
            users,
            token_key=token_key,
            lifetime=settings.token_lifetime,
            clock=self._now,
            audit=audit,
        )

    def _now(self) -> float:
        return self._clock()

    def prepare(self) -> None:
        """Do the one-off work before serving (the dummy hash: one KDF run)."""
        prepare_dummy()

    @property
    def kdf(self) -> FairKdfQueue:
        return self._passwords.kdf

    @property
    def kdf_runs(self) -> int:
        return self._passwords.kdf.runs

    async def authenticate(
        self, authorization: str | None, caller: Caller = UNKNOWN_CALLER
    ) -> Principal | None:
        """The principal the header proves; None when there is no header at all.

        Raises `UnauthenticatedError` (or `AccountLockedError`) for a header that
        proves nothing, `TooManyAttemptsError` when the caller's address is throttled,
        `StoreUnavailableError` when a password would need checking while failed
        sign-ins cannot be recorded.
        """
        proven = await self.authenticate_with_time(authorization, caller)
        return None if proven is None else proven.principal

    async def authenticate_with_time(
        self, authorization: str | None, caller: Caller = UNKNOWN_CALLER
    ) -> Authenticated | None:
        if authorization is None:
            return None
        key = self._sessions.key_of(authorization)
        proof = self._sessions.get(key)
        if proof is not None:
            # The common case: a header proven before, checked against this request's
            # read of its user (and, for a password, the account's lock).
            if proof.holds_for(await self._users.get(proof.user.email)):
                if proof.token_expires is not None:
                    if proof.token_expires > self._clock():
                        return proof.proven
                elif proof.fresh_until > (monotonic := time.monotonic()):
                    await self._passwords.recheck_lock(proof.user.email, caller, monotonic)
                    return proof.proven
            self._sessions.drop(key)  # stale: prove it again below, from scratch
        proof = await self._prove(authorization, caller)
        self._sessions.put(key, proof)
        return proof.proven

    async def _prove(self, authorization: str, caller: Caller) -> Proof:
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            email, password = _parse_basic(value.strip())
            return await self._passwords.check(email, password, caller)
        if scheme in {"jwt", "bearer"}:
            return await self._tokens.check(value.strip())
        raise UnauthenticatedError("Unsupported authorization scheme: use Basic or JWT.")

    async def verify_password(
        self, email: str, password: str, caller: Caller = UNKNOWN_CALLER
    ) -> Principal:
        return (await self._passwords.check(email, password, caller)).proven.principal

    async def unlock(self, email: str, *, by: Principal, caller: Caller = UNKNOWN_CALLER) -> bool:
        """Lift `email`'s lock (and forget its failures); whether it was locked."""
        return await self._passwords.unlock(email, by=by, caller=caller)

    def generation(self, user: User) -> str:
        return self._tokens.generation(user)

    async def issue_token(
        self,
        principal: Principal,
        ttl: int,
        *,
        auth_time: float | None = None,
        caller: Caller = UNKNOWN_CALLER,
    ) -> str:
        """A token for `principal`, living `ttl` seconds but never past `auth_time +
        token_lifetime` (`auth_time` None: a password sign-in, now)."""
        return await self._tokens.issue(principal, ttl, auth_time=auth_time, caller=caller)

    async def verify_token(self, token: str) -> Authenticated:
        """A JWT's principal and the time of the sign-in it descends from."""
        return (await self._tokens.check(token)).proven

    def forget(self, email: str) -> None:
        """Drop every cached verification of `email` (after a local change to the user)."""
        self._sessions.forget(email)
        self._passwords.forget(email)


def _parse_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise UnauthenticatedError("Malformed Basic credentials.") from error
    email, colon, password = decoded.partition(":")
    if not colon or not email:
        raise UnauthenticatedError("Malformed Basic credentials.")
    return email, password
