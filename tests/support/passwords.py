"""Cheap password hashes for tests whose subject is not hashing (Django's test runner
does the same with its fast hasher).

A stored hash records its own scrypt parameters (`scrypt$<log2 n>$<r>$<p>$...`), and the
server verifies a password with the parameters its hash names. So a test seeds its
store, or writes its bootstrap file, with hashes made here at a tiny cost, and the
server under test runs exactly as an operator runs it: no option, no variable, nothing
an operator could set by accident weakens a hash the product makes. The tests of
hashing itself, of lockout timing and of the login flood keep the real parameters
(they seed plain passwords, which the server hashes at full cost).
"""

from __future__ import annotations

from typing import Any

from bdbexport.domain.auth.passwords import ScryptParameters, hash_password

CHEAP = ScryptParameters(log2_n=4, r=1, p=1)
"""n = 16, r = 1: microseconds a hash, against tens of milliseconds for the default."""


def cheap_hash(password: str) -> str:
    return hash_password(password, CHEAP)


def with_cheap_hashes(document: dict[str, Any]) -> dict[str, Any]:
    """A bootstrap document whose users' plain passwords are replaced by cheap hashes
    (the same passwords still sign in)."""
    if "users" not in document:
        return document
    users = [
        {key: value for key, value in user.items() if key != "password"}
        | {"password_hash": cheap_hash(user["password"])}
        if "password" in user
        else user
        for user in document["users"]
    ]
    return {**document, "users": users}
