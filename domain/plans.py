"""The one loop every use case runs, written once as generators of I/O requests.

    load -> (fail a lapsed lease) -> decide (pure, `core`) -> compare-and-set -> retry

A plan yields what it needs from the world — `LoadBdb`, `LoadCatalog`, `SaveBdb` — and
is sent back the answer; it returns an `Outcome`: the bdb, the events to publish and
the error to raise. A shell (the synchronous `ActionService` or the asynchronous
`AsyncActionService`) answers the requests with its ports, then publishes and raises.
So the loop, the retry and the unit-of-work rule (events are published only for the
attempt that committed, never for a lost compare-and-set) exist once, whatever I/O
style drives them.

A lost compare-and-set means another writer got there first; the whole decision is
taken again on the fresh bdb, a bounded number of times, so concurrent callers never
lose an update and never act on a stale decision.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from . import core
from .actions import Action
from .bdb import MAX_UID, Bdb
from .capability_rule import NO_MODULES, CatalogSnapshot
from .errors import ConcurrentUpdateError, DomainError
from .events import DomainEvent
from .principal import Principal


@dataclass(slots=True)
class LoadBdb:
    """Answer with the stored bdb, or None."""

    uid: int


@dataclass(slots=True)
class LoadCatalog:
    """Answer with a `CatalogSnapshot` of these module names (unknown ones left out)."""

    names: tuple[str, ...]


@dataclass(slots=True)
class SaveBdb:
    """Answer with whether the compare-and-set on `expected_revision` stored `bdb`."""

    bdb: Bdb
    expected_revision: int


IoRequest = LoadBdb | LoadCatalog | SaveBdb

T = TypeVar("T")
Plan = Generator[IoRequest, Any, T]
"""A use case as a generator: yields I/O requests, returns its result."""


@dataclass(slots=True)
class Outcome:
    """How a use case ended: publish `events`, then raise `error` or return `bdb`."""

    bdb: Bdb | None
    events: list[DomainEvent] = field(default_factory=list)
    error: DomainError | None = None


Decide = Callable[[Bdb | None, CatalogSnapshot], "core.Change | core.Refusal"]
"""A pure decision on the freshly loaded bdb (see `core`)."""


def load_current(
    uid: int, now: datetime, events: list[DomainEvent], max_attempts: int
) -> Plan[Bdb | None]:
    """The bdb as requests must see it: an action whose lease has lapsed is failed
    first (and stored, by whichever replica notices, its event collected), so no
    request acts on an action whose worker is gone."""
    if not 1 <= uid <= MAX_UID:
        return None  # names no database; stores need not cope with such uids
    bdb: Bdb | None = yield LoadBdb(uid)
    if bdb is None or bdb.action_lease_expires is None:
        return bdb  # only a leased action can lapse: the common case ends here
    return (yield from _failing_a_lapsed_lease(bdb, now, events, max_attempts))


def _failing_a_lapsed_lease(
    bdb: Bdb, now: datetime, events: list[DomainEvent], max_attempts: int
) -> Plan[Bdb | None]:
    current: Bdb | None = bdb
    for _ in range(max_attempts):
        if current is None or current.action_lease_expires is None:
            return current
        expired = core.decide_expiry(current, now)
        if expired is None:
            return current
        assert expired.after is not None
        if (yield SaveBdb(expired.after, current.revision)):
            events.extend(expired.events)
            return expired.after
        current = yield LoadBdb(bdb.uid)
    return current


def catalog_for(bdb: Bdb) -> Plan[CatalogSnapshot]:
    """The catalog entries of the bdb's modules."""
    snapshot: CatalogSnapshot = yield LoadCatalog(bdb.module_names)
    return snapshot


def change(
    settings: core.CoreSettings,
    *,
    uid: int,
    action: str,
    actor: str,
    now: datetime,
    decide: Decide,
    with_catalog: bool,
) -> Plan[Outcome]:
    """Load, decide, compare-and-set, retry: the path every change takes."""
    events: list[DomainEvent] = []
    valid_uid = 1 <= uid <= MAX_UID  # else it names no database: nothing to load
    for _ in range(settings.max_attempts):
        bdb: Bdb | None = (yield LoadBdb(uid)) if valid_uid else None
        if bdb is not None and bdb.action_lease_expires is not None:
            bdb = yield from _failing_a_lapsed_lease(bdb, now, events, settings.max_attempts)
        catalog = NO_MODULES
        if with_catalog and bdb is not None and bdb.module_list:
            catalog = yield from catalog_for(bdb)
        decided = decide(bdb, catalog)
        if isinstance(decided, core.Refusal):
            events.append(decided.event)
            return Outcome(None, events, decided.error)
        if decided.after is None or (yield SaveBdb(decided.after, decided.before.revision)):
            events.extend(decided.events)
            return Outcome(decided.result, events)
    conflict = ConcurrentUpdateError(uid, settings.max_attempts)
    events.append(core.refuse(actor, action, uid, conflict, now, None).event)
    return Outcome(None, events, conflict)


def read(
    settings: core.CoreSettings,
    principal: Principal | None,
    action: Action,
    uid: int,
    now: datetime,
) -> Plan[Outcome]:
    """A read of one bdb, through the rules (permission before existence)."""
    events: list[DomainEvent] = []
    bdb = yield from load_current(uid, now, events, settings.max_attempts)
    refusal = core.check_read(settings, principal, action, uid, bdb, now)
    if refusal is not None:
        events.append(refusal.event)
        return Outcome(None, events, refusal.error)
    return Outcome(bdb, events)


def peek(uid: int, now: datetime, max_attempts: int) -> Plan[Outcome]:
    """The bdb as requests see it, without rules: for workers and adapters."""
    events: list[DomainEvent] = []
    bdb = yield from load_current(uid, now, events, max_attempts)
    return Outcome(bdb, events)
