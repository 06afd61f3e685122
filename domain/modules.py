"""The module catalog's entries: what each module can do.

Only `backup_restore` matters to exports, but the capability list is kept whole so
the catalog can answer Redis Software's `GET /v1/modules` faithfully.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

BACKUP_RESTORE = "backup_restore"
"""The capability a module must declare for its data to be exported or imported."""


class CatalogModule(BaseModel):
    """A module known to the cluster, with the capabilities it declares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    module_name: str = Field(min_length=1)
    semantic_version: str = Field(min_length=1)
    capabilities: frozenset[str] = frozenset()
    uid: str | None = None

    @field_validator("capabilities", mode="before")
    @classmethod
    def _accept_any_iterable(cls, value: object) -> object:
        # JSON gives lists; a frozenset makes membership tests O(1) and order moot.
        if isinstance(value, list | tuple | set):
            return frozenset(value)
        return value

    @property
    def supports_backup_restore(self) -> bool:
        return BACKUP_RESTORE in self.capabilities
