"""bdbexport's domain: the export-status lifecycle of a Redis Software database.

Pure rules and use cases behind ports; imports only the standard library, pydantic
and transitions. Start with `ExportService` (the use cases, including `evaluate`)
or `RulesEngine` (decisions on a bdb you already hold).
"""

from .actions import REQUIRED_PERMISSION, Action
from .bdb import MAX_UID, Bdb, Endpoint, ModuleRef
from .decision import Check, CheckOutcome, Decision
from .errors import (
    ActionMismatchError,
    BdbAlreadyExistsError,
    BdbNotFoundError,
    BusyError,
    ConcurrentUpdateError,
    DomainError,
    ExportInProgressError,
    ForbiddenError,
    IncompatibleStoreError,
    InvalidProgressError,
    InvalidTransitionError,
    StoreUnavailableError,
    UnauthenticatedError,
    UnsupportedModuleCapabilitiesError,
    UserAlreadyExistsError,
)
from .events import (
    ActionRefused,
    DomainEvent,
    ExportFailed,
    ExportLeaseRenewed,
    ExportNotificationNotSent,
    ExportNotificationSent,
    ExportProgressed,
    ExportStarted,
    ExportStatusReset,
    ExportSucceeded,
)
from .export_outcome import ExportFailedError
from .export_service import ExportService
from .lifecycle import Trigger, next_status
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
    BdbRepository,
    Clock,
    EventPublisher,
    Exporter,
    IdGenerator,
    ModuleCatalog,
    ModuleRegistry,
    Notifier,
    PermissionPolicy,
    UserDirectory,
)
from .principal import Principal
from .rules_engine import CHECK_ORDER, RulesEngine
from .statuses import BdbStatus, ExportFailureReason, ExportStatus
from .users import User

__all__ = [
    "BACKUP_RESTORE",
    "BUILTIN_ROLE_PERMISSIONS",
    "CHECK_ORDER",
    "MAX_UID",
    "REQUIRED_PERMISSION",
    "AbsLocation",
    "Action",
    "ActionMismatchError",
    "ActionRefused",
    "Bdb",
    "BdbAlreadyExistsError",
    "BdbNotFoundError",
    "BdbRepository",
    "BdbStatus",
    "BusyError",
    "CatalogModule",
    "Check",
    "CheckOutcome",
    "Clock",
    "ConcurrentUpdateError",
    "Decision",
    "DomainError",
    "DomainEvent",
    "Endpoint",
    "EventPublisher",
    "ExportFailed",
    "ExportFailedError",
    "ExportFailureReason",
    "ExportInProgressError",
    "ExportLeaseRenewed",
    "ExportLocation",
    "ExportNotificationNotSent",
    "ExportNotificationSent",
    "ExportProgressed",
    "ExportService",
    "ExportStarted",
    "ExportStatus",
    "ExportStatusReset",
    "ExportSucceeded",
    "Exporter",
    "ForbiddenError",
    "GcsLocation",
    "IdGenerator",
    "IncompatibleStoreError",
    "InvalidProgressError",
    "InvalidTransitionError",
    "ModuleCatalog",
    "ModuleRef",
    "ModuleRegistry",
    "MountPointLocation",
    "Notifier",
    "Permission",
    "PermissionPolicy",
    "Principal",
    "Role",
    "RoleTablePolicy",
    "RulesEngine",
    "S3Location",
    "SftpLocation",
    "StoreUnavailableError",
    "Trigger",
    "UnauthenticatedError",
    "UnsupportedModuleCapabilitiesError",
    "UrlLocation",
    "User",
    "UserAlreadyExistsError",
    "UserDirectory",
    "next_status",
]
