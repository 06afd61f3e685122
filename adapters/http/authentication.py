"""Who is calling: HTTP Basic (RFC 7617) and Redis Software's JWT tokens.

Every authenticated request reads its user's record from the store (one read by
primary key: a dict lookup in memory, a few microseconds in SQLite, one round trip to
Redis), so a password change, a role change or a removal made on any replica counts
on the very next request. A password check also reads the account's lockout record (a
second read of the same cost): a locked account is refused even with the right
password. A credential already verified re-reads the lock at most once a second
(`LOCK_RECHECK`), so a lock placed through another replica stops it within a second.

A header this replica already proved (Basic or JWT) is remembered as a `Proof` under a
keyed digest of the whole header (`proofs.ProvenHeaders`): a request that shows it
again costs that digest, one dict lookup, the user read and two string compares of the
read against the record the proof was made against. Nothing is decoded again.

scrypt costs tens of milliseconds, so a verified password is also cached by what it
says: a bounded LRU keyed by a keyed BLAKE2b of the email, the password AND the stored
hash just read, so the entry can only match while the store still holds that hash (a
new password on another replica misses at once). A refused credential is remembered for
`REJECTED_TTL` seconds under the same kind of key. Concurrent first requests with the
same credentials share one verification, and verifications run in worker threads
through a fair queue (`FairKdfQueue`), at most `kdf_concurrency` at once.

Failed sign-ins are counted through the store (`AsyncLoginAttempts`) per account and
per client address, under the same rule (`domain.lockout`): the account locks, the
address is throttled (429). An unknown name takes exactly the path of a wrong
password (a dummy verification, the same reads and writes, its own lock), so neither
the answer nor its timing tells which names exist.

Tokens carry the user (`sub`), a credential generation (`gen`, a keyed digest of the
stored hash and role: any new password, role, or a re-created user changes it) and
the time of the password sign-in they descend from (`auth_time`); a token traded for
a new one never outlives `auth_time + token_lifetime`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import math
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jwt

from bdbexport.domain.auth.events import (
    AccountLocked,
    AccountUnlocked,
    AuthenticationEvent,
    LoginFailed,
    TokenIssued,
)
from bdbexport.domain.auth.lockout import (
    DEFAULT_ADDRESS_THROTTLE,
    DEFAULT_LOCKOUT,
    LockoutPolicy,
    LoginRecord,
    address_subject,
    is_locked,
    user_subject,
)
from bdbexport.domain.auth.passwords import prepare_dummy, verify_dummy, verify_password
from bdbexport.domain.auth.ports import AsyncLoginAttempts, AsyncUserDirectory
from bdbexport.domain.auth.users import User
from bdbexport.domain.errors import AccountLockedError, TooManyAttemptsError, UnauthenticatedError
from bdbexport.domain.events import DomainEvent
from bdbexport.domain.principal import Principal

from .kdf_queue import FairKdfQueue
from .proofs import Authenticated, Proof, ProvenHeaders

BAD_CREDENTIALS = "Invalid username or password."
TOKEN_ISSUER = "bdbexport"
TOKEN_ALGORITHM = "HS256"
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


@dataclass(frozen=True, slots=True)
class _Claims:
    subject: str
    generation: str
    auth_time: float
    expires: float


class Authenticator:
    def __init__(
        self,
        users: AsyncUserDirectory,
        *,
        attempts: AsyncLoginAttempts,
        token_key: bytes,
        settings: AuthSettings = AuthSettings(),
        publish: Callable[[DomainEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._users = users
        self._attempts = attempts
        self._token_key = token_key
        self.settings = settings
        self._publish = publish
        self._clock = clock
        self._cache_key = secrets.token_bytes(32)
        self._generation_key = hashlib.blake2b(token_key, person=b"bdbexport-gen").digest()
        self._sessions = ProvenHeaders(settings.cache_size)
        self._cache: OrderedDict[bytes, Proof] = OrderedDict()
        self._rejected: OrderedDict[bytes, float] = OrderedDict()
        self._unlocked: OrderedDict[str, float] = OrderedDict()
        self._in_flight: dict[bytes, asyncio.Future[Proof | None]] = {}
        self.kdf = FairKdfQueue(
            concurrency=settings.kdf_concurrency, max_waiting=settings.kdf_max_waiting
        )

    def prepare(self) -> None:
        """Do the one-off work before serving (the dummy hash: one KDF run)."""
        prepare_dummy()

    @property
    def kdf_runs(self) -> int:
        return self.kdf.runs

    async def authenticate(
        self, authorization: str | None, caller: Caller = Caller()
    ) -> Principal | None:
        """The principal the header proves; None when there is no header at all.

        Raises `UnauthenticatedError` (or `AccountLockedError`) for a header that
        proves nothing, `TooManyAttemptsError` when the caller's address is throttled.
        """
        proven = await self.authenticate_with_time(authorization, caller)
        return None if proven is None else proven.principal

    async def authenticate_with_time(
        self, authorization: str | None, caller: Caller = Caller()
    ) -> Authenticated | None:
        if authorization is None:
            return None
        key = self._sessions.key_of(authorization)
        proof = self._sessions.get(key)
        if proof is not None:
            # The common case: a header proven before, checked against this request's
            # read of its user (and, for a password, the account's lock).
            email = proof.user.email
            if proof.holds_for(await self._users.get(email)):
                if proof.token_expires is not None:
                    if proof.token_expires > self._clock():
                        return proof.proven
                elif proof.fresh_until > (monotonic := time.monotonic()):
                    if monotonic - self._unlocked.get(email, -math.inf) >= LOCK_RECHECK:
                        await self._unless_locked(email, caller)
                        self._mark_unlocked(email, monotonic)
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
            return await self._check_password(email, password, caller)
        if scheme in {"jwt", "bearer"}:
            return await self._check_token(value.strip())
        raise UnauthenticatedError("Unsupported authorization scheme: use Basic or JWT.")

    # --- passwords ---------------------------------------------------------------------

    async def verify_password(
        self, email: str, password: str, caller: Caller = Caller()
    ) -> Principal:
        return (await self._check_password(email, password, caller)).proven.principal

    async def _check_password(self, email: str, password: str, caller: Caller) -> Proof:
        user = await self._users.get(email)
        stored = user.password_hash if user is not None else ""
        # A keyed BLAKE2b: one C call, where HMAC-SHA256 builds two hash objects in Python.
        key = hashlib.blake2b(
            f"{email}\0{password}\0{stored}".encode(errors="surrogatepass"),
            key=self._cache_key,
            digest_size=32,
        ).digest()
        monotonic = time.monotonic()
        cached = self._cached(key, user, monotonic)
        if cached is None and self.kdf.is_full(caller.address):
            # Before any other read: a burst from one address costs one read a request.
            self._audit(LoginFailed, email, caller, reason="throttled")
            raise TooManyAttemptsError(1)
        if cached is not None and monotonic - self._unlocked.get(email, -math.inf) < LOCK_RECHECK:
            self._cache.move_to_end(key)
            return cached  # its account was read unlocked under a second ago
        lock = await self._unless_locked(email, caller)
        if cached is not None:
            self._mark_unlocked(email, monotonic)
            self._cache.move_to_end(key)
            return cached
        rejected_until = self._rejected.pop(key, None)
        if rejected_until is not None and rejected_until > monotonic:
            self._rejected[key] = rejected_until
            self._audit(LoginFailed, email, caller, reason="bad_credentials")
            raise UnauthenticatedError(BAD_CREDENTIALS)
        return await self._verify_once(key, email, password, user, caller, lock)

    def _mark_unlocked(self, email: str, monotonic: float) -> None:
        self._unlocked[email] = monotonic
        self._unlocked.move_to_end(email)
        while len(self._unlocked) > self.settings.cache_size:
            self._unlocked.popitem(last=False)

    def _cached(self, key: bytes, user: User | None, monotonic: float) -> Proof | None:
        """A still-valid cached verification made against this very stored record."""
        cached = self._cache.get(key)
        if cached is None:
            return None
        if cached.fresh_until <= monotonic or not cached.holds_for(user):
            self._cache.pop(key, None)
            return None
        return cached

    async def _unless_locked(self, email: str, caller: Caller) -> LoginRecord | None:
        """The account's lockout record; `AccountLockedError` while it locks."""
        now = self._clock()
        lock = await self._attempts.get(user_subject(email), now, self.settings.lockout)
        if lock is not None and is_locked(lock, now):
            self._audit(LoginFailed, email, caller, reason="locked")
            raise AccountLockedError(lock.locked_until)
        return lock

    async def _verify_once(
        self,
        key: bytes,
        email: str,
        password: str,
        user: User | None,
        caller: Caller,
        lock: LoginRecord | None,
    ) -> Proof:
        """Concurrent first requests with the same credentials share one verification."""
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._in_flight[key] = pending
            try:
                pending.set_result(
                    await self._verify_slowly(key, email, password, user, caller, lock)
                )
            except BaseException as error:
                pending.set_exception(error)
                pending.exception()  # retrieved here: the leader re-raises it
                raise
            finally:
                del self._in_flight[key]
        proof = await asyncio.shield(pending)
        if proof is None:
            raise UnauthenticatedError(BAD_CREDENTIALS)
        return proof

    async def _verify_slowly(
        self,
        key: bytes,
        email: str,
        password: str,
        user: User | None,
        caller: Caller,
        lock: LoginRecord | None,
    ) -> Proof | None:
        throttle = self.settings.address_throttle
        address = address_subject(caller.address)
        now = self._clock()
        record = await self._attempts.get(address, now, throttle)
        if record is not None and is_locked(record, now):
            self._audit(LoginFailed, email, caller, reason="throttled")
            raise TooManyAttemptsError(_seconds_until(record.locked_until, now))
        try:
            matches = await self.kdf.run(caller.address, _check, user, password)
        except TooManyAttemptsError:
            self._audit(LoginFailed, email, caller, reason="throttled")
            raise
        now = self._clock()
        if not matches or user is None:
            self._rejected[key] = time.monotonic() + REJECTED_TTL
            while len(self._rejected) > self.settings.cache_size:
                self._rejected.popitem(last=False)
            await self._attempts.record_failure(address, now, throttle)
            counted = await self._attempts.record_failure(
                user_subject(email), now, self.settings.lockout
            )
            self._audit(LoginFailed, email, caller, reason="bad_credentials")
            self._unlocked.pop(email, None)
            if is_locked(counted, now):
                self._audit(AccountLocked, email, caller, locked_until=_iso(counted.locked_until))
                raise AccountLockedError(counted.locked_until)
            return None
        if lock is not None:
            await self._attempts.clear(user_subject(email), now)
        proof = Proof(
            user,
            Authenticated(user.principal, None),
            fresh_until=time.monotonic() + self.settings.cache_ttl,
        )
        self._cache[key] = proof
        while len(self._cache) > self.settings.cache_size:
            self._cache.popitem(last=False)
        return proof

    async def unlock(self, email: str, *, by: Principal, caller: Caller = Caller()) -> bool:
        """Lift `email`'s lock (and forget its failures); whether it was locked."""
        was_locked = await self._attempts.clear(user_subject(email), self._clock())
        self._audit(AccountUnlocked, by.name, caller, subject=email, was_locked=was_locked)
        return was_locked

    # --- tokens ------------------------------------------------------------------------

    def generation(self, user: User) -> str:
        """A digest of the stored hash and the role under a key derived from the token
        key: it changes with any new password, role or re-created user, and says nothing
        about the hash."""
        digest = hashlib.blake2b(
            f"{user.password_hash}\0{user.role}".encode(),
            key=self._generation_key,
            digest_size=12,
        ).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii")

    async def issue_token(
        self,
        principal: Principal,
        ttl: int,
        *,
        auth_time: float | None = None,
        caller: Caller = Caller(),
    ) -> str:
        """A token for `principal`, living `ttl` seconds but never past `auth_time +
        token_lifetime` (`auth_time` None: a password sign-in, now)."""
        now = self._clock()
        renewal = auth_time is not None
        origin = now if auth_time is None else auth_time
        expires = min(int(now) + ttl, int(origin) + self.settings.token_lifetime)
        if expires <= now:
            raise UnauthenticatedError(
                "The sign-in behind this token is older than the token lifetime;"
                " sign in with the password again."
            )
        user = await self._users.get(principal.name)
        if user is None or user.principal != principal:
            raise UnauthenticatedError("The token is not valid.")
        claims = {
            "sub": principal.name,
            "iss": TOKEN_ISSUER,
            "iat": int(now),
            "exp": expires,
            "auth_time": int(origin),
            "gen": self.generation(user),
        }
        token = jwt.encode(claims, self._token_key, algorithm=TOKEN_ALGORITHM)
        self._audit(TokenIssued, principal.name, caller, expires=_iso(expires), renewal=renewal)
        return token

    async def verify_token(self, token: str) -> Authenticated:
        """A JWT's principal and the time of the sign-in it descends from."""
        return (await self._check_token(token)).proven

    async def _check_token(self, token: str) -> Proof:
        """Decode and verify `token`, then match its generation against its user's
        record as read now. The proof is remembered by the header that carried it (no
        token is kept as a key), and every later use re-reads the user."""
        claims = self._decode(token)
        user = await self._users.get(claims.subject)
        if user is None or not secrets.compare_digest(self.generation(user), claims.generation):
            raise UnauthenticatedError("The token is not valid.")
        return Proof(
            user,
            Authenticated(user.principal, claims.auth_time),
            fresh_until=math.inf,
            token_expires=claims.expires,
        )

    def _decode(self, token: str) -> _Claims:
        try:
            claims = jwt.decode(
                token,
                self._token_key,
                algorithms=[TOKEN_ALGORITHM],
                issuer=TOKEN_ISSUER,
                # Expiry is checked against this authenticator's clock, below and on
                # every use of a remembered proof.
                options={
                    "require": ["exp", "iat", "sub", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as error:
            raise UnauthenticatedError("The token is not valid.") from error
        if not isinstance(claims["exp"], int | float):
            raise UnauthenticatedError("The token is not valid.")
        if claims["exp"] <= self._clock():
            raise UnauthenticatedError("The token has expired.")
        generation, auth_time = claims.get("gen"), claims.get("auth_time")
        if not isinstance(generation, str) or not isinstance(auth_time, int):
            raise UnauthenticatedError("The token is not valid.")
        return _Claims(str(claims["sub"]), generation, float(auth_time), float(claims["exp"]))

    def forget(self, email: str) -> None:
        """Drop every cached verification of `email` (after a local change to the user)."""
        self._sessions.forget(email)
        for key, entry in list(self._cache.items()):
            if entry.user.email == email:
                self._cache.pop(key, None)
        self._rejected.clear()  # keyed without a readable email: forget them all

    def _audit(
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


def _seconds_until(until: float | None, now: float) -> int:
    return 1 if until is None else max(1, math.ceil(until - now))


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _check(user: User | None, password: str) -> bool:
    if user is None:
        return verify_dummy(password)
    return verify_password(password, user.password_hash)


def _parse_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise UnauthenticatedError("Malformed Basic credentials.") from error
    email, colon, password = decoded.partition(":")
    if not colon or not email:
        raise UnauthenticatedError("Malformed Basic credentials.")
    return email, password
