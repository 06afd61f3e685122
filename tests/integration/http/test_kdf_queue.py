"""The fair KDF queue: bounded concurrency, the least-served address first (round robin
among equals), FIFO within one, a cap on what one address may have waiting, no slot
lost to a cancellation, and a newcomer served next under a sustained flood."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bdbexport.adapters.http.kdf_queue import FairKdfQueue, fairness_key
from bdbexport.domain.errors import TooManyAttemptsError

pytestmark = pytest.mark.anyio


class Work:
    """Blocking work that records its start order and runs until released."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.running = 0
        self.most = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, name: str) -> str:
        with self._lock:
            self.started.append(name)
            self.running += 1
            self.most = max(self.most, self.running)
        self.release.wait(10)
        with self._lock:
            self.running -= 1
        return name


async def until(condition: object, *, bound: int = 200) -> None:
    for _ in range(bound):  # at most 2 s
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_a_burst_from_one_address_does_not_starve_another() -> None:
    queue = FairKdfQueue(concurrency=1, max_waiting=4)
    work = Work()
    burst = [asyncio.create_task(queue.run("10.0.0.1", work, f"a{i}")) for i in range(5)]
    await until(lambda: work.started == ["a0"] and queue.waiting("10.0.0.1") == 4)
    refused = asyncio.create_task(queue.run("10.0.0.1", work, "a5"))
    with pytest.raises(TooManyAttemptsError):
        await refused
    other = asyncio.create_task(queue.run("10.0.0.2", work, "b0"))
    await until(lambda: queue.waiting("10.0.0.2") == 1)
    work.release.set()
    results = await asyncio.gather(*burst, other)
    assert sorted(results) == ["a0", "a1", "a2", "a3", "a4", "b0"]
    # a0 was running: b0, from an address that had used no KDF time, went next,
    # before the rest of the busy address's burst.
    assert work.started == ["a0", "b0", "a1", "a2", "a3", "a4"]
    assert work.most == 1
    assert queue.runs == 6


async def test_concurrency_is_bounded_and_a_cancelled_waiter_loses_no_slot() -> None:
    queue = FairKdfQueue(concurrency=2, max_waiting=8)
    work = Work()
    tasks = [asyncio.create_task(queue.run(f"10.0.0.{i % 3}", work, str(i))) for i in range(7)]
    await until(lambda: len(work.started) == 2)
    waiting = queue.waiting()
    assert waiting == 5
    tasks[-1].cancel()
    await until(lambda: queue.waiting() == 4)
    work.release.set()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(isinstance(result, asyncio.CancelledError) for result in done) == 1
    assert work.most == 2
    assert queue.waiting() == 0
    # Every slot came back: two more run at once.
    work.release.clear()
    again = [asyncio.create_task(queue.run("10.0.0.9", work, f"x{i}")) for i in range(2)]
    await until(lambda: work.running == 2)
    work.release.set()
    assert await asyncio.gather(*again) == ["x0", "x1"]


async def test_under_a_sustained_flood_a_newcomer_is_served_next() -> None:
    """Ten addresses have used the KDF for a while and keep their queues full (issue
    22, finding 5): an address that has used no KDF time goes next, not after one turn
    of each of them; one whose users sign in stays ahead of the guessing ones."""
    queue = FairKdfQueue(concurrency=1, max_waiting=2)
    order: list[str] = []
    gate = threading.Event()

    def work(name: str) -> str:
        order.append(name)
        if name == "hold":
            gate.wait(10)
        return name

    flooders = [f"10.0.1.{index}" for index in range(10)]
    for round_ in range(3):  # sustained: every address has had several runs
        await asyncio.gather(*(queue.run(a, work, f"{a}/{round_}") for a in flooders))
    held = asyncio.create_task(queue.run(flooders[0], work, "hold"))
    await until(lambda: order[-1:] == ["hold"])
    waiting = [
        asyncio.create_task(queue.run(address, work, f"{address}/{slot}"))
        for address in flooders
        for slot in ("x", "y")
    ]
    await until(lambda: queue.waiting() == 20)
    newcomer = asyncio.create_task(queue.run("10.0.2.1", work, "newcomer"))
    await until(lambda: queue.waiting() == 21)
    gate.set()
    await asyncio.gather(held, newcomer, *waiting)
    assert order[order.index("hold") + 1] == "newcomer", order[-22:]
    queue.succeeded("10.0.2.1")
    assert queue.usage("10.0.2.1") == pytest.approx(0.0, abs=0.01)
    assert queue.usage(flooders[1]) > 3


def test_an_ipv6_client_is_one_key_for_its_whole_64() -> None:
    assert fairness_key("2001:db8:1:2::1") == fairness_key("2001:db8:1:2:ffff::9")
    assert fairness_key("2001:db8:1:2::1") != fairness_key("2001:db8:1:3::1")
    assert fairness_key("192.0.2.7") == "192.0.2.7"
    assert fairness_key("unknown") == "unknown"
