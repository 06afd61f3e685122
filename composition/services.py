"""The use cases over chosen ports, for embedders: every dependency is an explicit
keyword, defaulting to the in-memory adapters, so an embedder replaces exactly the
ports it owns. Nothing is built at import time. (`bootstrap` builds whole
applications on top of these.)"""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from bdbexport.adapters.memory import (
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    InMemoryBdbRepository,
    InMemoryEventLog,
    InMemoryModuleCatalog,
    SystemClock,
    UuidIds,
)
from bdbexport.domain.async_service import AsyncActionService
from bdbexport.domain.core import DEFAULT_LEASE_TTL, DEFAULT_MAX_ATTEMPTS
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.ports import (
    AsyncBdbRepository,
    AsyncModuleCatalog,
    BdbRepository,
    Clock,
    EventPublisher,
    IdGenerator,
    ModuleCatalog,
    PermissionPolicy,
)
from bdbexport.domain.service import ActionService

DEFAULT_EVENT_LOG_SIZE = 10_000
"""Events kept by the default in-memory log before the oldest are dropped."""


class _SharedPorts(TypedDict):
    """What both shells take besides their stores: one list of defaults for both."""

    policy: PermissionPolicy
    clock: Clock
    ids: IdGenerator
    events: EventPublisher
    max_attempts: int
    lease_ttl: timedelta


def _shared(
    policy: PermissionPolicy | None,
    clock: Clock | None,
    ids: IdGenerator | None,
    events: EventPublisher | None,
    max_attempts: int,
    lease_ttl: timedelta,
) -> _SharedPorts:
    return _SharedPorts(
        policy=policy if policy is not None else RoleTablePolicy(),
        clock=clock if clock is not None else SystemClock(),
        ids=ids if ids is not None else UuidIds(),
        events=events if events is not None else InMemoryEventLog(maxlen=DEFAULT_EVENT_LOG_SIZE),
        max_attempts=max_attempts,
        lease_ttl=lease_ttl,
    )


def build_service(
    *,
    bdbs: BdbRepository | None = None,
    modules: ModuleCatalog | None = None,
    policy: PermissionPolicy | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    events: EventPublisher | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    lease_ttl: timedelta = DEFAULT_LEASE_TTL,
) -> ActionService:
    """An `ActionService` (synchronous) from the given ports, in-memory for the others."""
    return ActionService(
        bdbs=bdbs if bdbs is not None else InMemoryBdbRepository(),
        modules=modules if modules is not None else InMemoryModuleCatalog(),
        **_shared(policy, clock, ids, events, max_attempts, lease_ttl),
    )


def build_async_service(
    *,
    bdbs: AsyncBdbRepository | None = None,
    modules: AsyncModuleCatalog | None = None,
    policy: PermissionPolicy | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    events: EventPublisher | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    lease_ttl: timedelta = DEFAULT_LEASE_TTL,
) -> AsyncActionService:
    """An `AsyncActionService` from the given async ports, in-memory for the others (the
    same defaults as `build_service`)."""
    return AsyncActionService(
        bdbs=bdbs if bdbs is not None else AsyncInMemoryBdbRepository(),
        modules=modules if modules is not None else AsyncInMemoryModuleCatalog(),
        **_shared(policy, clock, ids, events, max_attempts, lease_ttl),
    )
