"""The requests a principal can make of this family, and the permission each needs."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from .permissions import Permission


class Action(StrEnum):
    """What a principal asks to do; the values are the CLI's and `evaluate`'s words."""

    VIEW = "view"
    LIST = "list"
    VIEW_MODULES = "view_modules"
    START = "start"
    RESET = "reset"


REQUIRED_PERMISSION: Mapping[Action, Permission] = MappingProxyType(
    {
        Action.VIEW: Permission.VIEW_BDB_INFO,
        Action.LIST: Permission.VIEW_ALL_BDBS_INFO,
        Action.VIEW_MODULES: Permission.VIEW_CLUSTER_MODULES,
        Action.START: Permission.START_BDB_EXPORT,
        Action.RESET: Permission.RESET_BDB_CURRENT_EXPORT_STATUS,
    }
)

TARGETS_ONE_BDB: frozenset[Action] = frozenset({Action.VIEW, Action.START, Action.RESET})
"""Actions that name a database by uid, and so check that it exists."""

CHANGES_EXPORT: frozenset[Action] = frozenset({Action.START, Action.RESET})
"""Actions that move the export lifecycle, and so check modules and business."""
