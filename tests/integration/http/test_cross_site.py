"""The cross-site refusal's rule, request by request (issue 22, finding 9)."""

from __future__ import annotations

import pytest
from starlette.types import Scope

from bdbexport.adapters.http.cross_site import CrossSiteRefusal, normalize_origin


async def _app(scope: Scope, receive: object, send: object) -> None:
    raise AssertionError("not called")


def scope(method: str, **headers: str) -> Scope:
    return {
        "type": "http",
        "method": method,
        "scheme": "https",
        "headers": [
            (name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()
        ],
    }


REFUSAL = CrossSiteRefusal(_app, allowed=["https://console.example"])


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example", "sec_fetch_site": "cross-site"},
        {"sec_fetch_site": "cross-site"},
        {"sec_fetch_site": "Same-Site", "origin": "https://sib.api.example"},
        {"origin": "https://evil.example", "host": "api.example"},
        {"origin": "null", "host": "api.example"},
        {"origin": "http://api.example", "host": "api.example"},  # another scheme
        {"origin": "https://api.example:8443", "host": "api.example"},  # another port
        {"origin": "https://evil.example"},  # no Host at all
    ],
)
def test_a_browser_request_from_elsewhere_is_refused(headers: dict[str, str]) -> None:
    assert REFUSAL.refuses(scope("POST", **headers))


@pytest.mark.parametrize(
    "headers",
    [
        {},  # the CLI, curl, SDKs
        {"sec_fetch_site": "same-origin", "origin": "https://api.example"},
        {"sec_fetch_site": "none"},
        {"origin": "https://API.example:443", "host": "api.example"},
        {"origin": "https://[::1]:9443", "host": "[::1]:9443"},
        {"origin": "https://console.example", "sec_fetch_site": "cross-site"},
    ],
)
def test_the_same_origin_an_allowed_one_and_non_browsers_pass(headers: dict[str, str]) -> None:
    assert not REFUSAL.refuses(scope("POST", **headers))


def test_origins_are_compared_in_one_spelling() -> None:
    assert normalize_origin("HTTPS://Console.Example:443/") == "https://console.example"
    assert normalize_origin("http://h:8080") == "http://h:8080"
    assert normalize_origin("https://[2001:DB8::1]") == "https://[2001:db8::1]"
    for bad in ("console.example", "ftp://h", "https://h/path", "https://u:p@h", "https://h:x"):
        with pytest.raises(ValueError, match="--allowed-origin"):
            normalize_origin(bad)
