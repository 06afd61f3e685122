"""A header proven once costs a lookup afterwards, yet every change still counts at once.

The authenticator remembers what a Basic or JWT header proved (`proofs.ProvenHeaders`);
these tests pin that the remembered proof gives way on the very next request to a
password or role change, a removal, a re-created user, a lock (placed here or through
another replica's authenticator on the same store) and a token's expiry.
"""

from __future__ import annotations

import asyncio
import base64

import pytest

from bdbexport.adapters.http import Authenticator
from bdbexport.adapters.http.authentication import LOCK_RECHECK, Caller
from bdbexport.adapters.http.proofs import ProvenHeaders
from bdbexport.adapters.memory import InMemoryUserDirectory
from bdbexport.adapters.memory.async_adapters import AsyncInMemoryUserDirectory
from bdbexport.adapters.memory.login_attempts import AsyncInMemoryLoginAttempts
from bdbexport.domain.auth.passwords import hash_password
from bdbexport.domain.auth.users import User
from bdbexport.domain.errors import AccountLockedError, UnauthenticatedError
from bdbexport.domain.principal import Principal

pytestmark = pytest.mark.anyio
ADA = "ada@example.com"
PASSWORD = "correct horse"
TOKEN_KEY = b"a token key of thirty-two bytes!"


def basic(email: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


class Replica:
    """One authenticator over a shared user directory and shared lockout records."""

    def __init__(self, users: InMemoryUserDirectory, attempts: AsyncInMemoryLoginAttempts):
        self.clock = [1_900_000_000.0]
        self.authenticator = Authenticator(
            AsyncInMemoryUserDirectory(users),
            attempts=attempts,
            token_key=TOKEN_KEY,
            clock=lambda: self.clock[0],
        )

    async def principal(self, header: str) -> Principal | None:
        return await self.authenticator.authenticate(header, Caller("127.0.0.1", "r"))


@pytest.fixture
def users() -> InMemoryUserDirectory:
    return InMemoryUserDirectory(
        [User(email=ADA, role="admin", password_hash=hash_password(PASSWORD))]
    )


@pytest.fixture
def attempts() -> AsyncInMemoryLoginAttempts:
    return AsyncInMemoryLoginAttempts()


@pytest.fixture
def replica(users: InMemoryUserDirectory, attempts: AsyncInMemoryLoginAttempts) -> Replica:
    return Replica(users, attempts)


async def test_a_proven_header_runs_the_kdf_once(replica: Replica) -> None:
    for _ in range(3):
        assert await replica.principal(basic(ADA, PASSWORD)) == Principal(ADA, "admin")
    assert replica.authenticator.kdf_runs == 1


async def test_a_proven_header_follows_a_role_change_a_removal_and_a_re_creation(
    replica: Replica, users: InMemoryUserDirectory
) -> None:
    header = basic(ADA, PASSWORD)
    assert await replica.principal(header) == Principal(ADA, "admin")
    ada = users.get(ADA)
    assert ada is not None
    assert users.replace(ada.model_copy(update={"role": "db_viewer"}))
    assert await replica.principal(header) == Principal(ADA, "db_viewer")
    del users._by_email[ADA]
    with pytest.raises(UnauthenticatedError):
        await replica.principal(header)
    # Re-created with the same password: a new salt, so a new proof (one more KDF run).
    runs = replica.authenticator.kdf_runs
    users.add(User(email=ADA, role="db_member", password_hash=hash_password(PASSWORD)))
    assert await replica.principal(header) == Principal(ADA, "db_member")
    assert replica.authenticator.kdf_runs == runs + 1


async def test_a_proven_header_is_refused_at_once_when_its_account_locks_here(
    replica: Replica,
) -> None:
    header = basic(ADA, PASSWORD)
    assert await replica.principal(header) is not None
    for attempt in range(4):
        with pytest.raises(UnauthenticatedError):
            await replica.principal(basic(ADA, f"guess {attempt}"))
    with pytest.raises(AccountLockedError):
        await replica.principal(basic(ADA, "guess 4"))
    with pytest.raises(AccountLockedError):
        await replica.principal(header)


async def test_a_lock_placed_through_another_replica_stops_a_proven_header_within_the_recheck(
    replica: Replica, users: InMemoryUserDirectory, attempts: AsyncInMemoryLoginAttempts
) -> None:
    header = basic(ADA, PASSWORD)
    for _ in range(2):  # the second use finds the account unlocked and takes that a while
        assert await replica.principal(header) is not None
    other = Replica(users, attempts)
    for attempt in range(5):
        with pytest.raises(UnauthenticatedError):
            await other.principal(basic(ADA, f"guess {attempt}"))
    await asyncio.sleep(LOCK_RECHECK + 0.1)  # the documented bound, once
    with pytest.raises(AccountLockedError):
        await replica.principal(header)


async def test_a_proven_token_dies_with_its_expiry_and_a_password_change(
    replica: Replica, users: InMemoryUserDirectory
) -> None:
    token = await replica.authenticator.issue_token(Principal(ADA, "admin"), 60)
    header = f"JWT {token}"
    assert await replica.principal(header) == Principal(ADA, "admin")
    replica.clock[0] += 61
    with pytest.raises(UnauthenticatedError, match="expired"):
        await replica.principal(header)
    replica.clock[0] -= 61
    assert await replica.principal(header) == Principal(ADA, "admin")
    ada = users.get(ADA)
    assert ada is not None
    assert users.replace(ada.model_copy(update={"password_hash": hash_password("new")}))
    with pytest.raises(UnauthenticatedError, match="not valid"):
        await replica.principal(header)


def test_headers_are_remembered_under_a_keyed_digest_never_as_they_are() -> None:
    header = basic(ADA, PASSWORD)
    one, other = ProvenHeaders(8), ProvenHeaders(8)
    key = one.key_of(header)
    assert len(key) == 16
    assert key == one.key_of(header)
    assert key != other.key_of(header)  # each process (each cache) draws its own key
