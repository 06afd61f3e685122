"""Error codes are stable, unique, and carry no transport detail."""

from __future__ import annotations

import inspect

from bdbexport.domain import errors

ERROR_TYPES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.DomainError) and cls is not errors.DomainError
]


def test_every_error_has_its_own_code() -> None:
    codes = [cls.code for cls in ERROR_TYPES]
    assert len(codes) == len(set(codes))


def test_codes_are_the_published_vocabulary() -> None:
    assert {cls.code for cls in ERROR_TYPES} == {
        "unauthenticated",
        "forbidden",
        "db_not_exist",
        "action_not_exist",
        "no_backup_location",
        "unsupported_module_capabilities",
        "busy",
        "action_in_progress",
        "export_in_progress",
        "import_in_progress",
        "backup_in_progress",
        "invalid_transition",
        "lease_not_expired",
        "invalid_failure_reason",
        "invalid_progress",
        "action_mismatch",
        "concurrent_update",
        "db_already_exists",
        "user_already_exists",
        "account_locked",
        "too_many_attempts",
        "store_unavailable",
        "incompatible_store",
        "export_path_not_allowed",
        "egress_not_allowed",
        "unsupported_location_type",
    }


def test_only_temporary_conditions_are_retryable() -> None:
    retryable = {cls.code for cls in ERROR_TYPES if cls.retryable}
    assert retryable == {
        "busy",
        "action_in_progress",
        "export_in_progress",
        "import_in_progress",
        "backup_in_progress",
        "concurrent_update",
        "too_many_attempts",
        "store_unavailable",
    }


def test_errors_render_as_redis_software_error_objects() -> None:
    error = errors.BdbNotFoundError(42)
    assert error.as_dict() == {
        "error_code": "db_not_exist",
        "description": "Database 42 does not exist.",
    }
    assert repr(error) == "BdbNotFoundError('Database 42 does not exist.')"
    assert str(error) == error.description
