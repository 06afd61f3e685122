"""bdbexport's domain: the export-status lifecycle of a Redis Software database.

Pure rules and use cases behind ports; imports only the standard library, pydantic
and transitions. Start with `ExportService` (the use cases, including `evaluate`)
or `RulesEngine` (decisions on a bdb you already hold).
"""

from .actions import REQUIRED_PERMISSION, Action
from .bdb import MAX_UID, Bdb, ModuleRef
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
    InvalidProgressError,
    InvalidTransitionError,
    UnauthenticatedError,
    UnsupportedModuleCapabilitiesError,
)
from .events import (
    ActionRefused,
    DomainEvent,
    ExportFailed,
    ExportProgressed,
    ExportStarted,
    ExportStatusReset,
    ExportSucceeded,
)
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
    IdGenerator,
    ModuleCatalog,
    PermissionPolicy,
)
from .principal import Principal
from .rules_engine import CHECK_ORDER, RulesEngine
from .statuses import BdbStatus, ExportFailureReason, ExportStatus

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
    "EventPublisher",
    "ExportFailed",
    "ExportFailureReason",
    "ExportInProgressError",
    "ExportLocation",
    "ExportProgressed",
    "ExportService",
    "ExportStarted",
    "ExportStatus",
    "ExportStatusReset",
    "ExportSucceeded",
    "ForbiddenError",
    "GcsLocation",
    "IdGenerator",
    "InvalidProgressError",
    "InvalidTransitionError",
    "ModuleCatalog",
    "ModuleRef",
    "MountPointLocation",
    "Permission",
    "PermissionPolicy",
    "Principal",
    "Role",
    "RoleTablePolicy",
    "RulesEngine",
    "S3Location",
    "SftpLocation",
    "Trigger",
    "UnauthenticatedError",
    "UnsupportedModuleCapabilitiesError",
    "UrlLocation",
    "next_status",
]
