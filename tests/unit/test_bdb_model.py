"""The bdb aggregate refuses records that break its invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from bdbexport.domain import MAX_UID, Bdb, ExportFailureReason, ExportStatus, ModuleRef


def test_defaults_describe_a_fresh_idle_database() -> None:
    bdb = Bdb(uid=1, name="db")
    assert bdb.export_status is ExportStatus.IDLE
    assert bdb.export_progress == 0
    assert bdb.export_failure_reason is None
    assert bdb.action_uid is None
    assert bdb.revision == 0


@pytest.mark.parametrize("uid", [0, -1, MAX_UID + 1])
def test_uid_must_be_a_positive_64_bit_integer(uid: int) -> None:
    with pytest.raises(ValidationError):
        Bdb(uid=uid, name="db")


@pytest.mark.parametrize("progress", [-1, 101])
def test_progress_is_a_percentage(progress: int) -> None:
    with pytest.raises(ValidationError):
        Bdb(uid=1, name="db", export_progress=progress)


def test_failed_requires_a_reason() -> None:
    with pytest.raises(ValidationError, match="export_failure_reason"):
        Bdb(uid=1, name="db", export_status=ExportStatus.FAILED)


def test_a_reason_requires_failed() -> None:
    with pytest.raises(ValidationError, match="export_failure_reason"):
        Bdb(uid=1, name="db", export_failure_reason=ExportFailureReason.GENERAL_ERROR)


def test_exporting_requires_the_exports_action_uid() -> None:
    with pytest.raises(ValidationError, match="action_uid"):
        Bdb(uid=1, name="db", export_status=ExportStatus.EXPORTING)


def test_last_export_time_is_normalised_to_utc_and_must_be_aware() -> None:
    paris = timezone(timedelta(hours=1))
    bdb = Bdb(uid=1, name="db", last_export_time=datetime(2026, 1, 1, 13, 0, tzinfo=paris))
    assert bdb.last_export_time == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert bdb.last_export_time is not None
    assert bdb.last_export_time.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError):
        Bdb(uid=1, name="db", last_export_time=datetime(2026, 1, 1))


def test_wire_form_uses_redis_software_strings_and_hides_the_revision() -> None:
    bdb = Bdb(
        uid=7,
        name="db",
        module_list=(ModuleRef(module_name="search"),),
        export_status=ExportStatus.FAILED,
        export_failure_reason=ExportFailureReason.NO_PERMISSION,
        revision=3,
    )
    wire = bdb.to_wire()
    assert wire["export_status"] == "failed"
    assert wire["export_failure_reason"] == "no-permission"
    assert wire["module_list"][0]["module_name"] == "search"
    assert "revision" not in wire
    assert bdb.module_names == ("search",)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        Bdb.model_validate({"uid": 1, "name": "db", "exprot_status": "idle"})


def test_bdbs_are_immutable() -> None:
    bdb = Bdb(uid=1, name="db")
    with pytest.raises(ValidationError):
        bdb.name = "other"  # type: ignore[misc]


def test_catalog_capabilities_accept_any_collection_and_compare_as_sets() -> None:
    from bdbexport.domain import CatalogModule

    as_list = CatalogModule(module_name="m", semantic_version="1", capabilities=["a", "b", "a"])
    as_set = CatalogModule(
        module_name="m", semantic_version="1", capabilities=frozenset({"b", "a"})
    )
    assert as_list == as_set
    assert not as_list.supports_backup_restore


def test_a_move_equals_a_validated_copy() -> None:
    from bdbexport.domain import EXPORT, ExportStatus, moves

    bdb = Bdb(uid=1, name="db", export_status="failed", export_failure_reason="general-error")
    changes = {"export_status": ExportStatus.IDLE, "export_failure_reason": None}
    evolved = moves.reset(EXPORT, bdb)
    assert evolved is not None
    assert Bdb.model_validate(evolved.model_dump()) == evolved
    assert evolved.model_fields_set >= set(changes)
    assert bdb.export_status is ExportStatus.FAILED  # the original is untouched
