"""Role-based permissions: Redis Software's built-in management roles, as data.

`RoleTablePolicy` answers the `PermissionPolicy` port from a plain mapping of role to
permissions, so an embedder with its own roles passes its own table (or writes its own
policy). A lookup is one dict access and one frozenset membership test: the rules
engine stays within a small multiple of hand-written code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from .principal import Principal


class Permission(StrEnum):
    """The permissions this family of endpoints requires, named as Redis Software names them."""

    VIEW_BDB_INFO = "view_bdb_info"
    VIEW_ALL_BDBS_INFO = "view_all_bdbs_info"
    VIEW_CLUSTER_MODULES = "view_cluster_modules"
    START_BDB_EXPORT = "start_bdb_export"
    RESET_BDB_CURRENT_EXPORT_STATUS = "reset_bdb_current_export_status"
    START_BDB_IMPORT = "start_bdb_import"
    RESET_BDB_CURRENT_IMPORT_STATUS = "reset_bdb_current_import_status"
    RESET_BDB_CURRENT_BACKUP_STATUS = "reset_bdb_current_backup_status"
    VIEW_STATUS_OF_CLUSTER_ACTION = "view_status_of_cluster_action"


class Role(StrEnum):
    """Redis Software's built-in management roles."""

    NONE = "none"
    DB_VIEWER = "db_viewer"
    DB_MEMBER = "db_member"
    CLUSTER_VIEWER = "cluster_viewer"
    CLUSTER_MEMBER = "cluster_member"
    USER_MANAGER = "user_manager"
    ADMIN = "admin"


_VIEW = frozenset(
    {
        Permission.VIEW_BDB_INFO,
        Permission.VIEW_ALL_BDBS_INFO,
        Permission.VIEW_CLUSTER_MODULES,
        # Following the actions of the cluster is a view: every role but `none`.
        Permission.VIEW_STATUS_OF_CLUSTER_ACTION,
    }
)
_OPERATE = _VIEW | {
    Permission.START_BDB_EXPORT,
    Permission.RESET_BDB_CURRENT_EXPORT_STATUS,
    Permission.START_BDB_IMPORT,
    Permission.RESET_BDB_CURRENT_IMPORT_STATUS,
    Permission.RESET_BDB_CURRENT_BACKUP_STATUS,
}

BUILTIN_ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        Role.NONE: frozenset(),
        Role.DB_VIEWER: _VIEW,
        Role.CLUSTER_VIEWER: _VIEW,
        Role.USER_MANAGER: _VIEW,
        Role.DB_MEMBER: _OPERATE,
        Role.CLUSTER_MEMBER: _OPERATE,
        Role.ADMIN: _OPERATE,
    }
)
"""The facts sheet's table for this family; a role missing here has no permissions."""


class RoleTablePolicy:
    """A `PermissionPolicy` read from a role -> permissions table.

    Unknown roles have no permissions: the policy fails closed.
    """

    __slots__ = ("_table",)

    def __init__(self, table: Mapping[str, Iterable[str]] = BUILTIN_ROLE_PERMISSIONS) -> None:
        # A plain dict of plain strings: looked up on every request (see lifecycle.py).
        self._table: dict[str, frozenset[str]] = {
            str(role): frozenset(str(p) for p in permissions) for role, permissions in table.items()
        }

    def permits(self, principal: Principal, permission: str) -> bool:
        granted = self._table.get(principal.role)
        return granted is not None and permission in granted

    def roles(self) -> frozenset[str]:
        return frozenset(self._table)

    def roles_granting(self, permission: str) -> frozenset[str]:
        """Every role holding `permission`: lets the rules engine compile its pass
        tables once instead of asking the policy on each request."""
        return frozenset(role for role, granted in self._table.items() if permission in granted)

    def permissions_of(self, role: str) -> frozenset[str]:
        return self._table.get(role, frozenset())
