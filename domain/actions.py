"""The requests a principal can make of this family, and what each one needs.

`ACTIONS` is the readable rule: for every action, the permission it requires and,
for the actions that move a lifecycle, which lifecycle and which trigger. The rules
engine compiles its check order from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from .action_kind import Trigger
from .family import BACKUP, EXPORT, IMPORT
from .lifecycle import Lifecycle
from .permissions import Permission


class Action(StrEnum):
    """What a principal asks to do; the values are the CLI's and `evaluate`'s words."""

    VIEW = "view"
    LIST = "list"
    VIEW_MODULES = "view_modules"
    START = "start"
    """Start an export (the seed family's first member keeps the short words)."""
    RESET = "reset"
    """Reset the export status: the seed."""
    START_IMPORT = "start_import"
    RESET_IMPORT = "reset_import"
    START_BACKUP = "start_backup"
    RESET_BACKUP = "reset_backup"
    CANCEL_EXPORT = "cancel_export"
    CANCEL_IMPORT = "cancel_import"
    CANCEL_BACKUP = "cancel_backup"
    VIEW_ACTIONS = "view_actions"
    """Read the cluster's action records (the Actions API)."""


@dataclass(frozen=True, slots=True)
class ActionRule:
    """What one action needs: a permission, whether it names a bdb, and the lifecycle
    move it makes (None for reads)."""

    permission: Permission
    targets_one_bdb: bool
    lifecycle: Lifecycle | None = None
    trigger: Trigger | None = None
    moves_a_lifecycle: bool = field(init=False)
    allowed_from: frozenset[StrEnum] = field(init=False)
    """The statuses the lifecycle's table lets `trigger` leave: derived from the
    machine once, so the transition check is one membership test."""

    def __post_init__(self) -> None:
        lifecycle, trigger = self.lifecycle, self.trigger
        sources: frozenset[StrEnum] = frozenset()
        if lifecycle is not None and trigger is not None:
            sources = frozenset(s for s in lifecycle.statuses if lifecycle.allows(s, trigger))
        object.__setattr__(self, "moves_a_lifecycle", lifecycle is not None)
        object.__setattr__(self, "allowed_from", sources)


ACTIONS: Mapping[Action, ActionRule] = MappingProxyType(
    {
        Action.VIEW: ActionRule(Permission.VIEW_BDB_INFO, targets_one_bdb=True),
        Action.LIST: ActionRule(Permission.VIEW_ALL_BDBS_INFO, targets_one_bdb=False),
        Action.VIEW_MODULES: ActionRule(Permission.VIEW_CLUSTER_MODULES, targets_one_bdb=False),
        Action.START: ActionRule(Permission.START_BDB_EXPORT, True, EXPORT, Trigger.START),
        Action.RESET: ActionRule(
            Permission.RESET_BDB_CURRENT_EXPORT_STATUS, True, EXPORT, Trigger.RESET
        ),
        Action.START_IMPORT: ActionRule(Permission.START_BDB_IMPORT, True, IMPORT, Trigger.START),
        Action.RESET_IMPORT: ActionRule(
            Permission.RESET_BDB_CURRENT_IMPORT_STATUS, True, IMPORT, Trigger.RESET
        ),
        # Redis Software documents no permission of its own for an on-demand backup
        # ("to make an on-demand backup, export your data"): it needs start_bdb_export.
        Action.START_BACKUP: ActionRule(Permission.START_BDB_EXPORT, True, BACKUP, Trigger.START),
        Action.RESET_BACKUP: ActionRule(
            Permission.RESET_BDB_CURRENT_BACKUP_STATUS, True, BACKUP, Trigger.RESET
        ),
        # Only a principal allowed to start an action may cancel it. A cancel names a
        # running action, so the busy and module checks of a start do not apply: the
        # lifecycle's own table (CANCEL from running, guarded by the current action)
        # refuses anything else, in `moves.cancel`.
        Action.CANCEL_EXPORT: ActionRule(Permission.START_BDB_EXPORT, targets_one_bdb=True),
        Action.CANCEL_IMPORT: ActionRule(Permission.START_BDB_IMPORT, targets_one_bdb=True),
        Action.CANCEL_BACKUP: ActionRule(Permission.START_BDB_EXPORT, targets_one_bdb=True),
        Action.VIEW_ACTIONS: ActionRule(
            Permission.VIEW_STATUS_OF_CLUSTER_ACTION, targets_one_bdb=False
        ),
    }
)

REQUIRED_PERMISSION: Mapping[Action, Permission] = MappingProxyType(
    {action: rule.permission for action, rule in ACTIONS.items()}
)


def _action_by_kind(trigger: Trigger) -> Mapping[str, Action]:
    return MappingProxyType(
        {
            rule.lifecycle.name: action
            for action, rule in ACTIONS.items()
            if rule.lifecycle is not None and rule.trigger is trigger
        }
    )


RESET_ACTIONS = _action_by_kind(Trigger.RESET)
"""The principal's action that resets each member of the family, by its name."""
START_ACTIONS = _action_by_kind(Trigger.START)
"""The principal's action that starts each member of the family, by its name."""


CANCEL_ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        EXPORT.name: Action.CANCEL_EXPORT,
        IMPORT.name: Action.CANCEL_IMPORT,
        BACKUP.name: Action.CANCEL_BACKUP,
    }
)
"""The principal's action that cancels each member's running action, by its name."""


def cancel_action(lifecycle: Lifecycle) -> Action:
    return CANCEL_ACTIONS[lifecycle.name]


def reset_action(lifecycle: Lifecycle) -> Action:
    return RESET_ACTIONS[lifecycle.name]


def start_action(lifecycle: Lifecycle) -> Action:
    return START_ACTIONS[lifecycle.name]
