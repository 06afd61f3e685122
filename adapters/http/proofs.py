"""What a credential proved, remembered so a repeated request costs a lookup, not a proof.

A `Proof` holds the stored user record a credential was verified against. It stands
only while the store still holds that record's password hash and role: every request
reads the user anyway (issue 12: a change made on any replica counts at once), and
comparing two strings of that read with the remembered ones is all a request that
shows a proven header pays, instead of decoding Basic credentials or a JWT again.

`ProvenHeaders` finds proofs by the whole `Authorization` header, under a keyed
BLAKE2b digest with a key drawn when the process starts: the header carries a
password (Basic) or a bearer token (JWT), and neither is kept in memory as a key; the
digest says nothing about it to anyone without the key, and the key never leaves
the process.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from bdbexport.domain.auth.users import User
from bdbexport.domain.principal import Principal


@dataclass(frozen=True, slots=True)
class Authenticated:
    principal: Principal
    auth_time: float | None
    """When the password sign-in a token descends from happened (epoch seconds); None
    for a password given with this very request."""


@dataclass(frozen=True, slots=True)
class Proof:
    """A credential verified against `user` (the record as the store held it then)."""

    user: User
    proven: Authenticated
    fresh_until: float
    """Monotonic seconds: how long a verified password is taken without the KDF."""
    token_expires: float | None = None
    """A token's `exp` (epoch seconds, the authenticator's clock); None for a password."""

    def holds_for(self, user: User | None) -> bool:
        """Whether `user`, just read, is still the record this proof was made against: a
        new password (a new salt, even for the same password), a new role, a removal or
        a re-created user all fail it."""
        return (
            user is not None
            and user.password_hash == self.user.password_hash
            and user.role == self.user.role
        )


class ProvenHeaders:
    """A bounded LRU of proofs by a keyed digest of the `Authorization` header."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._keyed = hashlib.blake2b(key=secrets.token_bytes(32), digest_size=16)
        """Keyed once: copying it costs less than keying a new digest per request."""
        self._proofs: OrderedDict[bytes, Proof] = OrderedDict()

    def key_of(self, header: str) -> bytes:
        digest = self._keyed.copy()
        digest.update(header.encode(errors="surrogatepass"))
        return digest.digest()

    def get(self, key: bytes) -> Proof | None:
        proof = self._proofs.get(key)
        if proof is not None:
            self._proofs.move_to_end(key)
        return proof

    def put(self, key: bytes, proof: Proof) -> None:
        self._proofs[key] = proof
        self._proofs.move_to_end(key)
        while len(self._proofs) > self._size:
            self._proofs.popitem(last=False)

    def drop(self, key: bytes) -> None:
        self._proofs.pop(key, None)

    def forget(self, email: str) -> None:
        """Drop every proof of `email`."""
        for key, proof in list(self._proofs.items()):
            if proof.user.email == email:
                del self._proofs[key]
