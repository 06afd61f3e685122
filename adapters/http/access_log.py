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
        self._clock = AccessTime()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.request_id_for(scope)
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
            self.record(scope, request_id, status, time.perf_counter() - started)

    def request_id_for(self, scope: Scope) -> str:
        """The client's id when it is safe to echo, else ours; noted in the scope."""
        request_id = _request_id(scope) or f"{self._prefix}{next(self._counter):x}"
        scope[REQUEST_ID_KEY] = request_id
        return request_id

    def record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        """One access line (nothing without a sink); `RequestPipeline` calls it too."""
        if self.sink is None:
            return
        principal = scope.get(PRINCIPAL_KEY)
        client = scope.get("client")
        self.sink.write(
            f'{{"time":"{self._clock.now()}",'
            f'"request_id":{_json_string(request_id)},"method":"{scope["method"]}",'
            f'"path":{_json_string(scope["path"])},"status":{status},'
            f'"duration_ms":{seconds * 1000:.3f},'
            f'"principal":{"null" if principal is None else _json_string(principal)},'
            f'"client":{"null" if not client else _json_string(str(client[0]))}}}\n'
        )


class AccessTime:
    """The access line's time, as `datetime.now(UTC).isoformat(timespec="milliseconds")`
    writes it (`2026-11-29T05:30:01.123+00:00`), without a datetime a request: the date
    and time of day are formatted once a second, the milliseconds appended."""

    def __init__(self) -> None:
        self._second = -1
        self._date_time = ""

    def now(self) -> str:
        return self.at(time.time_ns())

    def at(self, nanoseconds: int) -> str:
        """The time `nanoseconds` after the epoch, truncated to the millisecond (as
        `datetime.now` truncates to the microsecond)."""
        second, rest = divmod(nanoseconds, 1_000_000_000)
        if second != self._second:
            self._date_time = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._date_time}.{rest // 1_000_000:03d}+00:00"


def _request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _SAFE_ID.match(value):
            return str(value.decode("ascii"))
    return None
