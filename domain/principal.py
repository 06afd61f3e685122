"""Who asks. Authentication happens in adapters; the domain only sees the result."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a name for the audit trail and one management role.

    Redis Software gives each user exactly one management role, so a principal has
    one; a policy with richer needs can read more from `name`.
    """

    name: str
    role: str
