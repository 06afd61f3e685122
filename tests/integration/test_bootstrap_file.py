"""The bootstrap document: validated whole, creates what is missing, never overwrites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bdbexport.composition.bootstrap_file import (
    BootstrapError,
    apply_bootstrap,
    parse_bootstrap,
    read_bootstrap_file,
)
from bdbexport.composition.stores import open_store
from bdbexport.domain import ExportStatus
from bdbexport.domain.auth.passwords import hash_password, verify_password

HASH = hash_password("known")


def document(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "users": [
            {"email": "ops@example.com", "password": "s3cret", "role": "admin"},
            {"email": "view@example.com", "password_hash": HASH, "role": "db_viewer"},
        ],
        "modules": [
            {
                "module_name": "search",
                "semantic_version": "2.8.4",
                "capabilities": ["backup_restore"],
            }
        ],
        "bdbs": [
            {"uid": 1, "name": "fresh", "module_list": [{"module_name": "search"}]},
            {
                "uid": 2,
                "name": "broken",
                "export_status": "failed",
                "export_failure_reason": "general-error",
                "export_progress": 12,
            },
            {
                "uid": 3,
                "name": "running",
                "export_status": "exporting",
                "export_progress": 50,
                "action_uid": "a-3",
                "endpoints": [{"addr": ["127.0.0.1"], "port": 12000}],
                "authentication_redis_pass": "data-pass",
            },
        ],
    }
    base.update(overrides)
    return base


def test_a_document_creates_users_modules_and_bdbs_in_any_state(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path / 's.sqlite3'}")
    report = apply_bootstrap(parse_bootstrap(json.dumps(document())), store)
    assert report.created == {
        "users": ["ops@example.com", "view@example.com"],
        "modules": ["search"],
        "bdbs": ["1", "2", "3"],
    }
    ops = store.users.get("ops@example.com")
    assert ops is not None
    assert ops.password_hash != "s3cret"
    assert verify_password("s3cret", ops.password_hash)
    assert store.users.get("view@example.com").password_hash == HASH  # type: ignore[union-attr]
    running = store.bdbs.get(3)
    assert running is not None
    assert running.export_status is ExportStatus.EXPORTING
    assert running.authentication_redis_pass.get_secret_value() == "data-pass"  # type: ignore[union-attr]


def test_loading_again_never_undoes_live_changes(tmp_path: Path) -> None:
    path = tmp_path / "boot.json"
    path.write_text(json.dumps(document()))
    store = open_store(f"sqlite://{tmp_path / 's.sqlite3'}")
    apply_bootstrap(read_bootstrap_file(path), store)
    failed = store.bdbs.get(2)
    assert failed is not None
    idle = failed.model_copy(
        update={"export_status": ExportStatus.IDLE, "export_failure_reason": None, "revision": 1}
    )
    assert store.bdbs.save(idle, expected_revision=0)
    report = apply_bootstrap(read_bootstrap_file(path), store)
    assert report.created == {"users": [], "modules": [], "bdbs": []}
    assert report.kept["bdbs"] == ["1", "2", "3"]
    assert store.bdbs.get(2) == idle


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"bdbs": [{"uid": 0, "name": "zero"}]}, "bdbs[0].uid (uid 0)"),
        ({"bdbs": [{"uid": 5, "name": "x", "export_status": "failed"}]}, "bdbs[0] (uid 5)"),
        ({"bdbs": [{"uid": 5, "name": "x", "export_status": "paused"}]}, "export_status"),
        ({"bdbs": [{"uid": 5, "name": "x"}, {"uid": 5, "name": "y"}]}, "bdbs[1] repeats 5"),
        ({"users": [{"email": "a@example.com", "role": "admin"}]}, "users[0] (email"),
        ({"users": [{"email": "a@example.com", "role": "king", "password": "p"}]}, "role"),
        (
            {"users": [{"email": "a@example.com", "role": "admin", "password_hash": "plain"}]},
            "password_hash",
        ),
        ({"modules": [{"module_name": "m"}]}, "modules[0].semantic_version (module_name 'm')"),
        ({"extra": []}, "extra"),
    ],
)
def test_an_invalid_document_is_refused_naming_the_bad_entry_and_nothing_is_written(
    tmp_path: Path, change: dict[str, Any], named: str
) -> None:
    store = open_store(f"sqlite://{tmp_path / 's.sqlite3'}")
    with pytest.raises(BootstrapError) as refused:
        parse_bootstrap(json.dumps(document(**change)))
    assert named in str(refused.value)
    assert store.is_empty


@pytest.mark.parametrize("text", ["not json", "[]", '{"users": {}}'])
def test_documents_of_the_wrong_shape_are_refused(text: str) -> None:
    with pytest.raises(BootstrapError):
        parse_bootstrap(text)


def test_a_missing_or_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BootstrapError, match="cannot read bootstrap file"):
        read_bootstrap_file(tmp_path / "missing.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BootstrapError, match="not UTF-8"):
        read_bootstrap_file(binary)


def test_a_write_failing_midway_leaves_nothing_half_loaded(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path / 's.sqlite3'}")
    # uid 1 exists with another name: the load keeps it; but a duplicate user email
    # inside one transaction cannot happen (validated), so force a failure at the end:
    doc = parse_bootstrap(json.dumps(document()))
    original_add = store.bdbs.add
    calls = 0

    def failing_add(bdb: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk full")
        original_add(bdb)

    store.bdbs.add = failing_add  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        apply_bootstrap(doc, store)
    store.bdbs.add = original_add  # type: ignore[method-assign]
    assert store.is_empty
    assert list(store.modules.list()) == []


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"backup_interval": 99999999999999999999999}, "backup_interval"),
        ({"backup_interval": 10_000_000_000_000}, "backup_interval"),
        ({"backup_interval_offset": 99999999999999999999999}, "backup_interval_offset"),
        ({"backup_interval": 3600, "backup_interval_offset": 7200}, "below backup_interval"),
    ],
)
def test_backup_settings_out_of_range_are_refused(settings: dict[str, Any], named: str) -> None:
    bdb = {"uid": 7, "name": "scheduled", "backup": True, **settings}
    with pytest.raises(BootstrapError, match=named):
        parse_bootstrap(json.dumps(document(bdbs=[bdb])))
