"""bdbexport's domain: the export, import and backup status lifecycles of a Redis
Software database.

Pure rules and use cases behind ports; imports only the standard library, pydantic
and transitions. Start with `ActionService` (the use cases, including `evaluate`),
its asynchronous twin `AsyncActionService`, or `RulesEngine` (decisions on a bdb you
already hold). `core` holds the same decisions as pure functions (sans-I/O).
Authentication is a bounded context of its own, `bdbexport.domain.auth`; its `User`
and user-directory ports are re-exported here for embedders that seed users.
"""

from .action_kind import ActionKind, Trigger
from .actions import ACTIONS, REQUIRED_PERMISSION, Action, ActionRule
from .async_service import AsyncActionService
from .auth import AsyncUserDirectory, User, UserDirectory
from .bdb import MAX_UID, Bdb, Endpoint, ModuleRef
from .capability_rule import CatalogSnapshot
from .core import DEFAULT_LEASE_TTL, DEFAULT_MAX_ATTEMPTS, Change, CoreSettings, Refusal
from .decision import Check, CheckOutcome, Decision
from .errors import (
    ActionCompletedError,
    ActionInProgressError,
    ActionMismatchError,
    BackupInProgressError,
    BdbAlreadyExistsError,
    BdbNotFoundError,
    BusyError,
    ConcurrentUpdateError,
    DomainError,
    ExportInProgressError,
    ForbiddenError,
    ImportInProgressError,
    IncompatibleStoreError,
    InvalidFailureReasonError,
    InvalidProgressError,
    InvalidTransitionError,
    LeaseNotExpiredError,
    StoreUnavailableError,
    UnauthenticatedError,
    UnsupportedModuleCapabilitiesError,
    UserAlreadyExistsError,
)
from .event_bus import EventBus
from .events import (
    ActionFailed,
    ActionLeaseRenewed,
    ActionProgressed,
    ActionRefused,
    ActionStarted,
    ActionSucceeded,
    DomainEvent,
    LifecycleEvent,
    NotificationNotSent,
    NotificationSent,
    StatusReset,
)
from .export_outcome import ExportFailedError
from .family import BACKUP, EXPORT, IMPORT, LIFECYCLES
from .lifecycle import Lifecycle
from .locations import (
    AbsLocation,
    ExportLocation,
    GcsLocation,
    MountPointLocation,
    S3Location,
    SftpLocation,
    UrlLocation,
)
from .modules import BACKUP_RESTORE, CatalogModule
from .permissions import BUILTIN_ROLE_PERMISSIONS, Permission, Role, RoleTablePolicy
from .ports import (
    AsyncBdbRepository,
    AsyncModuleCatalog,
    BdbRepository,
    Clock,
    EventPublisher,
    Exporter,
    IdGenerator,
    ModuleCatalog,
    ModuleRegistry,
    Notifier,
    PermissionPolicy,
)
from .principal import Principal
from .rules_engine import CHECK_ORDER, RulesEngine
from .service import ActionService
from .statuses import (
    BackupStatus,
    BdbStatus,
    ExportFailureReason,
    ExportStatus,
    ImportFailureReason,
    ImportFailureReasonValue,
    ImportStatus,
    MemLimitReason,
)

__all__ = [
    "ACTIONS",
    "BACKUP",
    "BACKUP_RESTORE",
    "BUILTIN_ROLE_PERMISSIONS",
    "CHECK_ORDER",
    "DEFAULT_LEASE_TTL",
    "DEFAULT_MAX_ATTEMPTS",
    "EXPORT",
    "IMPORT",
    "LIFECYCLES",
    "MAX_UID",
    "REQUIRED_PERMISSION",
    "AbsLocation",
    "Action",
    "ActionCompletedError",
    "ActionFailed",
    "ActionInProgressError",
    "ActionKind",
    "ActionLeaseRenewed",
    "ActionMismatchError",
    "ActionProgressed",
    "ActionRefused",
    "ActionRule",
    "ActionService",
    "ActionStarted",
    "ActionSucceeded",
    "AsyncActionService",
    "AsyncBdbRepository",
    "AsyncModuleCatalog",
    "AsyncUserDirectory",
    "BackupInProgressError",
    "BackupStatus",
    "Bdb",
    "BdbAlreadyExistsError",
    "BdbNotFoundError",
    "BdbRepository",
    "BdbStatus",
    "BusyError",
    "CatalogModule",
    "CatalogSnapshot",
    "Change",
    "Check",
    "CheckOutcome",
    "Clock",
    "ConcurrentUpdateError",
    "CoreSettings",
    "Decision",
    "DomainError",
    "DomainEvent",
    "Endpoint",
    "EventBus",
    "EventPublisher",
    "ExportFailedError",
    "ExportFailureReason",
    "ExportInProgressError",
    "ExportLocation",
    "ExportStatus",
    "Exporter",
    "ForbiddenError",
    "GcsLocation",
    "IdGenerator",
    "ImportFailureReason",
    "ImportFailureReasonValue",
    "ImportInProgressError",
    "ImportStatus",
    "IncompatibleStoreError",
    "InvalidFailureReasonError",
    "InvalidProgressError",
    "InvalidTransitionError",
    "LeaseNotExpiredError",
    "Lifecycle",
    "LifecycleEvent",
    "MemLimitReason",
    "ModuleCatalog",
    "ModuleRef",
    "ModuleRegistry",
    "MountPointLocation",
    "NotificationNotSent",
    "NotificationSent",
    "Notifier",
    "Permission",
    "PermissionPolicy",
    "Principal",
    "Refusal",
    "Role",
    "RoleTablePolicy",
    "RulesEngine",
    "S3Location",
    "SftpLocation",
    "StatusReset",
    "StoreUnavailableError",
    "Trigger",
    "UnauthenticatedError",
    "UnsupportedModuleCapabilitiesError",
    "UrlLocation",
    "User",
    "UserAlreadyExistsError",
    "UserDirectory",
]
