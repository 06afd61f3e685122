"""Request ids and a structured access log, as one pure ASGI middleware.

uvicorn's own access log costs a large share of a small request's time; this one
formats a single JSON line per request with one `write` call and no logging framework
(when to flush is the sink's business: the composition root gives it a sink that
flushes a few times a second). Request ids are a per-process random prefix and a
counter, unique without a random draw per request. It never records headers, bodies
or query strings, so no password, token or Authorization value can reach it; it does
record who the request authenticated as (`principal`) and the client address.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
PRINCIPAL_KEY = "bdbexport.principal"
REQUEST_ID_KEY = "bdbexport.request_id"


class LineSink(Protocol):
    def write(self, line: str, /) -> Any: ...


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, *, sink: LineSink | None) -> None:
        self.app = app
        self.sink = sink
        self._prefix = secrets.token_hex(6) + "-"
        self._counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope) or f"{self._prefix}{next(self._counter):x}"
        scope[REQUEST_ID_KEY] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.sink is not None:
                self._write(scope, request_id, status, started)

    def _write(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        assert self.sink is not None
        principal = scope.get(PRINCIPAL_KEY)
        client = scope.get("client")
        self.sink.write(
            f'{{"time":"{datetime.now(UTC).isoformat(timespec="milliseconds")}",'
            f'"request_id":{_json_string(request_id)},"method":"{scope["method"]}",'
            f'"path":{_json_string(scope["path"])},"status":{status},'
            f'"duration_ms":{(time.perf_counter() - started) * 1000:.3f},'
            f'"principal":{"null" if principal is None else _json_string(principal)},'
            f'"client":{"null" if not client else _json_string(str(client[0]))}}}\n'
        )


def _request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _SAFE_ID.match(value):
            return str(value.decode("ascii"))
    return None
