"""A fair queue for the password KDF: bounded concurrency, round robin between clients.

scrypt costs tens of milliseconds of a core and 16 MiB; a crowd of requests must
neither run hundreds at once nor make one client's burst everybody's wait. Work is
queued per key (the client address): FIFO within a key, one grant per key in turn
across keys, at most `concurrency` running. A key that already has `max_waiting`
queued items is refused at once (`TooManyAttemptsError`), so a burst from one address
costs nothing beyond the refusal, and a sign-in from anywhere else waits for at most
one turn of each busy key, not for the burst. The key is the address, never the user
name, so how long anything waits says nothing about which names exist.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TypeVar

import anyio

from bdbexport.domain.errors import TooManyAttemptsError

T = TypeVar("T")


class FairKdfQueue:
    def __init__(self, *, concurrency: int = 2, max_waiting: int = 8) -> None:
        if concurrency < 1 or max_waiting < 1:
            raise ValueError("concurrency and max_waiting must be at least 1")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self._running = 0
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._limiter = anyio.CapacityLimiter(concurrency)
        self.runs = 0

    def waiting(self, key: str | None = None) -> int:
        if key is not None:
            return len(self._waiting.get(key, ()))
        return sum(len(queue) for queue in self._waiting.values())

    def is_full(self, key: str) -> bool:
        """Whether `run` with this key would be refused now (a cheap check first)."""
        return len(self._waiting.get(key, ())) >= self.max_waiting

    async def run(self, key: str, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in a worker thread, when this key's turn comes."""
        await self._turn(key)
        try:
            self.runs += 1
            return await anyio.to_thread.run_sync(work, *args, limiter=self._limiter)
        finally:
            self._running -= 1
            self._grant_next()

    async def _turn(self, key: str) -> None:
        if self._running < self.concurrency and not self._waiting:
            self._running += 1
            return
        queue = self._waiting.get(key)
        if queue is None:
            queue = self._waiting[key] = deque()
        elif len(queue) >= self.max_waiting:
            raise TooManyAttemptsError(1)
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                # Granted, then cancelled before it could start: pass the turn on.
                self._running -= 1
                self._grant_next()
            else:
                self._drop(key, granted)
            raise

    def _drop(self, key: str, granted: asyncio.Future[None]) -> None:
        queue = self._waiting.get(key)
        if queue is None:
            return
        try:
            queue.remove(granted)
        except ValueError:
            return
        if not queue:
            del self._waiting[key]

    def _grant_next(self) -> None:
        while self._running < self.concurrency and self._waiting:
            # Round robin: the key at the front gives one item, then goes to the back.
            key, queue = next(iter(self._waiting.items()))
            granted = queue.popleft()
            if queue:
                self._waiting.move_to_end(key)
            else:
                del self._waiting[key]
            if granted.cancelled():
                continue
            self._running += 1
            granted.set_result(None)
