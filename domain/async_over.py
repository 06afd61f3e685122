"""Asynchronous views over synchronous adapters, written once: where a view's calls
run (`Runner`: at once, inline, or on a store's own thread) and how a listing crosses
(a page per crossing). The views of each bounded context are built on this:
`domain/async_ports.py` for the action lifecycle, `domain/auth/async_ports.py` for
authentication.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
S = TypeVar("S")

PAGE = 500
"""Items a listing carries per crossing."""


class Runner(Protocol):
    """Runs a synchronous call where the store wants it, and awaits its result."""

    def __call__(self, work: Callable[[], T], /) -> Awaitable[T]: ...


async def inline(work: Callable[[], T]) -> T:
    """Run `work` at once, here: for stores whose calls never block."""
    return work()


async def paged(run: Runner, listing: Callable[[], Iterator[T]], page: int) -> AsyncIterator[T]:
    """The items of the sync `listing`, `page` of them per call of `run`. The iterator
    is made and advanced only inside `run` (on the store's thread, for SQLite)."""
    items: list[Iterator[T]] = []

    def next_page() -> list[T]:
        if not items:
            items.append(listing())
        return list(itertools.islice(items[0], page))

    while True:
        batch = await run(next_page)
        for item in batch:
            yield item
        if len(batch) < page:
            return


class Over(Generic[S]):
    """Where a view's calls run: writes (and, without `reads`, reads too) on `sync`
    through `run`; reads on `reads`, at once, when given (a store whose reads never
    wait: SQLite's reads in WAL mode, on the loop's own read connection)."""

    def __init__(self, sync: S, run: Runner = inline, *, reads: S | None = None) -> None:
        self.sync = sync
        self._run = run
        self._reads = reads

    async def _read(self, work: Callable[[S], T]) -> T:
        if self._reads is not None:
            return work(self._reads)
        return await self._run(lambda: work(self.sync))

    def _listed(self, listing: Callable[[S], Iterator[T]], page: int = PAGE) -> AsyncIterator[T]:
        if self._reads is not None:
            reads = self._reads
            return paged(inline, lambda: listing(reads), page)
        return paged(self._run, lambda: listing(self.sync), page)
