"""The queue between the API that accepts actions and the workers that run them.

The API records an action and enqueues one item for it; a worker anywhere claims the
item with a lease, heart-beats while it moves the data, and ends the item. A worker
that stops heart-beating loses its claim when the lease runs out, and the next claim
takes the item again with its attempt number one higher. The limits (one running item
per database, a cap on running items across all workers, fairness between databases)
are decided inside the claim, by the store, so they hold across every worker.

Why a port: the queue lives on the store's engine (a SQLite table, Redis keys, or
memory for one process), and the worker must not know which (docs/workers.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class Work:
    """What the API enqueues: one action to run. `payload` is opaque to the queue
    (the location and options, encoded by whoever runs the action)."""

    action_uid: str
    kind: str
    bdb_uid: int
    payload: str = ""


@dataclass(frozen=True)
class Claim:
    """One worker's hold on one item, for one attempt.

    `attempt` counts from 1 and grows with every claim of the item, except after a
    `release` (a drain does not count). It is also the fencing token: every call that
    names a claim is refused once the item was claimed again by someone else.
    `last_error` is the reason the previous attempt ended (None on a first attempt).
    """

    work: Work
    worker: str
    attempt: int
    last_error: str | None = None


@dataclass(frozen=True)
class ItemState:
    """Where one action stands in the queue, for people (`/v1/actions/{uid}`):
    `attempt` counts the attempts begun (0 while never claimed), `last_error` is why
    the previous one ended, `worker` holds a claim on it (None while it waits)."""

    attempt: int
    last_error: str | None
    worker: str | None


@dataclass(frozen=True)
class QueueStats:
    """What operators see, kept in the store so every replica reports the same.

    `queued` counts items waiting (back-off included) by kind; `running` the items
    with a live or lapsed-but-not-yet-retaken lease; `counters` the totals since the
    store began: `claims`, `retries`, `lapsed`, `releases`, `completions`.
    """

    queued: dict[str, int]
    running: int
    counters: dict[str, int]


@dataclass(frozen=True)
class WorkerInfo:
    """A worker as it registered itself, with its last heartbeat."""

    worker: str
    host: str
    pid: int
    concurrency: int
    heartbeat: datetime
    running: tuple[str, ...] = ()


class WorkQueue(Protocol):
    """Queued actions, claimed with leases, across every process sharing the store.

    - `enqueue` adds an item once: a second call with the same `action_uid` while the
      item exists changes nothing (a retried request does not queue twice).
    - `claim(worker, lease, max_running)` takes, in one atomic step of the store, the
      first item in fair order that is ready (its back-off over), whose database has
      no live claim, while fewer than `max_running` claims are live; an item whose
      lease ran out counts as ready, its `last_error` saying the lease lapsed. Returns
      None when nothing may be taken.
    - `heartbeat`, `complete`, `retry`, `release` return False (and change nothing)
      when `claim` is no longer the item's live claim.
    - `retry(claim, error, delay)` puts the item back, ready after `delay`;
      `release(claim)` puts it back ready now and uncounts the attempt.
    - `item(action_uid)` says where a queued or running action stands; None once it
      ended (or was never queued).
    - `wait(timeout)` returns when an item may have become claimable, or after
      `timeout` seconds; it may return early (callers claim, then wait again).
    """

    def enqueue(self, work: Work) -> bool: ...

    def claim(self, worker: str, lease: timedelta, max_running: int) -> Claim | None: ...

    def heartbeat(self, claim: Claim, lease: timedelta) -> bool: ...

    def complete(self, claim: Claim) -> bool: ...

    def retry(self, claim: Claim, error: str, delay: timedelta) -> bool: ...

    def release(self, claim: Claim) -> bool: ...

    def wait(self, timeout: float) -> None: ...

    def stats(self) -> QueueStats: ...

    def item(self, action_uid: str) -> ItemState | None: ...

    def register(self, info: WorkerInfo) -> None: ...

    def forget(self, worker: str) -> None: ...

    def workers(self) -> list[WorkerInfo]: ...


LAPSED = "lease lapsed: worker {worker} stopped heart-beating"
"""The last error an item gets when its claim's lease ran out (a `str.format` with
`worker`)."""

COUNTERS = ("claims", "retries", "lapsed", "releases", "completions")
"""The counters every adapter keeps in `QueueStats.counters`."""


def backoff(attempt: int, *, first: timedelta, cap: timedelta) -> timedelta:
    """The pause before attempt `attempt + 1`: `first` doubled per attempt, at most `cap`."""
    doublings = min(max(attempt - 1, 0), 32)
    pause: timedelta = first * (2**doublings)
    return min(pause, cap)
