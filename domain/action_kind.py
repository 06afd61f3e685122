"""The family's vocabulary: its members and the triggers that move them.

Kept apart from the machines (`lifecycle`, `family`) so that what only names a member —
an event, an endpoint, a metric label — does not load the machines to say it.
"""

from __future__ import annotations

from enum import StrEnum


class ActionKind(StrEnum):
    """The members of the family: each is one lifecycle on the bdb."""

    EXPORT = "export"
    IMPORT = "import"
    BACKUP = "backup"


class Trigger(StrEnum):
    """The events that move a lifecycle; their values name the machine's triggers."""

    START = "start"
    PROGRESS = "progress"
    SUCCEED = "succeed"
    FAIL = "fail"
    EXPIRE = "expire"
    """A running action's lease ran out: its worker is gone."""
    RESET = "reset"
    CANCEL = "cancel"
    """A principal stopped the running action (`DELETE /v1/actions/{uid}`)."""
