"""The composition root: the one place that chooses adapters and wires them to the domain.

Nothing is built at import time; every dependency is an explicit keyword, defaulting
to the in-memory adapters, so an embedder replaces exactly the ports it owns.
"""

from __future__ import annotations

from bdbexport.domain.export_service import DEFAULT_MAX_ATTEMPTS, ExportService
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.ports import (
    BdbRepository,
    Clock,
    EventPublisher,
    IdGenerator,
    ModuleCatalog,
    PermissionPolicy,
)

from .memory import (
    InMemoryBdbRepository,
    InMemoryEventLog,
    InMemoryModuleCatalog,
    SystemClock,
    UuidIds,
)

DEFAULT_EVENT_LOG_SIZE = 10_000
"""Events kept by the default in-memory log before the oldest are dropped."""


def build_service(
    *,
    bdbs: BdbRepository | None = None,
    modules: ModuleCatalog | None = None,
    policy: PermissionPolicy | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    events: EventPublisher | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> ExportService:
    """An `ExportService` from the given ports, in-memory adapters for the others."""
    return ExportService(
        bdbs=bdbs if bdbs is not None else InMemoryBdbRepository(),
        modules=modules if modules is not None else InMemoryModuleCatalog(),
        policy=policy if policy is not None else RoleTablePolicy(),
        clock=clock if clock is not None else SystemClock(),
        ids=ids if ids is not None else UuidIds(),
        events=events if events is not None else InMemoryEventLog(maxlen=DEFAULT_EVENT_LOG_SIZE),
        max_attempts=max_attempts,
    )
