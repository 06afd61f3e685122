"""`GET /dashboard`: the operators' page, three static files shipped in the package.

The page holds no secret and needs none to load: it signs in with the API's own
`POST /v1/users/authorize`, keeps the JWT in the tab's `sessionStorage`, and calls
the same endpoints as any client with it. What a button may do is asked of the rules
engine through `?dry_run=true`, so the page and the API can never disagree.
The files are read once, at app creation, from the installed package (package data).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DASHBOARD_PATH = "/dashboard"

_FILES = {
    DASHBOARD_PATH: ("index.html", "text/html; charset=utf-8"),
    f"{DASHBOARD_PATH}/app.js": ("app.js", "text/javascript; charset=utf-8"),
    f"{DASHBOARD_PATH}/style.css": ("style.css", "text/css; charset=utf-8"),
}

SECURITY_HEADERS = {
    # Only our own script and style, no inline code, no framing, no form posts away:
    # a script injected through a bdb's name would not run.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
        " img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def dashboard_routes() -> list[Route]:
    folder = resources.files(__package__ or "bdbexport.adapters.http") / "dashboard"
    routes: list[Route] = []
    for path, (name, media_type) in _FILES.items():
        content = (folder / name).read_bytes()
        routes.append(
            Route(path, _static(content, media_type), methods=["GET"], name=f"dashboard:{name}")
        )
    return routes


def _static(content: bytes, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return Response(content, media_type=media_type, headers=SECURITY_HEADERS)

    return endpoint
