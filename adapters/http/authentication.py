"""Who is calling: HTTP Basic (RFC 7617) and Redis Software's JWT tokens.

scrypt costs tens of milliseconds, about a thousand times a whole request, so
verified credentials are cached in memory: a bounded LRU, entries living `ttl`
seconds, keyed by an HMAC of the credentials under a per-process key (the cache never
holds a password or a reusable hash of one). An entry is dropped as soon as the user's
stored record differs from the one it was verified against. Concurrent first requests
with the same credentials share one verification instead of stampeding the KDF, and
verifications run in worker threads, at most `kdf_concurrency` at once, so the event
loop never blocks on them.

A cached entry re-reads its user's record at most once a second (a store round trip
per request would cost more than everything else), so a new password, a new role or a
removal takes effect within a second on every replica. An unknown user and a wrong
password get the same answer after the same work (a dummy verification), so neither
the body nor the timing tells which emails exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

import anyio
import jwt

from bdbexport.domain.errors import UnauthenticatedError
from bdbexport.domain.passwords import verify_dummy, verify_password
from bdbexport.domain.ports import AsyncUserDirectory
from bdbexport.domain.principal import Principal
from bdbexport.domain.users import User

BAD_CREDENTIALS = "Invalid username or password."
TOKEN_ISSUER = "bdbexport"
TOKEN_ALGORITHM = "HS256"


USER_RECHECK_SECONDS = 1.0
"""How often a cached verification re-reads the user's record (a store round trip)."""

REJECTED_TTL = 10.0
"""How long a credential that failed verification is refused from memory: repeating a
wrong password costs neither a KDF run nor a store round trip (so it is answered even
while the store is stuck), and a password changed to exactly that value is accepted at
most this late."""


@dataclass(slots=True)
class _Verified:
    principal: Principal
    password_hash: str
    expires: float
    checked: float


class Authenticator:
    def __init__(
        self,
        users: AsyncUserDirectory,
        *,
        token_key: bytes,
        cache_size: int = 4096,
        cache_ttl: float = 60.0,
        kdf_concurrency: int = 2,
    ) -> None:
        self._users = users
        self._token_key = token_key
        self._cache_key = secrets.token_bytes(32)
        self._cache: OrderedDict[bytes, _Verified] = OrderedDict()
        self._tokens: OrderedDict[str, _Verified] = OrderedDict()
        self._rejected: OrderedDict[bytes, float] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl = cache_ttl
        self._in_flight: dict[bytes, asyncio.Future[Principal | None]] = {}
        self._kdf = anyio.CapacityLimiter(kdf_concurrency)
        self.kdf_runs = 0

    async def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal the header proves; None when there is no header at all.

        Raises `UnauthenticatedError` for a header that proves nothing: malformed,
        unknown scheme, wrong credentials, a bad or expired token.
        """
        if authorization is None:
            return None
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            email, password = _parse_basic(value.strip())
            return await self.verify_password(email, password)
        if scheme in {"jwt", "bearer"}:
            return await self.verify_token(value.strip())
        raise UnauthenticatedError("Unsupported authorization scheme: use Basic or JWT.")

    async def verify_password(self, email: str, password: str) -> Principal:
        # A keyed BLAKE2b: one C call, where HMAC-SHA256 builds two hash objects in Python.
        key = hashlib.blake2b(
            f"{email}\0{password}".encode(), key=self._cache_key, digest_size=32
        ).digest()
        cached = self._cache.get(key)
        if cached is not None:
            now = time.monotonic()
            if cached.expires > now and (
                now - cached.checked < USER_RECHECK_SECONDS
                or await self._still_valid(email, cached)
            ):
                if now - cached.checked >= USER_RECHECK_SECONDS:
                    cached.checked = now
                self._cache.move_to_end(key)
                return cached.principal
            self._cache.pop(key, None)
        rejected_until = self._rejected.get(key)
        if rejected_until is not None:
            if rejected_until > time.monotonic():
                raise UnauthenticatedError(BAD_CREDENTIALS)
            del self._rejected[key]
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._in_flight[key] = pending
            try:
                principal = await self._verify_slowly(key, email, password)
                pending.set_result(principal)
            except BaseException as error:
                pending.set_exception(error)
                pending.exception()  # retrieved here: the leader re-raises it
                raise
            finally:
                del self._in_flight[key]
        principal = await asyncio.shield(pending)
        if principal is None:
            raise UnauthenticatedError(BAD_CREDENTIALS)
        return principal

    def issue_token(self, principal: Principal, ttl: int) -> str:
        now = int(time.time())
        claims = {"sub": principal.name, "iss": TOKEN_ISSUER, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self._token_key, algorithm=TOKEN_ALGORITHM)

    async def verify_token(self, token: str) -> Principal:
        """A JWT's principal. Decoding and verifying a token costs tens of microseconds,
        so a verified token is remembered until it expires (bounded LRU), and its user
        re-read at most every `USER_RECHECK_SECONDS`."""
        now = time.monotonic()
        cached = self._tokens.get(token)
        if cached is not None:
            if cached.expires > time.time() and (
                now - cached.checked < USER_RECHECK_SECONDS
                or await self._still_valid(cached.principal.name, cached)
            ):
                if now - cached.checked >= USER_RECHECK_SECONDS:
                    cached.checked = now
                return cached.principal
            self._tokens.pop(token, None)
        principal, password_hash, expires = await self._decode(token)
        self._tokens[token] = _Verified(principal, password_hash, expires, now)
        while len(self._tokens) > self._cache_size:
            self._tokens.popitem(last=False)
        return principal

    async def _decode(self, token: str) -> tuple[Principal, str, float]:
        try:
            claims = jwt.decode(
                token,
                self._token_key,
                algorithms=[TOKEN_ALGORITHM],
                issuer=TOKEN_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise UnauthenticatedError("The token has expired.") from error
        except jwt.InvalidTokenError as error:
            raise UnauthenticatedError("The token is not valid.") from error
        user = await self._users.get(str(claims["sub"]))
        if user is None:
            raise UnauthenticatedError("The token is not valid.")
        return user.principal, user.password_hash, float(claims["exp"])

    def forget(self, email: str) -> None:
        """Drop every cached verification of `email` (after a local change to the user)."""
        for key, entry in list(self._cache.items()):
            if entry.principal.name == email:
                self._cache.pop(key, None)
        for token, entry in list(self._tokens.items()):
            if entry.principal.name == email:
                self._tokens.pop(token, None)
        self._rejected.clear()  # keyed without the email: forget them all

    async def _still_valid(self, email: str, cached: _Verified) -> bool:
        user = await self._users.get(email)
        return (
            user is not None
            and user.password_hash == cached.password_hash
            and user.role == cached.principal.role
        )

    async def _verify_slowly(self, key: bytes, email: str, password: str) -> Principal | None:
        user = await self._users.get(email)
        async with self._kdf:
            self.kdf_runs += 1
            matches = await anyio.to_thread.run_sync(_check, user, password)
        if not matches or user is None:
            self._rejected[key] = time.monotonic() + REJECTED_TTL
            while len(self._rejected) > self._cache_size:
                self._rejected.popitem(last=False)
            return None
        now = time.monotonic()
        self._cache[key] = _Verified(user.principal, user.password_hash, now + self._cache_ttl, now)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return user.principal


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
