"""A fair queue for the password KDF: bounded concurrency, least-served client first.

scrypt costs tens of milliseconds of a core and 16 MiB; a crowd of requests must
neither run hundreds at once nor make one client's flood everybody's wait. Work is
queued per key (the client address; an IPv6 address by its /64, which one client
holds whole): FIFO within a key, at most `concurrency` running. A key that already
has `max_waiting` queued items is refused at once (`TooManyAttemptsError`), so a burst
from one address costs nothing beyond the refusal.

When a run ends, the next turn goes to the waiting key that has had the least KDF
time lately: each key's runs are counted with exponential decay (half-life
`USAGE_HALF_LIFE`), a run that proved a credential is not counted (`succeeded`), ties
in round-robin order. Round robin alone is fair only for the
queue of the moment: under a sustained flood from many addresses (issue 22, finding
5: 600 connections re-sending unknown users for 14 s made new users' first sign-ins
take 4.5 s), a newcomer waited one turn of every flooding address, every time. Now
an address that has not been using the KDF, a user signing in for the first time,
is served next, after at most the runs already going; the flooding addresses share
what is left, and one that stops flooding is fresh again within a minute or two.
The key is the address, never the user name, so how long anything waits says nothing
about which names exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bdbexport.domain.errors import TooManyAttemptsError

T = TypeVar("T")

USAGE_HALF_LIFE = 30.0
"""Seconds after which a key's past KDF runs count half when turns are given."""

USAGE_KEYS = 4096
"""Keys whose usage is remembered at most (the least recently served are forgotten)."""

IDLE_EXIT = 5.0
"""Seconds a worker thread waits for work before it ends (a new job starts one again)."""


def fairness_key(address: str) -> str:
    """The key a client address is queued under: an IPv6 address by its /64 (one
    client's allocation, where it may pick any address), any other as it is."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return address


@dataclass(eq=False)
class _Job:
    work: Callable[..., Any]
    args: tuple[object, ...]
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[Any] = field(repr=False)


def _settle(job: _Job, result: object, error: BaseException | None) -> None:
    """On the loop: hand a run's outcome to its waiter, unless it stopped waiting."""
    if job.done.cancelled():
        return
    if error is not None:
        job.done.set_exception(error)
    else:
        job.done.set_result(result)


class FairKdfQueue:
    def __init__(
        self,
        *,
        concurrency: int = 2,
        max_waiting: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1 or max_waiting < 1:
            raise ValueError("concurrency and max_waiting must be at least 1")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self._clock = clock
        self._lock = threading.Condition()
        self._waiting: OrderedDict[str, deque[_Job]] = OrderedDict()
        self._usage: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """Per key: its decayed count of runs and when that count was taken."""
        self._ready: deque[tuple[str, _Job]] = deque()
        """Jobs given a free slot on arrival (nothing was waiting): not queued."""
        self._running = 0
        """Slots taken: jobs running, and jobs in `_ready`."""
        self._threads = 0
        self._idle = 0
        self.runs = 0

    def waiting(self, key: str | None = None) -> int:
        with self._lock:
            if key is not None:
                return len(self._waiting.get(fairness_key(key), ()))
            return sum(len(queue) for queue in self._waiting.values())

    def is_full(self, key: str) -> bool:
        """Whether `run` with this key would be refused now (a cheap check first)."""
        with self._lock:
            return len(self._waiting.get(fairness_key(key), ())) >= self.max_waiting

    def usage(self, key: str) -> float:
        """`key`'s KDF runs, each counted less as it ages (half-life `USAGE_HALF_LIFE`)."""
        with self._lock:
            return self._usage_of(fairness_key(key))

    def succeeded(self, key: str) -> None:
        """`key`'s last run proved a credential: it is not counted against the key, so
        an address whose users sign in keeps its place ahead of one that only guesses."""
        key = fairness_key(key)
        with self._lock:
            if key in self._usage:
                self._usage[key] = (max(0.0, self._usage_of(key) - 1.0), self._clock())

    async def run(self, key: str, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in a worker thread, when this key's turn comes;
        `TooManyAttemptsError` at once if the key already has `max_waiting` queued."""
        key = fairness_key(key)
        loop = asyncio.get_running_loop()
        job = _Job(work, args, loop, loop.create_future())
        with self._lock:
            if self._running < self.concurrency and not self._waiting:
                self._running += 1
                self._ready.append((key, job))
            else:
                queue = self._waiting.get(key)
                if queue is None:
                    queue = self._waiting[key] = deque()
                elif len(queue) >= self.max_waiting:
                    raise TooManyAttemptsError(1)
                queue.append(job)
            if self._idle:
                self._lock.notify()
            elif self._threads < self.concurrency:
                self._threads += 1
                threading.Thread(target=self._serve, name="bdbexport-kdf", daemon=True).start()
        try:
            result: T = await job.done
        except asyncio.CancelledError:
            with self._lock:  # not started yet: it never will be
                if (key, job) in self._ready:
                    self._ready.remove((key, job))
                    self._running -= 1
                else:
                    self._drop(key, job)
            raise
        return result

    def _usage_of(self, key: str) -> float:
        count, at = self._usage.get(key, (0.0, 0.0))
        return count * math.exp2((at - self._clock()) / USAGE_HALF_LIFE)

    def _drop(self, key: str, job: _Job) -> None:
        queue = self._waiting.get(key)
        if queue is None:
            return
        try:
            queue.remove(job)
        except ValueError:
            return
        if not queue:
            del self._waiting[key]

    def _next_key(self) -> str:
        """The waiting key with the least usage; the first in round-robin order of
        those with equal usage."""
        best, lowest = "", math.inf
        for key in self._waiting:
            usage = self._usage_of(key)
            if usage < lowest:
                best, lowest = key, usage
        return best

    def _take(self) -> _Job | None:
        """Under the lock: the next job to run (counted in its key's usage), or None
        once no work came for `IDLE_EXIT` seconds (the thread then ends)."""
        while not self._ready and not (self._waiting and self._running < self.concurrency):
            self._idle += 1
            try:
                notified = self._lock.wait(IDLE_EXIT)
            finally:
                self._idle -= 1
            if not notified and not self._ready and not self._waiting:
                self._threads -= 1
                return None
        if self._ready:
            key, job = self._ready.popleft()
        else:
            key = self._next_key()
            queue = self._waiting[key]
            job = queue.popleft()
            if queue:
                self._waiting.move_to_end(key)  # round robin among equals
            else:
                del self._waiting[key]
            self._running += 1
        self._usage[key] = (self._usage_of(key) + 1.0, self._clock())
        self._usage.move_to_end(key)
        while len(self._usage) > USAGE_KEYS:
            self._usage.popitem(last=False)
        self.runs += 1
        return job

    def _serve(self) -> None:
        """A worker thread: take the next job, run it, hand its outcome to the loop."""
        while True:
            with self._lock:
                job = self._take()
            if job is None:
                return
            result: object = None
            error: BaseException | None = None
            try:
                if not job.done.cancelled():
                    result = job.work(*job.args)
            except Exception as raised:
                error = raised
            finally:
                with self._lock:
                    self._running -= 1
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits
                job.loop.call_soon_threadsafe(_settle, job, result, error)
