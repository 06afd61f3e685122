"""Password sign-ins: the KDF behind caches, a fair queue, lockout and throttling.

A password check also reads the account's lockout record (a read of the same cost as
the user's): a locked account is refused even with the right password. A credential
already verified re-reads the lock at most once a second (`LOCK_RECHECK`), so a lock
placed through another replica stops it within a second.

scrypt costs tens of milliseconds, so a verified password is cached by what it says:
a bounded LRU keyed by a keyed BLAKE2b of the email, the password AND the stored hash
just read, so the entry can only match while the store still holds that hash (a new
password on another replica misses at once). A refused credential is remembered for
`REJECTED_TTL` seconds under the same kind of key. Concurrent first requests with the
same credentials share one verification, and verifications run in worker threads
through a fair queue (`FairKdfQueue`), at most `kdf_concurrency` at once.

Failed sign-ins are counted through the store (`AsyncLoginAttempts`) per account and
per client address, under the same rule (`domain.lockout`): the account locks, the
address is throttled (429). An unknown name takes exactly the path of a wrong
password (a dummy verification, the same reads and writes, its own lock), so neither
the answer nor its timing tells which names exist. A failure the store will not
record is held (`UnrecordedFailures`) and no password is verified until it is
written: lockout fails closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from bdbexport.domain.auth.events import AccountLocked, AccountUnlocked, LoginFailed
from bdbexport.domain.auth.lockout import LoginRecord, address_subject, is_locked, user_subject
from bdbexport.domain.auth.passwords import verify_dummy, verify_password
from bdbexport.domain.auth.ports import AsyncLoginAttempts, AsyncUserDirectory
from bdbexport.domain.auth.users import User
from bdbexport.domain.errors import AccountLockedError, TooManyAttemptsError, UnauthenticatedError
from bdbexport.domain.principal import Principal

from .auth_settings import (
    BAD_CREDENTIALS,
    LOCK_RECHECK,
    REJECTED_TTL,
    AuthAudit,
    AuthSettings,
    Caller,
    iso,
    seconds_until,
)
from .kdf_queue import FairKdfQueue
from .proofs import Authenticated, Proof
from .unrecorded_failures import UnrecordedFailures


class PasswordChecks:
    def __init__(
        self,
        users: AsyncUserDirectory,
        *,
        attempts: AsyncLoginAttempts,
        settings: AuthSettings,
        clock: Callable[[], float],
        audit: AuthAudit,
    ) -> None:
        self._users = users
        self._attempts = attempts
        self.settings = settings
        self._clock = clock
        self._audit = audit
        self._cache_key = secrets.token_bytes(32)
        self._cache: OrderedDict[bytes, Proof] = OrderedDict()
        self._rejected: OrderedDict[bytes, float] = OrderedDict()
        self._unlocked: OrderedDict[str, float] = OrderedDict()
        self._in_flight: dict[bytes, asyncio.Future[Proof | None]] = {}
        self.unrecorded = UnrecordedFailures(attempts, clock)
        self.kdf = FairKdfQueue(
            concurrency=settings.kdf_concurrency, max_waiting=settings.kdf_max_waiting
        )

    async def recheck_lock(self, email: str, caller: Caller, monotonic: float) -> None:
        """For a proven password: read the account's lock unless read under a second ago."""
        if monotonic - self._unlocked.get(email, -math.inf) >= LOCK_RECHECK:
            await self._unless_locked(email, caller)
            self._mark_unlocked(email, monotonic)

    async def check(self, email: str, password: str, caller: Caller) -> Proof:
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
        if cached is None:
            # Nothing is verified while earlier failures wait to be counted (lockout
            # fails closed); once written, the lock read next counts them.
            await self.unrecorded.write_held()
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
            raise TooManyAttemptsError(seconds_until(record.locked_until, now))
        try:
            matches = await self.kdf.run(caller.address, _check, user, password)
        except TooManyAttemptsError:
            self._audit(LoginFailed, email, caller, reason="throttled")
            raise
        if not matches or user is None:
            self._rejected[key] = time.monotonic() + REJECTED_TTL
            while len(self._rejected) > self.settings.cache_size:
                self._rejected.popitem(last=False)
            self._unlocked.pop(email, None)
            self._audit(LoginFailed, email, caller, reason="bad_credentials")
            _, counted = await self.unrecorded.record(
                [(address, throttle), (user_subject(email), self.settings.lockout)]
            )
            now = self._clock()
            if is_locked(counted, now):
                self._audit(AccountLocked, email, caller, locked_until=iso(counted.locked_until))
                raise AccountLockedError(counted.locked_until)
            return None
        self.kdf.succeeded(caller.address)
        if lock is not None:
            await self._attempts.clear(user_subject(email), self._clock())
        proof = Proof(
            user,
            Authenticated(user.principal, None),
            fresh_until=time.monotonic() + self.settings.cache_ttl,
        )
        self._cache[key] = proof
        while len(self._cache) > self.settings.cache_size:
            self._cache.popitem(last=False)
        return proof

    async def unlock(self, email: str, *, by: Principal, caller: Caller) -> bool:
        """Lift `email`'s lock (and forget its failures); whether it was locked."""
        was_locked = await self._attempts.clear(user_subject(email), self._clock())
        self._audit(AccountUnlocked, by.name, caller, subject=email, was_locked=was_locked)
        return was_locked

    def forget(self, email: str) -> None:
        """Drop every cached verification of `email` (after a local change to the user)."""
        for key, entry in list(self._cache.items()):
            if entry.user.email == email:
                self._cache.pop(key, None)
        self._rejected.clear()  # keyed without a readable email: forget them all


def _check(user: User | None, password: str) -> bool:
    if user is None:
        return verify_dummy(password)
    return verify_password(password, user.password_hash)
