"""The server's Prometheus metrics: one registry per app, fed by requests, domain
events, the store and the login guard.

Each `ServerMetrics` owns its own `CollectorRegistry` (never the process-global one),
so several apps in one process (tests, an embedder mounting two) keep separate
figures, and each replica exposes only what happened in it: Prometheus adds replicas
up with `sum by (...)` (docs/operations.md).

Actions are counted from the domain events every use case publishes (`observe_event`
subscribes to the event bus), so the HTTP adapter, the export workers and the lease
expiry of any caller are counted alike without touching the domain. Every label takes
its values from a closed set (route templates, action kinds, failure reasons, store
operations): no request can invent a new time series.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.events import (
    LEASE_EXPIRY_ACTOR,
    WORKER_ACTOR,
    ActionRefused,
    DomainEvent,
    LifecycleEvent,
)
from bdbexport.domain.family import LIFECYCLES

from .loop_histogram import LoopCounter, LoopHistogram

REQUEST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds: a cached reset answers in well under a millisecond, a store stall in 2 s."""

STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 2.5)

_ENDING_SUFFIXES = frozenset({"Succeeded", "Failed", "Cancelled"})
_WORKER_IS_DONE = frozenset({"invalid_transition", "action_mismatch", "db_not_exist"})
"""Refusals of a worker's report that mean its action is over (not a store blip)."""
KNOWN_STORE_ERRORS = ("store_unavailable", "concurrent_update", "cancelled")
"""The store errors known in advance (domain codes, and `cancelled` for a caller that
stopped waiting), whose series start at 0; an exception's class name, unforeseeable,
starts its own series when it first happens."""
EDGE_REFUSAL_STATUSES = (429,)
"""What the app's edge rules refuse before the app sees the request (the in-flight cap);
the server's own refusals (400, 431) run no code of ours and are counted nowhere here."""
LOGIN_FAILURE_REASONS = ("bad_credentials", "locked", "throttled", "other")
ACCOUNT_LOCKED = "AccountLocked"
LOGIN_FAILED = "LoginFailed"
"""The sign-in guard's events (domain/auth_events.py), matched by name: the metrics
count them whenever the guard publishes them on the bus."""


class ServerMetrics:
    """Every metric family of one server, registered on its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        on = self.registry
        # Counted and observed once a request, by the event loop alone (the request
        # pipeline): lock-free series, exposed as Counter and Histogram expose theirs.
        self.requests = LoopCounter(
            "bdbexport_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=on,
        )
        self.request_duration = LoopHistogram(
            "bdbexport_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template.",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=on,
        )
        self.edge_refusals = Counter(
            "bdbexport_http_edge_refusals",
            "Requests the app's edge rules refused before the app saw them, by status"
            " (429: the in-flight cap per client address).",
            ["status"],
            registry=on,
        )
        self.actions_started = Counter(
            "bdbexport_actions_started",
            "Actions (export, import, backup) started.",
            ["kind"],
            registry=on,
        )
        self.actions_succeeded = Counter(
            "bdbexport_actions_succeeded", "Actions that ended succeeded.", ["kind"], registry=on
        )
        self.actions_failed = Counter(
            "bdbexport_actions_failed",
            "Actions that ended failed, by failure reason (lease expiries included).",
            ["kind", "reason"],
            registry=on,
        )
        self.actions_cancelled = Counter(
            "bdbexport_actions_cancelled",
            "Running actions a principal cancelled.",
            ["kind"],
            registry=on,
        )
        self.actions_running = Gauge(
            "bdbexport_actions_running",
            "Actions started by this replica that have not ended yet.",
            ["kind"],
            registry=on,
        )
        self.lease_expiries = Counter(
            "bdbexport_lease_expiries",
            "Running actions failed because their worker stopped renewing the lease.",
            ["kind"],
            registry=on,
        )
        self.transferred_bytes = Counter(
            "bdbexport_transferred_bytes",
            "Bytes written by exports and backups, read by imports (from events that carry"
            " `size_bytes`).",
            ["kind"],
            registry=on,
        )
        self.lockouts = Counter(
            "bdbexport_login_lockouts",
            "Accounts or client addresses locked out after failed sign-ins.",
            ["subject"],
            registry=on,
        )
        self.login_failures = Counter(
            "bdbexport_login_failures",
            "Refused sign-ins, by reason (bad_credentials, locked, throttled, other).",
            ["reason"],
            registry=on,
        )
        self.store_call_duration = LoopHistogram(
            "bdbexport_store_call_duration_seconds",
            "Time of the event loop's store calls, by port operation (e.g. bdbs.get).",
            ["operation"],
            buckets=STORE_BUCKETS,
            registry=on,
        )
        """Observed by the event loop alone (`composition/observability.py`), a store call
        or two every request: no lock needed (`LoopHistogram`)."""
        self.store_errors = Counter(
            "bdbexport_store_errors",
            "Store calls that raised, by port operation and error code.",
            ["operation", "error"],
            registry=on,
        )
        self._store_timers: dict[str, StoreCallTimer] = {}
        self.workers_busy: Callable[[], int] | None = None
        """How many actions this replica's workers hold (queued or running), when the
        wiring tells; see `refresh`."""
        self._running: dict[int, tuple[ActionKind, str | None]] = {}
        """The actions this replica saw start, by bdb (a bdb runs one action at a time)."""
        self._lock = threading.Lock()
        for kind in ActionKind:
            # Zero series exist from the start, so rates and alerts see "none yet".
            for family in (
                self.actions_started,
                self.actions_succeeded,
                self.actions_cancelled,
                self.actions_running,
                self.lease_expiries,
                self.transferred_bytes,
            ):
                family.labels(kind=kind.value)
        for kind, lifecycle in LIFECYCLES.items():
            # Every failure reason of every member: the first failure is an increase.
            for failure in lifecycle.reasons:
                self.actions_failed.labels(kind=kind.value, reason=str(failure))
        for status in EDGE_REFUSAL_STATUSES:
            self.edge_refusals.labels(status=str(status))
        for subject in ("user", "address"):
            self.lockouts.labels(subject=subject)
        for reason in LOGIN_FAILURE_REASONS:
            self.login_failures.labels(reason=reason)

    # --- domain events ----------------------------------------------------------------

    def observe_event(self, event: DomainEvent) -> None:
        """An event-bus handler: counts starts and ends of actions, by kind and reason.

        Dispatches on the event class's `suffix` (`Started`, `Succeeded`, `Failed`,
        `Cancelled`), so a new member of the family is counted without a change here.
        Events publish from the loop and from worker threads: the running set is locked.
        """
        if not isinstance(event, LifecycleEvent):
            self._observe_other(event)
            return
        suffix, kind = event.suffix, event.kind.value
        if suffix == "Started":
            self.actions_started.labels(kind=kind).inc()
            if event.uid is not None:
                with self._lock:
                    self._running[event.uid] = (event.kind, event.action_uid)
                    self._update_running()
            return
        if suffix not in _ENDING_SUFFIXES:
            return
        if suffix == "Succeeded":
            self.actions_succeeded.labels(kind=kind).inc()
            size = getattr(event, "size_bytes", None)
            if isinstance(size, int) and size > 0:
                self.transferred_bytes.labels(kind=kind).inc(size)
        elif suffix == "Cancelled":
            self.actions_cancelled.labels(kind=kind).inc()
        else:
            reason = str(getattr(event, "reason", "unknown"))
            self.actions_failed.labels(kind=kind, reason=reason).inc()
            if event.actor == LEASE_EXPIRY_ACTOR:
                self.lease_expiries.labels(kind=kind).inc()
        self._ended(event.uid, event.action_uid)

    def _observe_other(self, event: DomainEvent) -> None:
        if isinstance(event, ActionRefused):
            # A worker told "no" for good: its action ended elsewhere (cancelled through
            # another replica, failed by another replica's lease check), unseen here.
            if event.actor == WORKER_ACTOR and event.error_code in _WORKER_IS_DONE:
                self._ended(event.uid, None)
        elif event.name == ACCOUNT_LOCKED:
            self.record_lockout("user")
        elif event.name == LOGIN_FAILED:
            reason = str(getattr(event, "reason", "other"))
            self.login_failures.labels(
                reason=reason if reason in LOGIN_FAILURE_REASONS else "other"
            ).inc()

    def _ended(self, uid: int | None, action_uid: str | None) -> None:
        # Only actions this replica saw start are counted, so an end it merely observes
        # (a lease expiry of another replica's export) never drives the gauge below zero.
        if uid is None:
            return
        with self._lock:
            running = self._running.get(uid)
            if running is None or (action_uid is not None and running[1] != action_uid):
                return
            del self._running[uid]
            self._update_running()

    def refresh(self) -> None:
        """Before each scrape: when this replica's workers hold no action, none runs
        here, whatever the events said (a worker that saw its action cancelled through
        another replica stops without an event of its own)."""
        if self.workers_busy is None or self.workers_busy() != 0:
            return
        with self._lock:
            if self._running:
                self._running.clear()
                self._update_running()

    def _update_running(self) -> None:
        counts = dict.fromkeys(ActionKind, 0)
        for kind, _ in self._running.values():
            counts[kind] += 1
        for kind, count in counts.items():
            self.actions_running.labels(kind=kind.value).set(count)

    # --- hooks for the other parts of the server --------------------------------------

    def record_edge_refusal(self, status: int) -> None:
        """Call when the HTTP edge answers a refusal itself (adapters/http/edge_rules.py)."""
        self.edge_refusals.labels(status=str(status)).inc()

    def record_lockout(self, subject: str = "user") -> None:
        """Call when a sign-in guard locks an account (`user`) or a client address
        (`address`); any other value is counted as `user`."""
        self.lockouts.labels(subject=subject if subject in {"user", "address"} else "user").inc()

    def store_timer(self, operation: str) -> StoreCallTimer:
        """The timer of one store operation (e.g. `users.get`), for a caller that times it
        on every call: its histogram child is looked up here, once."""
        timer = self._store_timers.get(operation)
        if timer is None:
            timer = self._store_timers[operation] = StoreCallTimer(self, operation)
        return timer

    def observe_store_call(self, operation: str, seconds: float, error: str | None) -> None:
        """One store call of the event loop took `seconds`; `error` is the code (or
        exception class name) it raised, None when it answered."""
        timer = self.store_timer(operation)
        if error is None:
            timer.observe(seconds)
        else:
            timer.failed(seconds, error)

    def declare_store_operations(self, operations: Iterable[str]) -> None:
        """Create the zero series of each store operation (its duration, and its errors
        for every code known in advance), so rates and alerts exist before the first
        call, and the first failure is an increase from 0 rather than a new series."""
        for operation in operations:
            self.store_call_duration.labels(operation=operation)
            for error in KNOWN_STORE_ERRORS:
                self.store_errors.labels(operation=operation, error=error)


class StoreCallTimer:
    """One store operation's figures, bound once: `labels()` costs more than an
    observation, and every request makes a store call or two."""

    __slots__ = ("_errors", "_operation", "observe")

    def __init__(self, metrics: ServerMetrics, operation: str) -> None:
        self._operation = operation
        self._errors = metrics.store_errors
        self.observe: Callable[[float], None] = metrics.store_call_duration.labels(
            operation=operation
        ).observe
        """Record one call that answered, taking `seconds`."""

    def failed(self, seconds: float, error: str) -> None:
        """Record one call that raised `error` (a domain error code or a class name)."""
        self.observe(seconds)
        self._errors.labels(operation=self._operation, error=error).inc()
