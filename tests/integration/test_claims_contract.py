"""The `Claims` contract, against every store: memory, a real SQLite file, a real
redis-server. Exactly one caller wins a live claim, across threads with connections
of their own (as replicas have), and an expired claim can be won again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bdbexport.adapters.memory import ManualClock, SystemClock
from bdbexport.adapters.memory.claims import InMemoryClaims
from bdbexport.composition.claims import open_claims
from bdbexport.domain.ports import Claims

KINDS = ["memory", "sqlite", "redis"]
MINUTE = timedelta(minutes=1)

Opener = Callable[[], Claims]
"""Opens the store's claims with a connection of its own: one per simulated replica."""


@pytest.fixture(params=KINDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    closers: list[Callable[[], None]] = []
    shared = InMemoryClaims()
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite://{tmp_path / 'claims.sqlite3'}",
        "redis": request.getfixturevalue("redis_url") if request.param == "redis" else "",
    }[request.param]

    def open_one() -> Claims:
        if request.param == "memory":
            return shared  # one process: every "replica" shares the same memory
        claims, close = open_claims(url, SystemClock())
        closers.append(close)
        return claims

    yield open_one
    for close in closers:
        close()


def test_the_first_claim_wins_and_every_later_one_loses(opener: Opener) -> None:
    claims, other = opener(), opener()
    assert claims.claim("backup:1:100", "replica-a", MINUTE)
    assert not other.claim("backup:1:100", "replica-b", MINUTE)
    assert not claims.claim("backup:1:100", "replica-a", MINUTE)


def test_names_are_independent(opener: Opener) -> None:
    claims = opener()
    assert claims.claim("backup:1:100", "a", MINUTE)
    assert claims.claim("backup:1:101", "a", MINUTE)
    assert claims.claim("backup:2:100", "a", MINUTE)


def test_an_expired_claim_can_be_won_again(opener: Opener) -> None:
    claims, other = opener(), opener()
    assert claims.claim("short", "a", timedelta(milliseconds=200))
    assert not other.claim("short", "b", timedelta(milliseconds=200))
    deadline = time.monotonic() + 5
    while not other.claim("short", "b", MINUTE):
        assert time.monotonic() < deadline, "the claim never expired"
        time.sleep(0.05)
    assert not claims.claim("short", "a", MINUTE)


def race(replicas: list[Claims], name: str) -> list[str]:
    """Every replica claims `name` at once; the holders that won."""
    start = threading.Barrier(len(replicas))
    wins: list[str] = []

    def one(claims: Claims, holder: str) -> None:
        start.wait(10)
        if claims.claim(name, holder, MINUTE):
            wins.append(holder)

    threads = [
        threading.Thread(target=one, args=(claims, f"replica-{i}"))
        for i, claims in enumerate(replicas)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return wins


def test_racing_replicas_have_exactly_one_winner(opener: Opener) -> None:
    replicas = [opener() for _ in range(8)]
    for round_ in range(10):
        wins = race(replicas, f"race:{round_}")
        assert len(wins) == 1, wins


def test_in_memory_claims_expire_on_their_clock() -> None:
    clock = ManualClock()
    claims = InMemoryClaims(clock)
    assert claims.claim("x", "a", MINUTE)
    assert claims.holder("x") == "a"
    clock.advance(MINUTE - timedelta(seconds=1))
    assert not claims.claim("x", "b", MINUTE)
    clock.advance(timedelta(seconds=1))
    assert claims.holder("x") is None
    assert claims.claim("x", "b", MINUTE)
    assert claims.holder("x") == "b"
