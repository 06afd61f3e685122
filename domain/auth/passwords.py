"""Password hashing: scrypt, salted, with the parameters recorded in each hash.

The encoded form is `scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>`, so parameters can
be raised later without invalidating stored hashes. Verification compares in constant
time, and `verify_dummy` spends the same effort on a hash no password matches, so a
caller can make "no such user" cost what "wrong password" costs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCHEME = "scrypt"


@dataclass(frozen=True, slots=True)
class ScryptParameters:
    """scrypt's cost: n = 2**log2_n; memory about 128 * r * n bytes per hash."""

    log2_n: int = 14
    r: int = 8
    p: int = 1
    salt_bytes: int = 16
    hash_bytes: int = 32

    @property
    def maxmem(self) -> int:
        return 256 * self.r * (1 << self.log2_n) * self.p + 1024 * 1024


DEFAULT_PARAMETERS = ScryptParameters()
"""n=2**14, r=8, p=1: about 16 MiB and 50 ms a hash on a current server core."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, parameters: ScryptParameters = DEFAULT_PARAMETERS) -> str:
    salt = secrets.token_bytes(parameters.salt_bytes)
    digest = _derive(password, salt, parameters)
    return "$".join(
        (
            SCHEME,
            str(parameters.log2_n),
            str(parameters.r),
            str(parameters.p),
            _b64(salt),
            _b64(digest),
        )
    )


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded`; False for any malformed hash."""
    try:
        scheme, log2_n, r, p, salt_b64, digest_b64 = encoded.split("$")
        if scheme != SCHEME:
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
        parameters = ScryptParameters(int(log2_n), int(r), int(p), len(salt), len(expected))
    except ValueError:
        return False
    if not (1 <= parameters.log2_n <= 20 and 1 <= parameters.r <= 32 and 1 <= parameters.p <= 16):
        return False
    return hmac.compare_digest(_derive(password, salt, parameters), expected)


@functools.cache
def _dummy_hash() -> str:
    # Made on first use, not at import: hashing costs tens of milliseconds.
    return hash_password(secrets.token_urlsafe(16))


def prepare_dummy() -> None:
    """Make the dummy hash now (one KDF run), so the first unknown user does not pay
    for it on top of its verification: a server calls this while starting."""
    _dummy_hash()


def verify_dummy(password: str) -> bool:
    """Spend a real verification's effort and answer False."""
    verify_password(password, _dummy_hash())
    return False


def is_password_hash(value: str) -> bool:
    """Whether `value` looks like a hash this module wrote (for bootstrap files)."""
    parts = value.split("$")
    return len(parts) == 6 and parts[0] == SCHEME and all(parts[1:])


def _derive(password: str, salt: bytes, parameters: ScryptParameters) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=1 << parameters.log2_n,
        r=parameters.r,
        p=parameters.p,
        maxmem=parameters.maxmem,
        dklen=parameters.hash_bytes,
    )
