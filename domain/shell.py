"""What the synchronous and asynchronous shells share: their settings and ports that
need no I/O style (clock, ids, events), and the plan each use case runs.

A shell adds only how it answers a plan's I/O requests (`service.ActionService` calls
its ports, `async_service.AsyncActionService` awaits them); both publish the
outcome's events and then raise or return, in `finish`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from . import core, plans
from .action_kind import ActionKind, Trigger
from .action_records import DEFAULT_KEEP_AGE, DEFAULT_KEEP_COUNT
from .actions import Action, cancel_action, reset_action, start_action
from .bdb import Bdb
from .errors import ActionNotFoundError
from .events import WORKER_ACTOR, ActionStarted, DomainEvent, LifecycleEvent
from .family import LIFECYCLES
from .locations import ExportLocation
from .ports import Clock, EventPublisher, IdGenerator, PermissionPolicy
from .principal import Principal
from .rules_engine import RulesEngine


class Shell:
    """Settings, clock, ids, events, and the plans of every use case."""

    def __init__(
        self,
        *,
        policy: PermissionPolicy,
        clock: Clock,
        ids: IdGenerator,
        events: EventPublisher,
        max_attempts: int = core.DEFAULT_MAX_ATTEMPTS,
        lease_ttl: timedelta = core.DEFAULT_LEASE_TTL,
        keep_actions: int = DEFAULT_KEEP_COUNT,
        keep_actions_for: timedelta = DEFAULT_KEEP_AGE,
    ) -> None:
        self.keep_actions = keep_actions
        """Finished action records kept at most (see `action_records`)."""
        self.keep_actions_for = keep_actions_for
        """Finished action records started longer ago than this are removed."""
        self.settings = core.CoreSettings(
            RulesEngine(policy=policy), lease_ttl=lease_ttl, max_attempts=max_attempts
        )
        self.rules = self.settings.rules
        self.lease_ttl = lease_ttl
        self._clock = clock
        self._ids = ids
        self._events = events

    def now(self) -> datetime:
        """The service's clock, so adapters stamp events on the same time line."""
        return self._clock.now()

    def _refuse_missing_action(self, principal: Principal | None, action_uid: str) -> None:
        """Publish the refusal of a request naming an unknown action, and raise it."""
        error = ActionNotFoundError(action_uid)
        refusal = core.refuse(
            core.actor_of(principal), Action.VIEW_ACTIONS, None, error, self.now(), None
        )
        self._events.publish(refusal.event)
        raise error

    def finish(self, outcome: plans.Outcome) -> Bdb | None:
        """Publish what the use case decided (after its commit), then raise or return."""
        for event in outcome.events:
            self._events.publish(event)
        if outcome.error is not None:
            raise outcome.error
        return outcome.bdb

    # --- the plans ------------------------------------------------------------------

    def _read_plan(
        self, principal: Principal | None, action: Action, uid: int
    ) -> plans.Plan[plans.Outcome]:
        return plans.read(self.settings, principal, action, uid, self._clock.now())

    def _peek_plan(self, uid: int) -> plans.Plan[plans.Outcome]:
        return plans.peek(uid, self._clock.now(), self.settings.max_attempts)

    def _check_read(self, principal: Principal | None, action: Action) -> None:
        refusal = core.check_read(self.settings, principal, action, None, None, self.now())
        if refusal is not None:
            self._events.publish(refusal.event)
            raise refusal.error

    def _reset_plan(
        self, principal: Principal | None, uid: int, kind: ActionKind
    ) -> plans.Plan[plans.Outcome]:
        lifecycle, now, settings = LIFECYCLES[kind], self._clock.now(), self.settings
        return plans.change(
            settings,
            uid=uid,
            action=reset_action(lifecycle),
            actor=core.actor_of(principal),
            now=now,
            decide=lambda bdb, catalog: core.decide_reset(
                settings, principal, lifecycle, uid, bdb, catalog, now
            ),
            with_catalog=True,
        )

    def _start_plan(
        self, principal: Principal | None, uid: int, location: ExportLocation, kind: ActionKind
    ) -> plans.Plan[plans.Outcome]:
        lifecycle, now, settings = LIFECYCLES[kind], self._clock.now(), self.settings
        action_uid = self._ids.new_action_uid()
        return plans.change(
            settings,
            uid=uid,
            action=start_action(lifecycle),
            actor=core.actor_of(principal),
            now=now,
            decide=lambda bdb, catalog: core.decide_start(
                settings,
                principal,
                lifecycle,
                uid,
                bdb,
                catalog,
                now,
                action_uid=action_uid,
                location_type=location.type,
            ),
            with_catalog=True,
        )

    def _cancel_plan(
        self, principal: Principal | None, uid: int, action_uid: str, kind: ActionKind
    ) -> plans.Plan[plans.Outcome]:
        lifecycle, now, settings = LIFECYCLES[kind], self._clock.now(), self.settings
        return plans.change(
            settings,
            uid=uid,
            action=cancel_action(lifecycle),
            actor=core.actor_of(principal),
            now=now,
            decide=lambda bdb, catalog: core.decide_cancel(
                settings, principal, lifecycle, uid, bdb, now, action_uid=action_uid
            ),
            with_catalog=False,
        )

    def _report_plan(
        self,
        trigger: Trigger,
        uid: int,
        action_uid: str,
        kind: ActionKind,
        *,
        progress: int | None = None,
        reason: StrEnum | str | None = None,
        detail: str = "",
        notify: bool = False,
        size_bytes: int | None = None,
    ) -> plans.Plan[plans.Outcome]:
        lifecycle, now, settings = LIFECYCLES[kind], self._clock.now(), self.settings
        return plans.change(
            settings,
            uid=uid,
            action=trigger,
            actor=WORKER_ACTOR,
            now=now,
            decide=lambda bdb, catalog: core.decide_report(
                settings,
                lifecycle,
                trigger,
                uid,
                bdb,
                now,
                action_uid=action_uid,
                progress=progress,
                reason=reason,
                detail=detail,
                notify=notify,
                size_bytes=size_bytes,
            ),
            with_catalog=False,
        )


log = logging.getLogger("bdbexport.actions")


def record_worthy(events: list[DomainEvent]) -> list[LifecycleEvent]:
    """The events that may change an action record (see `action_records`)."""
    return [
        event
        for event in events
        if isinstance(event, LifecycleEvent) and event.action_uid is not None
    ]


def is_new_action(event: LifecycleEvent) -> bool:
    """A start: its record cannot exist yet, so there is nothing to read first."""
    return isinstance(event, ActionStarted)
