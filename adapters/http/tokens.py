"""Redis Software's JWT tokens: issued after a sign-in, checked against the user's record.

Tokens carry the user (`sub`), a credential generation (`gen`, a keyed digest of the
stored hash and role: any new password, role, or a re-created user changes it) and
the time of the password sign-in they descend from (`auth_time`); a token traded for
a new one never outlives `auth_time + token_lifetime`.
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from bdbexport.domain.auth.events import TokenIssued
from bdbexport.domain.auth.ports import AsyncUserDirectory
from bdbexport.domain.auth.users import User
from bdbexport.domain.errors import UnauthenticatedError
from bdbexport.domain.principal import Principal

from .auth_settings import AuthAudit, Caller, iso
from .proofs import Authenticated, Proof

TOKEN_ISSUER = "bdbexport"
TOKEN_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class _Claims:
    subject: str
    generation: str
    auth_time: float
    expires: float


class Tokens:
    def __init__(
        self,
        users: AsyncUserDirectory,
        *,
        token_key: bytes,
        lifetime: int,
        clock: Callable[[], float],
        audit: AuthAudit,
    ) -> None:
        self._users = users
        self._token_key = token_key
        self._lifetime = lifetime
        self._clock = clock
        self._audit = audit
        self._generation_key = hashlib.blake2b(token_key, person=b"bdbexport-gen").digest()

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

    async def issue(
        self, principal: Principal, ttl: int, *, auth_time: float | None, caller: Caller
    ) -> str:
        """A token for `principal`, living `ttl` seconds but never past `auth_time +
        token_lifetime` (`auth_time` None: a password sign-in, now)."""
        now = self._clock()
        renewal = auth_time is not None
        origin = now if auth_time is None else auth_time
        expires = min(int(now) + ttl, int(origin) + self._lifetime)
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
        self._audit(TokenIssued, principal.name, caller, expires=iso(expires), renewal=renewal)
        return token

    async def check(self, token: str) -> Proof:
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
