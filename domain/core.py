"""The pure core (sans-I/O): every use case decided as a function of its inputs.

Each function takes who asks (or which worker reports), the bdb as loaded, a
snapshot of the module catalog, the time of the decision and the service's settings,
and returns either a `Refusal` (the typed domain error and the event that records it)
or a `Change` (the bdb before, its successor — None when there is nothing to store —
and the events to publish once the successor is committed). Nothing here reads a
clock, draws an id, touches a repository or publishes: the shells in `service` and
`async_service` do that, through `plans`, so the logic is written once for every I/O
style, as h11 does for HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from . import moves
from .action_kind import Trigger
from .actions import Action, cancel_action, reset_action, start_action
from .bdb import Bdb
from .capability_rule import NO_MODULES, CatalogSnapshot
from .decision import Decision
from .errors import ActionMismatchError, BdbNotFoundError, DomainError, InvalidTransitionError
from .events import (
    LEASE_EXPIRY_ACTOR,
    WORKER_ACTOR,
    ActionCancelled,
    ActionFailed,
    ActionLeaseRenewed,
    ActionProgressed,
    ActionRefused,
    ActionStarted,
    ActionSucceeded,
    DomainEvent,
    StatusReset,
)
from .lifecycle import Lifecycle
from .principal import Principal
from .rules_engine import RulesEngine

DEFAULT_MAX_ATTEMPTS: Final = 16
"""Compare-and-set attempts before giving up with `concurrent_update` (retryable)."""

DEFAULT_LEASE_TTL: Final = timedelta(seconds=60)
"""How long a running action may go without a sign of life from its worker."""


@dataclass(frozen=True, slots=True)
class CoreSettings:
    """What every decision of one service shares: its rules and its limits."""

    rules: RulesEngine
    lease_ttl: timedelta = DEFAULT_LEASE_TTL
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.lease_ttl <= timedelta(0):
            raise ValueError("lease_ttl must be positive")


@dataclass(slots=True)
class Change:
    """An accepted request: store `after` in place of `before` (a compare-and-set on
    `before.revision`), then publish `events`. `after` None: nothing to store."""

    before: Bdb
    after: Bdb | None
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def result(self) -> Bdb:
        return self.before if self.after is None else self.after


@dataclass(slots=True)
class Refusal:
    """A refused request: raise `error`, after publishing `event`."""

    error: DomainError
    event: ActionRefused


def actor_of(principal: Principal | None) -> str:
    return "anonymous" if principal is None else principal.name


def refuse(
    actor: str, action: str, uid: int | None, error: DomainError, now: datetime, bdb: Bdb | None
) -> Refusal:
    return Refusal(
        error,
        ActionRefused(
            actor=actor,
            uid=uid,
            at=now,
            action=action,
            error_code=error.code,
            description=error.description,
            revision=None if bdb is None else bdb.revision,
        ),
    )


def check_read(
    settings: CoreSettings,
    principal: Principal | None,
    action: Action,
    uid: int | None,
    bdb: Bdb | None,
    now: datetime,
) -> Refusal | None:
    """The refusal of a read (view, list, view modules), or None when it may proceed."""
    error = settings.rules.first_refusal(principal, action, uid, bdb)
    return None if error is None else refuse(actor_of(principal), action, uid, error, now, bdb)


def evaluate(
    settings: CoreSettings,
    principal: Principal | None,
    action: Action,
    uid: int | None,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
    now: datetime | None,
) -> Decision:
    """What would happen if `principal` asked `action` of `bdb` at `now`; changes nothing.

    An action whose lease has lapsed is seen failed, as any request would see it first.
    `now` is needed only when the bdb holds a lease (shells read the clock only then).
    """
    if bdb is not None and bdb.action_lease_expires is not None:
        assert now is not None, "a leased bdb is judged at a time"
        expired = moves.expire(bdb, now)
        if expired is not None:
            bdb = expired[1]
    return settings.rules.decide(principal, action, uid, bdb, catalog)


def _permitted(
    settings: CoreSettings,
    principal: Principal | None,
    action: Action,
    uid: int,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
) -> Bdb:
    """The bdb a principal's request may move: the rules in their order, raising the
    first refusal. Each `decide_*` then makes its move (which may still refuse, e.g. a
    guard) in the same `try`, so every refusal is recorded by one `except`."""
    error = settings.rules.first_refusal(principal, action, uid, bdb, catalog)
    if error is not None:
        raise error
    assert bdb is not None  # the exists check passed
    return bdb


def decide_reset(
    settings: CoreSettings,
    principal: Principal | None,
    lifecycle: Lifecycle,
    uid: int,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
    now: datetime,
) -> Change | Refusal:
    """Back to idle unless that lifecycle's action runs; an idle status is left as it is."""
    action = reset_action(lifecycle)
    try:
        current = _permitted(settings, principal, action, uid, bdb, catalog)
        after = moves.reset(lifecycle, current)
    except DomainError as error:
        return refuse(actor_of(principal), action, uid, error, now, bdb)
    event = StatusReset(
        actor=actor_of(principal),
        uid=uid,
        at=now,
        kind=lifecycle.kind,
        previous_status=lifecycle.status_of(current),
        cleared_reason=lifecycle.reason_of(current),
        changed=after is not None,
        revision=None if after is None else after.revision,
    )
    return Change(current, after, [event])


def decide_start(
    settings: CoreSettings,
    principal: Principal | None,
    lifecycle: Lifecycle,
    uid: int,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
    now: datetime,
    *,
    action_uid: str,
    location_type: str,
) -> Change | Refusal:
    """Begin an action owned by `action_uid`, leased until `now + lease_ttl`."""
    action = start_action(lifecycle)
    try:
        current = _permitted(settings, principal, action, uid, bdb, catalog)
        after = moves.start(lifecycle, current, action_uid, now + settings.lease_ttl)
    except DomainError as error:
        return refuse(actor_of(principal), action, uid, error, now, bdb)
    event = ActionStarted(
        actor=actor_of(principal),
        uid=uid,
        at=now,
        kind=lifecycle.kind,
        action_uid=action_uid,
        previous_status=lifecycle.status_of(current),
        location_type=location_type,
        revision=after.revision,
    )
    return Change(current, after, [event])


def decide_cancel(
    settings: CoreSettings,
    principal: Principal | None,
    lifecycle: Lifecycle,
    uid: int,
    bdb: Bdb | None,
    now: datetime,
    *,
    action_uid: str,
) -> Change | Refusal:
    """End the running action `action_uid` at a principal's request: only a principal
    allowed to start that member may; the member ends `failed` (`general-error`,
    detail `cancelled by <principal>`), and its worker stops at its next report."""
    actor, action = actor_of(principal), cancel_action(lifecycle)
    try:
        current = _permitted(settings, principal, action, uid, bdb, NO_MODULES)
        after = _cancel_move(lifecycle, current, action_uid, actor)
    except DomainError as error:
        return refuse(actor, action, uid, error, now, bdb)
    event = ActionCancelled(
        actor=actor,
        uid=uid,
        at=now,
        kind=lifecycle.kind,
        action_uid=action_uid,
        reason=str(lifecycle.reason_of(after)),
        revision=after.revision,
    )
    return Change(current, after, [event])


def _cancel_move(lifecycle: Lifecycle, bdb: Bdb, action_uid: str, actor: str) -> Bdb:
    """The cancel move. When the member runs a newer action, the one asked for has
    ended, and cancelling an ended action is an illegal move (`invalid_transition`,
    docs/actions.md), not a worker's stale report (`action_mismatch`, the guard's
    answer to workers); the newer action is left alone."""
    try:
        return moves.cancel(lifecycle, bdb, action_uid, actor)
    except ActionMismatchError:
        status = (
            f"{getattr(bdb, lifecycle.status_field)} another action (action {action_uid} has ended)"
        )
        raise InvalidTransitionError(bdb.uid, "cancel", status, lifecycle.name) from None


def decide_report(
    settings: CoreSettings,
    lifecycle: Lifecycle,
    trigger: Trigger,
    uid: int,
    bdb: Bdb | None,
    now: datetime,
    *,
    action_uid: str,
    progress: int | None = None,
    reason: StrEnum | str | None = None,
    detail: str = "",
    notify: bool = False,
    size_bytes: int | None = None,
) -> Change | Refusal:
    """A worker's report on its running action: progress (or, None, a heartbeat),
    success (with the bytes it moved, `size_bytes`, when known: only the event carries
    them) or failure (`reason`, with a `detail` for people, kept on the bdb and in the
    event)."""
    try:
        if bdb is None:
            raise BdbNotFoundError(uid)
        after: Bdb | None
        if trigger is Trigger.PROGRESS:
            after = moves.report_progress(
                lifecycle, bdb, action_uid, progress, now, settings.lease_ttl
            )
        elif trigger is Trigger.SUCCEED:
            after = moves.succeed(lifecycle, bdb, action_uid, now)
        else:
            assert reason is not None
            after = moves.fail(lifecycle, bdb, action_uid, reason, detail)
    except DomainError as error:
        return refuse(WORKER_ACTOR, trigger, uid, error, now, bdb)
    revision = None if after is None else after.revision
    event: DomainEvent
    if trigger is Trigger.SUCCEED:
        event = ActionSucceeded(
            actor=WORKER_ACTOR,
            uid=uid,
            at=now,
            kind=lifecycle.kind,
            action_uid=action_uid,
            email_notification=notify,
            revision=revision,
            size_bytes=size_bytes,
        )
    elif trigger is Trigger.FAIL:
        assert after is not None
        event = ActionFailed(
            actor=WORKER_ACTOR,
            uid=uid,
            at=now,
            kind=lifecycle.kind,
            action_uid=action_uid,
            reason=str(lifecycle.reason_of(after)),
            detail=detail,
            email_notification=notify,
            revision=revision,
        )
    elif after is not None and lifecycle.progress_of(after) == lifecycle.progress_of(bdb):
        event = ActionLeaseRenewed(
            actor=WORKER_ACTOR,
            uid=uid,
            at=now,
            kind=lifecycle.kind,
            action_uid=action_uid,
            until=after.action_lease_expires or now,
            revision=revision,
        )
    else:
        event = ActionProgressed(
            actor=WORKER_ACTOR,
            uid=uid,
            at=now,
            kind=lifecycle.kind,
            action_uid=action_uid,
            progress=lifecycle.progress_of(bdb if after is None else after),
            revision=revision,
        )
    return Change(bdb, after, [event])


def decide_expiry(bdb: Bdb, now: datetime) -> Change | None:
    """Fail the action whose lease ran out by `now`; None when no lease has lapsed."""
    expired = moves.expire(bdb, now)
    if expired is None:
        return None
    lifecycle, after = expired
    assert bdb.action_uid is not None
    assert bdb.action_lease_expires is not None
    event = ActionFailed(
        actor=LEASE_EXPIRY_ACTOR,
        uid=bdb.uid,
        at=now,
        kind=lifecycle.kind,
        action_uid=bdb.action_uid,
        reason=str(lifecycle.reason_of(after)),
        detail=getattr(after, lifecycle.detail_field) or "",
        revision=after.revision,
    )
    return Change(bdb, after, [event])
