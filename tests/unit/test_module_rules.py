"""Module-capability and busy rules."""

from __future__ import annotations

from bdbexport.domain import (
    Action,
    Bdb,
    BusyError,
    CatalogModule,
    ExportInProgressError,
    ExportStatus,
    ModuleRef,
    UnsupportedModuleCapabilitiesError,
)
from bdbexport.domain.busy_rule import busy_refusal
from bdbexport.domain.capability_rule import capability_refusal, modules_lacking_backup_restore

CATALOG = {
    "search": CatalogModule(
        module_name="search", semantic_version="2.8", capabilities=["backup_restore"]
    ),
    "graph": CatalogModule(module_name="graph", semantic_version="2.10", capabilities=["types"]),
}
"""A catalog snapshot: the rule reads entries by name, never a store."""


def bdb_with(*names: str) -> Bdb:
    return Bdb(uid=9, name="db", module_list=tuple(ModuleRef(module_name=n) for n in names))


def test_a_database_without_modules_passes() -> None:
    assert capability_refusal(bdb_with(), CATALOG) is None


def test_modules_with_backup_restore_pass() -> None:
    assert capability_refusal(bdb_with("search"), CATALOG) is None


def test_the_refusal_names_every_offending_module_in_order() -> None:
    refusal = capability_refusal(bdb_with("graph", "search", "mystery"), CATALOG)
    assert isinstance(refusal, UnsupportedModuleCapabilitiesError)
    assert refusal.modules == ("graph", "mystery")
    assert "graph, mystery" in refusal.description
    assert refusal.code == "unsupported_module_capabilities"


def test_unknown_modules_fail_closed() -> None:
    assert modules_lacking_backup_restore(bdb_with("mystery"), CATALOG) == ("mystery",)


def test_a_free_database_is_not_busy() -> None:
    for action in (Action.START, Action.RESET):
        assert busy_refusal(Bdb(uid=1, name="db"), action) is None


def test_another_action_makes_start_and_reset_busy() -> None:
    bdb = Bdb(uid=1, name="db", action_uid="backup-1")
    for action in (Action.START, Action.RESET):
        refusal = busy_refusal(bdb, action)
        assert isinstance(refusal, BusyError)
        assert refusal.action_uid == "backup-1"
        assert refusal.retryable


def test_a_running_export_makes_start_busy_and_reset_in_progress() -> None:
    bdb = Bdb(uid=1, name="db", export_status=ExportStatus.EXPORTING, action_uid="export-1")
    assert isinstance(busy_refusal(bdb, Action.START), BusyError)
    refusal = busy_refusal(bdb, Action.RESET)
    assert isinstance(refusal, ExportInProgressError)
    assert refusal.code == "export_in_progress"
    assert refusal.retryable
