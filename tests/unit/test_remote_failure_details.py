"""Provider failures as Redis's reasons, with a detail that names the provider's answer
and nothing a secret could ride in."""

from __future__ import annotations

import pytest

from bdbexport.adapters.object_stores.failures import Kind, classify, http_answer
from bdbexport.domain.errors import EgressNotAllowedError

SAS_URL = "https://acct.blob.core.windows.net/c/x?sv=2024&sig=SECRETSIG"


class PermissionDeniedError(Exception):
    """Named as obstore names its refusal."""


@pytest.mark.parametrize(
    ("error", "kind", "detail"),
    [
        (
            PermissionDeniedError(
                f"Error performing PUT {SAS_URL} - Server returned non-2xx status code:"
                " 403 Forbidden: <Error><Code>AuthorizationFailure</Code></Error>"
            ),
            Kind.PERMISSION,
            "Azure answered HTTP 403 AuthorizationFailure",
        ),
        (
            FileNotFoundError(
                f"Object not found: PUT {SAS_URL} status code: 404 Not Found:"
                " <Code>ContainerNotFound</Code>"
            ),
            Kind.PATH,
            "Azure answered HTTP 404 ContainerNotFound",
        ),
        (EgressNotAllowedError(), Kind.PERMISSION, "Azure: the egress policy refuses"),
        (ConnectionRefusedError(111, "refused"), Kind.TRANSFER, "Azure: could not connect"),
        (OSError(113, "No route to host"), Kind.TRANSFER, "Azure: could not connect"),
        (ModuleNotFoundError("obstore"), Kind.GENERAL, "install bdbexport[cloud]"),
    ],
)
def test_a_failure_is_classified_and_its_detail_carries_no_url(
    error: BaseException, kind: Kind, detail: str
) -> None:
    failure = classify("Azure", error)
    assert failure.kind is kind
    assert detail in failure.detail
    assert "SECRETSIG" not in failure.detail
    assert "blob.core" not in failure.detail


def test_refused_and_unreachable_read_the_same() -> None:
    refused = classify("S3", ConnectionRefusedError(111, "Connection refused"))
    unreachable = classify("S3", OSError(113, "No route to host"))
    assert refused == unreachable


def test_the_answer_is_only_status_and_code() -> None:
    assert http_answer("status code: 503 Slow Down <Code>SlowDown</Code> x") == "HTTP 503 SlowDown"
    assert http_answer("no answer at all") == ""
