"""What every endpoint needs, handed over by the app factory, and the helpers that read
a request the same way everywhere (credentials, uid, JSON body)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.async_service import AsyncActionService
from bdbexport.domain.bdb import MAX_UID, Bdb
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.principal import Principal
from bdbexport.domain.work_queue import WorkQueue

from .access_log import PRINCIPAL_KEY, REQUEST_ID_KEY
from .authentication import Authenticator, Caller
from .errors import ProtocolError


class LaunchAction(Protocol):
    """Hands any started action to this replica's runner: the bdb its start returned,
    where to (an import: where from), whether to announce its end, which member, and
    (imports) whether to replace the data."""

    def __call__(
        self,
        bdb: Bdb,
        location: ExportLocation,
        notify: bool = False,
        *,
        kind: ActionKind = ActionKind.EXPORT,
        flush: bool = False,
    ) -> None: ...


@dataclass(frozen=True)
class HttpContext:
    service: AsyncActionService
    """The use cases, awaited: a slow store delays only the requests that need it."""
    authenticator: Authenticator
    launch: LaunchAction
    """Hands every started action (export, import, backup) to this replica's runner."""
    check_location: Callable[[ExportLocation, ActionKind], Awaitable[None]] = (
        lambda location, kind: _nothing()
    )
    """Refuses a location before the action starts (a `DomainError`: a type the
    server's exporter or importer cannot serve, a path outside the export roots, a
    destination or source the egress policy refuses): `Application.check_location`.
    Awaited: resolving a path or a host name can block (a hung mount), so the
    composition root runs it off the loop (composition/http_app.py)."""
    work_queue: WorkQueue | None = None
    """The queue workers apart from the API claim from (`GET /v1/workers` reads it);
    None when this server runs its actions in-process."""
    permits: Callable[[Principal, str], bool] | None = None
    """The permission policy the use cases apply (`PermissionPolicy.permits`): with it,
    a role lacking an action's permission is 403 before its body is read or a location
    judged (None: the starts ask the rules engine's `permitted` check instead)."""


async def _nothing() -> None:
    return None


CONTEXT_KEY = "bdbexport"
"""Where the app factory puts the context: `app.state.bdbexport`."""


def context_of(request: Request) -> HttpContext:
    # By key, not as an attribute: `State` answers attributes from `__getattr__`, only
    # after the ordinary lookup failed and built an AttributeError (each request).
    context: HttpContext = request.scope["app"].state[CONTEXT_KEY]
    return context


def caller_of(request: Request) -> Caller:
    """The client address (as the server's socket saw it) and the request id."""
    client = request.scope.get("client")
    return Caller(
        address=str(client[0]) if client else "unknown",
        request_id=request.scope.get(REQUEST_ID_KEY),
    )


PROVEN_KEY = "bdbexport.proven"
"""The principal a request already proved (`permission_first` asks before the endpoint)."""


async def principal_of(request: Request, context: HttpContext | None = None) -> Principal | None:
    """Who the request proves to be (None: no credentials); `context` when the caller
    already holds it."""
    if PROVEN_KEY in request.scope:
        proven: Principal | None = request.scope[PROVEN_KEY]
        return proven
    context = context_of(request) if context is None else context
    principal = await context.authenticator.authenticate(
        _authorization(request.scope["headers"]), caller_of(request)
    )
    request.scope[PROVEN_KEY] = principal
    if principal is not None:
        request.scope[PRINCIPAL_KEY] = principal.name
    return principal


def _authorization(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The first Authorization value, as `request.headers.get` reads it (latin-1),
    without building the header mapping."""
    for name, value in headers:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


def parse_uid(raw: str) -> int:
    """The uid a path segment names, or 0 (names no database) when it is not one.

    Only plain decimal digits count: `1.5`, `+1`, ` 1` or a number beyond 64 bits name
    nothing, and the domain answers `db_not_exist` after its permission check.
    """
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return 0
    uid = int(raw)
    return uid if 1 <= uid <= MAX_UID else 0


MAX_JSON_DEPTH = 32
"""Deeper than any body this API reads; a deeper one is refused before it is walked."""


async def json_object_body(request: Request, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object; `{}` for no body when not `required`.

    Hostile bodies end in 400 `invalid_schema`, never a 500: nesting deeper than
    `MAX_JSON_DEPTH` is refused before parsing (a 60 KB run of `[` would otherwise
    exhaust the parser's recursion), and a string that is not valid Unicode (a lone
    surrogate escape such as `"\\ud800"`) after it, before any code encodes it.
    """
    content_type, announced = body_headers(request.scope["headers"])
    if content_type is not None:
        media = content_type.decode("latin-1").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            # Also for an empty body: a page on another origin can make a browser POST
            # a form (form-urlencoded, multipart, text/plain) with the Basic credentials
            # it holds for this server; JSON is what no such form can send (CSRF).
            raise ProtocolError(
                "invalid_header",
                "Content-Type must be application/json (or send no Content-Type with no body).",
            )
    if not announced:
        body = b""  # none announced, or `Content-Length: 0`: nothing to read (the reset)
    else:
        try:
            body = await request.body()
        except ClientDisconnect:
            # Nobody is left to answer; what the access log and metrics record is a
            # client's fault (4xx), not a server error that could trip a 5xx alert.
            raise ProtocolError(
                "client_disconnected", "The client closed the connection mid-body."
            ) from None
    if not body.strip():
        if required:
            raise ProtocolError("invalid_schema", "A JSON object body is required.")
        return {}
    if _nesting_exceeds(body, MAX_JSON_DEPTH):
        raise ProtocolError(
            "invalid_schema", f"The body nests deeper than {MAX_JSON_DEPTH} levels."
        )
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ProtocolError("invalid_schema", f"The body is not valid JSON: {error}.") from None
    except (ValueError, RecursionError):
        # An integer past Python's 4300-digit conversion limit: the decoder raises a
        # plain ValueError as it parses (a client's mistake, never a 500).
        raise ProtocolError("invalid_schema", "The body holds a number too long to read.") from None
    if not isinstance(document, dict):
        raise ProtocolError("invalid_schema", "The body must be a JSON object.")
    if not _valid_unicode(document):
        raise ProtocolError("invalid_schema", "The body holds a string that is not valid Unicode.")
    return document


def body_headers(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, bool]:
    """The first Content-Type, and whether a body is announced (a `Transfer-Encoding`
    or a `Content-Length` other than 0), from the raw headers in one pass: a bodiless
    request builds no header mapping and reads nothing."""
    content_type: bytes | None = None
    announced = False
    for name, value in headers:
        if name == b"content-type":
            if content_type is None:
                content_type = value
        elif name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            announced = True
    return content_type, announced


def _nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether brackets nest deeper than `limit`, counted outside strings, in one pass."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot be deeper than it has brackets: the usual small body
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _valid_unicode(document: object) -> bool:
    """Every key and string in the (already depth-bounded) document encodes as UTF-8."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True
