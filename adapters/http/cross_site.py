"""Cross-site requests to state-changing endpoints are refused (issue 22, finding 9).

A browser attaches cached Basic credentials to a request any page may send: a form
post or `navigator.sendBeacon` (a POST with no body and no `Content-Type`, so no CORS
preflight) to `/v1/bdbs/3/actions/backup` started a backup from `evil.example`. Fetch
Metadata (`Sec-Fetch-Site`) and the `Origin` header say where such a request comes
from; clients that are not browsers (the CLI, curl, SDKs) send neither and are not
affected.

The rule, for every method but GET, HEAD and OPTIONS: a request is refused with 403
`cross_site_request` when its `Origin` is not one of `allowed` (the server's
`--allowed-origin`, repeatable) and either

- `Sec-Fetch-Site` says `cross-site` or `same-site` (a sibling host is another
  origin: a taken-over subdomain must not act for the user), or
- there is no `Sec-Fetch-Site` (an older browser) and `Origin` names another origin
  than the one the request was sent to (its scheme and `Host`); `Origin: null`
  (sandboxed frames, files) is another origin.

`same-origin` and `none` (typed by the user) pass. The refusal leaves as plain ASGI,
with the usual JSON error body, before any route, body or credential is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS = frozenset({"cross-site", "same-site"})
DEFAULT_PORTS = {"http": 80, "https": 443}
REFUSAL = (
    "Cross-site requests may not change anything on this server: the request came from"
    " another origin (Origin / Sec-Fetch-Site). An operator may allow an origin with"
    " `serve --allowed-origin`."
)


def normalize_origin(origin: str) -> str:
    """`scheme://host[:port]` in lower case, the scheme's default port dropped;
    `ValueError` for anything else (a path, credentials, another scheme)."""
    text = origin.strip()
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme.lower() not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
        or port == -1
    ):
        raise ValueError(f"--allowed-origin {origin!r} is not an origin like https://host[:port]")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _normalized_or_none(origin: str) -> str | None:
    try:
        return normalize_origin(origin)
    except ValueError:
        return None


class CrossSiteRefusal:
    def __init__(self, app: ASGIApp, *, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(normalize_origin(origin) for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS and self.refuses(scope):
            await error_response("cross_site_request", REFUSAL)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refuses(self, scope: Scope) -> bool:
        site = origin = host = None
        for name, value in scope["headers"]:
            if name == b"sec-fetch-site":
                site = value.decode("latin-1").strip().lower()
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")
        normalized = None if origin is None else _normalized_or_none(origin)
        if normalized is not None and normalized in self.allowed:
            return False
        if site is not None:
            return site in CROSS
        if origin is None:
            return False  # not a browser, or one that sends neither header
        if normalized is None or host is None:
            return True  # `null` or unreadable: another origin
        own = _normalized_or_none(f"{scope.get('scheme', 'http')}://{host}")
        return normalized != own
