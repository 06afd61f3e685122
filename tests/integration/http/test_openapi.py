"""The OpenAPI document: valid, complete, and true of the app (schemathesis fuzzes it)."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import CheckFunction
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from bdbexport.adapters.http.errors import STATUS_OF_CODE
from bdbexport.adapters.http.operations import OPERATIONS
from tests.support.http import ADMIN, make_http_world

pytestmark = pytest.mark.anyio


async def fetch_document() -> dict[str, Any]:
    async with make_http_world().client() as client:
        response = await client.get("/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_the_document_is_valid_openapi_3_1() -> None:
    document = await fetch_document()
    assert document["openapi"] == "3.1.0"
    validate(document)


async def test_every_route_and_status_is_documented() -> None:
    paths = (await fetch_document())["paths"]
    for operation in OPERATIONS:
        documented = paths[operation.path][operation.method.lower()]
        statuses = set(documented["responses"])
        assert {"200", "400", "401", "413", "500"} <= statuses
        if operation.permission is not None:
            assert "403" in statuses
            assert operation.permission in documented["description"]
    reset = paths["/v1/bdbs/{uid}/actions/export_reset_status"]["put"]["responses"]
    assert {"404", "406", "409"} <= set(reset)
    assert "Retry-After" in reset["409"]["headers"]
    for status, body in reset.items():
        if status != "200":
            assert body["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")


async def test_every_error_code_has_a_status_and_is_listed() -> None:
    description = (await fetch_document())["info"]["description"]
    for code in STATUS_OF_CODE:
        assert code in description


# --- property-based fuzzing of the app against its own document ---------------------------

SCHEMA = schemathesis.openapi.from_asgi("/v1/openapi.json", make_http_world().app)
FUZZ = settings(
    max_examples=int(os.environ.get("BDBEXPORT_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("BDBEXPORT_FUZZ_RANDOM") is None,
)


STATE_REFUSALS = frozenset({"no_backup_location"})
"""400s that depend on the bdb, not on the request's shape: a backup of a bdb with no
`backup_location` (demo db 2) is refused whatever valid body is sent, by the real call
and, since it runs the same pre-checks, by its dry run. Every other check still runs."""


def bodiless_dry_run(case: schemathesis.Case[Any]) -> bool:
    """A start's `?dry_run=true` without a body: documented (the `dry_run` parameter) as
    asking permission and rules only, so a body the real call requires may be left out."""
    asked = str((case.query or {}).get("dry_run", "")).lower() in {"true", "1"}
    start = case.path.rsplit("/", 1)[-1] in {"export", "import", "backup"}
    return case.method == "POST" and start and asked and case.body is NOT_SET


@SCHEMA.parametrize()
@FUZZ
def test_fuzz_with_valid_credentials_finds_no_contract_breach(case: schemathesis.Case[Any]) -> None:
    response = case.call(headers=ADMIN)
    refused_by_state = (
        response.status_code == 400 and response.json().get("error_code") in STATE_REFUSALS
    )
    excluded: list[CheckFunction] = [positive_data_acceptance] if refused_by_state else []
    if bodiless_dry_run(case):
        assert response.json().get("dry_run") is True, (case.as_curl_command(), response.text)
        excluded.append(negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)


@SCHEMA.parametrize()
@FUZZ
def test_fuzz_without_credentials_finds_no_contract_breach(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate(headers={"Authorization": ""})
    assert response.status_code in {400, 401, 404, 405, 413}
    assert response.headers["content-type"][0] == "application/json"


async def test_the_fuzzer_reads_the_document_the_app_serves() -> None:
    """The fuzz tests above judge the app against the schema schemathesis loaded: it
    must be the very document a client reads over HTTP, not a copy made elsewhere."""
    transport = httpx.ASGITransport(app=make_http_world().app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert SCHEMA.raw_schema == response.json()
