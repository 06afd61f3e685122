"""Module-capability rule: data can leave or enter a database only if every module
loaded in it can save and restore its own data.

Fails closed: a module the catalog does not know is treated as lacking the capability.
The rule reads a *snapshot* of the catalog (the entries of the bdb's modules, taken by
the shell that drives the core), so deciding needs no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from .bdb import Bdb
from .errors import UnsupportedModuleCapabilitiesError
from .modules import BACKUP_RESTORE, CatalogModule

CatalogSnapshot = Mapping[str, CatalogModule]
"""The catalog entries a decision may need, by module name; a missing name is unknown."""

NO_MODULES: CatalogSnapshot = {}


def modules_lacking_backup_restore(bdb: Bdb, catalog: CatalogSnapshot) -> tuple[str, ...]:
    """Names of the bdb's modules that are unknown or lack `backup_restore`, in list order."""
    lacking: list[str] = []
    for module in bdb.module_list:
        entry = catalog.get(module.module_name)
        if entry is None or BACKUP_RESTORE not in entry.capabilities:
            lacking.append(module.module_name)
    return tuple(lacking)


def capability_refusal(
    bdb: Bdb, catalog: CatalogSnapshot
) -> UnsupportedModuleCapabilitiesError | None:
    """The refusal naming the offending modules, or None when the rule passes."""
    if not bdb.module_list:
        return None
    lacking = modules_lacking_backup_restore(bdb, catalog)
    return UnsupportedModuleCapabilitiesError(bdb.uid, lacking) if lacking else None
