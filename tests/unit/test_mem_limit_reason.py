"""`import_failure_reason` carries the numbers as Redis Software reports it:
`file-larger-than-mem-limit:<n bytes of expected dataset>:<n bytes configured bdb
limit>` (issue 22, item 4) — on the bdb, through the import lifecycle, in stored
documents and in the OpenAPI schema; every other reason is unchanged, and the bare
word, as stored before, still loads."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bdbexport.domain import ActionKind, Bdb, DomainError, ImportFailureReason, MemLimitReason
from bdbexport.domain.statuses import MEM_LIMIT_PATTERN
from tests.unit.test_action_records import LOCATION, MEMBER, Services

sizes = st.integers(min_value=0, max_value=2**63)


@given(size=sizes, limit=sizes)
def test_the_reason_is_the_word_and_both_numbers(size: int, limit: int) -> None:
    reason = MemLimitReason.of(size, limit)
    assert reason == f"file-larger-than-mem-limit:{size}:{limit}"
    assert isinstance(reason, MemLimitReason)
    assert (reason.size, reason.limit) == (size, limit)
    assert MemLimitReason(str(reason)) == reason
    assert re.fullmatch(MEM_LIMIT_PATTERN, str(reason))
    bdb = Bdb(uid=1, name="one", import_status="failed", import_failure_reason=str(reason))
    assert isinstance(bdb.import_failure_reason, MemLimitReason)
    again = Bdb.model_validate_json(bdb.model_dump_json())
    assert again.import_failure_reason == reason
    assert isinstance(again.import_failure_reason, MemLimitReason)
    assert json.loads(bdb.model_dump_json())["import_failure_reason"] == str(reason)


@pytest.mark.parametrize(
    "value",
    [
        "file-larger-than-mem-limit:",
        "file-larger-than-mem-limit:1",
        "file-larger-than-mem-limit:1:",
        "file-larger-than-mem-limit:-1:2",
        "file-larger-than-mem-limit:1:2:3",
        "file-larger-than-mem-limit:1:2 ",
        "file-larger-than-mem-limit:a:b",
        "general-error:1:2",
        "cancelled",
    ],
)
def test_anything_else_is_still_refused(value: str) -> None:
    with pytest.raises(ValueError, match="is not a valid ImportFailureReason"):
        ImportFailureReason(value)
    with pytest.raises(ValueError, match="is not a valid ImportFailureReason"):
        MemLimitReason(value)
    with pytest.raises(ValidationError):
        Bdb(uid=1, name="one", import_status="failed", import_failure_reason=value)


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        MemLimitReason.of(-1, 2)


def test_every_other_reason_and_the_bare_word_are_unchanged() -> None:
    assert [reason.value for reason in ImportFailureReason] == [
        "no-permission",
        "wrong-file-path",
        "download-error",
        "file-corrupted",
        "general-error",
        "file-larger-than-mem-limit",
        "key-too-long",
        "invalid-bulk-length",
        "out-of-memory",
    ]
    stored = Bdb(uid=1, name="one").model_dump(mode="json")
    stored.update(import_status="failed", import_failure_reason="file-larger-than-mem-limit")
    loaded = Bdb.model_validate_json(json.dumps(stored))
    assert loaded.import_failure_reason is ImportFailureReason.FILE_LARGER_THAN_MEM_LIMIT


def test_an_import_fails_with_the_numbers_through_its_lifecycle() -> None:
    services = Services()
    started = services.sync.start_action(MEMBER, 2, LOCATION, ActionKind.IMPORT)
    assert started.action_uid is not None
    reason = MemLimitReason.of(3145728, 1048576)
    failed = services.sync.record_failure(
        2, started.action_uid, reason, "the file has at least 3145728 bytes", ActionKind.IMPORT
    )
    assert failed.import_failure_reason == "file-larger-than-mem-limit:3145728:1048576"
    assert isinstance(failed.import_failure_reason, MemLimitReason)
    record = services.records.get(started.action_uid)
    assert record is not None
    assert record.error is not None
    assert record.error.startswith("file-larger-than-mem-limit:3145728:1048576: ")


def test_exports_do_not_take_it() -> None:
    """Only the import vocabulary has it: an export reporting it is refused."""
    services = Services()
    started = services.sync.start_export(MEMBER, 1, LOCATION)
    assert started.action_uid is not None
    with pytest.raises(DomainError) as refused:
        services.sync.record_failure(1, started.action_uid, "file-larger-than-mem-limit:1:2")
    assert refused.value.code == "invalid_failure_reason"


def test_the_schema_documents_the_numbered_form() -> None:
    schema = Bdb.model_json_schema()
    field = schema["properties"]["import_failure_reason"]["anyOf"]
    words = schema["$defs"]["ImportFailureReason"]
    assert "file-larger-than-mem-limit" in words["enum"]
    assert {"type": "string", "pattern": MEM_LIMIT_PATTERN} in field
