"""The use cases: what principals and export workers can ask of the export lifecycle.

Every change follows one path (`_change`): read the bdb, run the rules in their
order, derive the successor with a pure move, store it with a compare-and-set on the
revision it was derived from, then publish the event. A lost compare-and-set means
another writer got there first; the whole decision is taken again on the fresh bdb,
a bounded number of times, so concurrent callers never lose an update and never act
on a stale decision. Every refusal is published as an `ActionRefused` event before
it is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Final

from . import export_moves
from .actions import TARGETS_ONE_BDB, Action
from .bdb import MAX_UID, Bdb
from .decision import Decision
from .errors import BdbNotFoundError, ConcurrentUpdateError, DomainError
from .events import (
    WORKER_ACTOR,
    ActionRefused,
    DomainEvent,
    ExportFailed,
    ExportLeaseRenewed,
    ExportProgressed,
    ExportStarted,
    ExportStatusReset,
    ExportSucceeded,
)
from .lifecycle import Trigger
from .locations import ExportLocation
from .modules import CatalogModule
from .ports import (
    BdbRepository,
    Clock,
    EventPublisher,
    IdGenerator,
    ModuleCatalog,
    PermissionPolicy,
)
from .principal import Principal
from .rules_engine import RulesEngine
from .statuses import ExportFailureReason

DEFAULT_MAX_ATTEMPTS: Final = 16
"""Compare-and-set attempts before giving up with `concurrent_update` (retryable)."""

_TARGETS_ONE_BDB = frozenset(action.value for action in TARGETS_ONE_BDB)

DEFAULT_LEASE_TTL: Final = timedelta(seconds=60)
"""How long a running export may go without a sign of life from its worker."""

LEASE_EXPIRY_ACTOR = "lease-expiry"

_Refusal = Callable[[Bdb | None], DomainError | None]
_Move = Callable[[Bdb], Bdb | None]
_Announce = Callable[[Bdb, Bdb | None], DomainEvent]


# Enum members as module constants: in Python 3.11 `Enum.MEMBER` is a Python-level
# lookup (about 0.2 µs), paid on every request where these are used.
_A_RESET = Action.RESET
_A_START = Action.START
_A_VIEW = Action.VIEW
_A_LIST = Action.LIST
_A_VIEW_MODULES = Action.VIEW_MODULES
_T_PROGRESS = Trigger.PROGRESS
_T_SUCCEED = Trigger.SUCCEED
_T_FAIL = Trigger.FAIL


class ExportService:
    """The application services of the hexagon, wired to its ports."""

    def __init__(
        self,
        *,
        bdbs: BdbRepository,
        modules: ModuleCatalog,
        policy: PermissionPolicy,
        clock: Clock,
        ids: IdGenerator,
        events: EventPublisher,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        lease_ttl: timedelta = DEFAULT_LEASE_TTL,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if lease_ttl <= timedelta(0):
            raise ValueError("lease_ttl must be positive")
        self.lease_ttl = lease_ttl
        self.rules = RulesEngine(policy=policy, catalog=modules)
        self._bdbs = bdbs
        self._modules = modules
        self._clock = clock
        self._ids = ids
        self._events = events
        self._max_attempts = max_attempts

    # --- the rules engine, side-effect free -------------------------------------------

    def evaluate(
        self, principal: Principal | None, action: Action, uid: int | None = None
    ) -> Decision:
        """What would happen if `principal` asked `action` of bdb `uid` now; changes nothing."""
        bdb = self._peek(uid) if action._value_ in _TARGETS_ONE_BDB else None
        if (
            bdb is not None
            and bdb.export_lease_expires is not None
            and export_moves.lease_expired(bdb, self._clock.now())
        ):
            bdb = export_moves.expire(bdb)  # what any request would see first; not stored
        return self.rules.decide(principal, action, uid, bdb)

    # --- reads -----------------------------------------------------------------------

    def peek(self, uid: int) -> Bdb | None:
        """The bdb as stored, without rules: for workers and adapters, not principals."""
        return self._load(uid)

    def now(self) -> datetime:
        """The service's clock, so adapters stamp events on the same time line."""
        return self._clock.now()

    def get_bdb(self, principal: Principal | None, uid: int) -> Bdb:
        bdb = self._load(uid)
        self._enforce(principal, _A_VIEW, uid, bdb)
        assert bdb is not None  # the exists check passed
        return bdb

    def list_bdbs(
        self, principal: Principal | None, *, after_uid: int = 0, limit: int | None = None
    ) -> Iterator[Bdb]:
        """Bdbs in uid order, streamed from the repository (never loaded all at once)."""
        self._enforce(principal, _A_LIST, None, None)
        return self._bdbs.list(after_uid=after_uid, limit=limit)

    def list_modules(self, principal: Principal | None) -> Iterator[CatalogModule]:
        self._enforce(principal, _A_VIEW_MODULES, None, None)
        return self._modules.list()

    # --- principals' changes -----------------------------------------------------------

    def reset_export_status(self, principal: Principal | None, uid: int) -> Bdb:
        """The seed: back to idle unless exporting; an idle export is left as it is."""

        def announce(old: Bdb, new: Bdb | None) -> DomainEvent:
            return ExportStatusReset(
                actor=_actor(principal),
                uid=uid,
                at=self._clock.now(),
                previous_status=old.export_status,
                cleared_reason=old.export_failure_reason,
                changed=new is not None,
                revision=None if new is None else new.revision,
            )

        return self._change(
            actor=_actor(principal),
            action=_A_RESET.value,
            uid=uid,
            refusal=lambda bdb: self.rules.first_refusal(principal, _A_RESET, uid, bdb),
            move=export_moves.reset,
            announce=announce,
        )

    def start_export(self, principal: Principal | None, uid: int, location: ExportLocation) -> Bdb:
        """Begin an export; the returned bdb's `action_uid` identifies it to the worker,
        which must report progress or heartbeats before the lease runs out."""
        action_uid = self._ids.new_action_uid()

        def announce(old: Bdb, new: Bdb | None) -> DomainEvent:
            return ExportStarted(
                actor=_actor(principal),
                uid=uid,
                at=self._clock.now(),
                action_uid=action_uid,
                previous_status=old.export_status,
                location_type=location.type,
                revision=None if new is None else new.revision,
            )

        return self._change(
            actor=_actor(principal),
            action=_A_START.value,
            uid=uid,
            refusal=lambda bdb: self.rules.first_refusal(principal, _A_START, uid, bdb),
            move=lambda bdb: export_moves.start(
                bdb, action_uid, self._clock.now() + self.lease_ttl
            ),
            announce=announce,
        )

    # --- export workers' reports ---------------------------------------------------------

    def record_export_progress(self, uid: int, action_uid: str, progress: int) -> Bdb:
        """Progress of a running export, which also renews its lease. A report that
        changes nothing is accepted and stores nothing."""
        return self._report(uid, action_uid, progress)

    def _report(self, uid: int, action_uid: str, progress: int | None) -> Bdb:
        """A worker's report: progress, or (None) a heartbeat that keeps the progress."""
        now = self._clock.now()

        def announce(old: Bdb, new: Bdb | None) -> DomainEvent:
            if new is not None and new.export_progress == old.export_progress:
                return ExportLeaseRenewed(
                    actor=WORKER_ACTOR,
                    uid=uid,
                    at=now,
                    action_uid=action_uid,
                    until=new.export_lease_expires or now,
                    revision=new.revision,
                )
            return ExportProgressed(
                actor=WORKER_ACTOR,
                uid=uid,
                at=now,
                action_uid=action_uid,
                progress=old.export_progress if progress is None else progress,
                revision=None if new is None else new.revision,
            )

        return self._worker_change(
            _T_PROGRESS,
            uid,
            lambda bdb: export_moves.record_progress(
                bdb, action_uid, progress, now + self.lease_ttl, now + self.lease_ttl / 2
            ),
            announce,
        )

    def record_export_heartbeat(self, uid: int, action_uid: str) -> Bdb:
        """A sign of life from a running export's worker: renews the lease, at most
        one write per half lease."""
        # No progress of its own: read inside the compare-and-set loop, so a report the
        # exporter makes meanwhile is never contradicted by a stale value.
        return self._report(uid, action_uid, None)

    def record_export_success(self, uid: int, action_uid: str) -> Bdb:
        finished_at = self._clock.now()

        def announce(old: Bdb, new: Bdb | None) -> DomainEvent:
            return ExportSucceeded(
                actor=WORKER_ACTOR,
                uid=uid,
                at=finished_at,
                action_uid=action_uid,
                revision=None if new is None else new.revision,
            )

        return self._worker_change(
            _T_SUCCEED,
            uid,
            lambda bdb: export_moves.succeed(bdb, action_uid, finished_at),
            announce,
        )

    def record_export_failure(
        self, uid: int, action_uid: str, reason: ExportFailureReason, detail: str = ""
    ) -> Bdb:
        """End an export in failure; `detail` goes to the event, never to the bdb."""

        def announce(old: Bdb, new: Bdb | None) -> DomainEvent:
            return ExportFailed(
                actor=WORKER_ACTOR,
                uid=uid,
                at=self._clock.now(),
                action_uid=action_uid,
                reason=reason,
                detail=detail,
                revision=None if new is None else new.revision,
            )

        return self._worker_change(
            _T_FAIL,
            uid,
            lambda bdb: export_moves.fail(bdb, action_uid, reason),
            announce,
        )

    # --- the one path every change takes -----------------------------------------------

    def _worker_change(self, trigger: Trigger, uid: int, move: _Move, announce: _Announce) -> Bdb:
        return self._change(
            actor=WORKER_ACTOR,
            action=trigger.value,
            uid=uid,
            refusal=lambda bdb: BdbNotFoundError(uid) if bdb is None else None,
            move=move,
            announce=announce,
        )

    def _change(
        self,
        *,
        actor: str,
        action: str,
        uid: int,
        refusal: _Refusal,
        move: _Move,
        announce: _Announce,
    ) -> Bdb:
        for _ in range(self._max_attempts):
            bdb = self._load(uid)
            error = refusal(bdb)
            if error is None:
                assert bdb is not None  # every refusal function checks existence
                try:
                    new = move(bdb)
                except DomainError as exc:
                    error = exc
            if error is not None:
                self._publish_refusal(actor, action, uid, error, bdb)
                raise error
            assert bdb is not None
            if new is None:
                self._events.publish(announce(bdb, None))
                return bdb
            if self._bdbs.save(new, expected_revision=bdb.revision):
                self._events.publish(announce(bdb, new))
                return new
        conflict = ConcurrentUpdateError(uid, self._max_attempts)
        self._publish_refusal(actor, action, uid, conflict)
        raise conflict

    def _peek(self, uid: int | None) -> Bdb | None:
        # Out-of-range uids name no database; stores need not cope with them.
        if uid is None or not 1 <= uid <= MAX_UID:
            return None
        return self._bdbs.get(uid)

    def _load(self, uid: int | None) -> Bdb | None:
        """The bdb as requests must see it: an export whose lease has expired is failed
        first (and stored, by whichever replica notices), so no request acts on an
        export whose worker is gone."""
        bdb = self._peek(uid)
        for _ in range(self._max_attempts):
            # Only a leased export can expire; the clock is read only then.
            if bdb is None or bdb.export_lease_expires is None:
                return bdb
            if not export_moves.lease_expired(bdb, self._clock.now()):
                return bdb
            expired = export_moves.expire(bdb)
            if self._bdbs.save(expired, expected_revision=bdb.revision):
                assert bdb.action_uid is not None
                assert bdb.export_lease_expires is not None
                self._events.publish(
                    ExportFailed(
                        actor=LEASE_EXPIRY_ACTOR,
                        uid=bdb.uid,
                        at=self._clock.now(),
                        action_uid=bdb.action_uid,
                        reason=ExportFailureReason.GENERAL_ERROR,
                        detail=(
                            "export lease expired at"
                            f" {bdb.export_lease_expires.isoformat()}: its worker stopped"
                            " reporting"
                        ),
                        revision=expired.revision,
                    )
                )
                return expired
            bdb = self._peek(uid)
        return bdb

    def _enforce(
        self, principal: Principal | None, action: Action, uid: int | None, bdb: Bdb | None
    ) -> None:
        error = self.rules.first_refusal(principal, action, uid, bdb)
        if error is not None:
            self._publish_refusal(_actor(principal), action.value, uid, error, bdb)
            raise error

    def _publish_refusal(
        self,
        actor: str,
        action: str,
        uid: int | None,
        error: DomainError,
        decided_on: Bdb | None = None,
    ) -> None:
        self._events.publish(
            ActionRefused(
                actor=actor,
                uid=uid,
                at=self._clock.now(),
                action=action,
                error_code=error.code,
                description=error.description,
                revision=None if decided_on is None else decided_on.revision,
            )
        )


def _actor(principal: Principal | None) -> str:
    return "anonymous" if principal is None else principal.name
