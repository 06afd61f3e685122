"""Blocking calls the event loop hands to threads of their own, and awaits.

A location check resolves a path the way the kernel follows it (`realpath`: every
component looked up) and may resolve a host name: on a stale NFS mount or a hung FUSE
file system a lookup never returns, and on the loop that would stop every request of
the server. `OffLoop` runs such calls on a few daemon threads and lets the request
await the answer, so only the requests that need that file system wait.

The threads are daemons, and not `concurrent.futures`' (whose threads the interpreter
joins at exit): a thread stuck in the kernel on a hung mount must not keep a stopped
server from exiting, and an app started and stopped again (a test client's lifespan)
finds them still there. Their number bounds what a hung file system can hold: once
every thread is stuck, further checks wait in the queue, and no new thread is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_THREADS = 4

_Job = tuple[Callable[[], object], asyncio.AbstractEventLoop, "asyncio.Future[object]"]


class OffLoop:
    def __init__(self, *, threads: int = DEFAULT_THREADS, name: str = "bdbexport-off-loop") -> None:
        if threads < 1:
            raise ValueError("at least one thread is needed")
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads = threads
        self._name = name
        self._started = False
        self._lock = threading.Lock()

    async def run(self, call: Callable[[], T]) -> T:
        """`call()`'s result (or exception), computed on one of the threads."""
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._jobs.put((call, loop, future))
        result: T = await future  # type: ignore[assignment]
        return result

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                for index in range(self._threads):
                    threading.Thread(
                        target=self._work, name=f"{self._name}-{index}", daemon=True
                    ).start()

    def _work(self) -> None:
        while True:  # idle threads wait here for good: daemons, they never hold an exit
            call, loop, future = self._jobs.get()
            try:
                result = call()
            except BaseException as error:  # handed to the awaiting request
                _settle(loop, future, error=error)
            else:
                _settle(loop, future, result=result)


def _settle(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[object],
    *,
    result: object = None,
    error: BaseException | None = None,
) -> None:
    def settle() -> None:
        if future.done():  # the request was cancelled (its client went away)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits any more
        loop.call_soon_threadsafe(settle)
