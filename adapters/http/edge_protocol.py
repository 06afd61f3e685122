"""The HTTP edge: uvicorn's own protocol classes with limits, a deadline and our JSON.

uvicorn parses requests before the app sees them and answers what it cannot parse
itself, as `400 text/plain`; it has no limit on the request line or the headers and
no deadline for them. These subclasses (of the httptools implementation, and of h11's
for installations without httptools) add, without parsing HTTP themselves:

- a header size limit: the bytes received while a request's headers are incomplete
  are counted as they arrive (before the parser buffers them), and the request line
  and headers the parser reports are counted exactly; past `max_header_bytes` the
  answer is 431 (414 for a request line alone over `max_request_line`), at most one
  read (64 KiB) after the limit, never after buffering a huge header. That holds for a
  pipelined request too, whose head arrives while the previous one is in flight: its
  bytes are counted from the end of that previous request, and past the limit reading
  stops until the previous answer is written, then the 431 follows it;
- a header deadline: a request's headers must be complete `header_timeout` seconds
  after the connection opened or the previous response ended (slowloris); then the
  answer is 408 and the connection closes (an idle connection just closes);
- a body deadline: a request's body must be complete `body_timeout` seconds after its
  headers (a slow upload, a chunked body that never ends, a body shorter than its
  Content-Length); then the answer is 408 and the connection closes;
- a cap on the connections one client address holds open at once
  (`max_connections_per_address`): one more is answered 429 and closed at once, so one
  address cannot use up the server's file descriptors;
- our error JSON (`{"error_code", "description"}`) for every refusal of the parser:
  an unknown method, a bad or duplicate Content-Length, a malformed request line, an
  HTTP version other than 1.0 and 1.1 (505);
- for each refusal what the app gives every response: a `Date`, a generated
  `X-Request-Id`, one access-log line (`AccessLogMiddleware.record`) and a count in
  the metrics (`bdbexport_http_edge_refusals_total{status}`).

A parser refusal that follows a complete request on the same connection (a pipelined
request, then garbage) waits until that request's response is written: the client gets
both answers, in order.

The deadlines cost a request two clock readings, not two timers: a connection notes
when it started waiting (for headers, for a body), and ONE sweep per server
(`DeadlineSweep`) looks at the open connections a few times a second and answers those
past a deadline. A deadline is thus enforced within one sweep interval of its expiry
(`sweep_interval`: a tenth of the smaller timeout, between 10 ms and 0.5 s), never
before it. The sweep's timer runs only while connections are open.

A refused connection is closed the way production servers do it: the answer is
written, the sending side shut, and what the client still sends is read and dropped
for a moment (at most `LINGER_SECONDS` or `LINGER_BYTES`), so the client reads the
answer instead of a connection reset.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any, cast

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .access_log import AccessLogMiddleware, LineSink
from .coalesced_writes import CoalescedWrites
from .errors import status_of

DEFAULT_MAX_HEADER_BYTES = 16 * 1024
"""The request line and all headers together, as most production servers bound them."""
DEFAULT_MAX_REQUEST_LINE = 8 * 1024
DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's headers (from connect, or the last response)."""
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a client has to send a request's whole body, from the end of its headers."""
DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 128
"""Connections one client address may hold open at once (0: no cap)."""
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024
CAP_LINGER_SECONDS = 0.2
"""A connection over the per-address cap lingers less: while it lingers it holds the
very file descriptor the cap protects (its client has sent at most one request)."""
MAX_SWEEP_INTERVAL = 0.5
"""The coarsest granularity of the deadlines (the default timeouts are 10 s and 30 s)."""
MIN_SWEEP_INTERVAL = 0.01
SUPPORTED_VERSIONS = frozenset({"1.0", "1.1"})
_PLAIN_METHOD = re.compile(r"^[A-Z]{1,16}$")

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    414: b"URI Too Long",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    505: b"HTTP Version Not Supported",
}


class EdgeRefusalError(Exception):
    """A request refused at the edge: an error code of the one table, and why."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def refusal_bytes(
    code: str,
    description: str,
    *,
    request_id: str | None = None,
    date: bytes | None = None,
) -> bytes:
    """A whole HTTP/1.1 response carrying our error JSON, closing the connection."""
    status = status_of(code)
    body = json.dumps({"error_code": code, "description": description}).encode("ascii")
    reason = _REASONS.get(status, b"Error")
    extra = b""
    if status == 429:
        extra += b"retry-after: 1\r\n"
    if request_id is not None:
        extra += b"x-request-id: %s\r\n" % request_id.encode("ascii")
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            b"date: %s\r\n" % (date or formatdate(usegmt=True).encode("ascii")),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            extra,
            b"connection: close\r\n\r\n",
            body,
        )
    )


async def _no_app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
    """The edge's access log records refusals only; it wraps no app."""
    raise RuntimeError("the edge's access log wraps no app")


class EdgeObservers:
    """Where the edge's refusals are told: request ids and access lines (the app's
    own `AccessLogMiddleware` format), and a metrics counter by status. One per server,
    shared by all its connections."""

    def __init__(
        self,
        access_log: LineSink | None = None,
        count_refusal: Callable[[int], None] | None = None,
    ) -> None:
        self._log = AccessLogMiddleware(_no_app, sink=access_log)
        self._count = count_refusal

    def refused(self, scope: dict[str, Any], status: int, seconds: float) -> str:
        """Record one refusal; returns the request id its response carries."""
        request_id = self._log.request_id_for(scope)
        self._log.record(scope, request_id, status, seconds)
        if self._count is not None:
            self._count(status)
        return request_id


class AddressCounter:
    """Open connections by client address, for the per-address cap (one per server)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def admit(self, address: str) -> bool:
        held = self._open.get(address, 0)
        if self.limit and held >= self.limit:
            return False
        self._open[address] = held + 1
        return True

    def release(self, address: str) -> None:
        held = self._open.get(address, 0) - 1
        if held > 0:
            self._open[address] = held
        else:
            self._open.pop(address, None)


def sweep_interval(header_timeout: float, body_timeout: float) -> float:
    """How often the sweep looks: a tenth of the smaller timeout, so a deadline is
    missed by at most a tenth of itself, bounded to [10 ms, 0.5 s]."""
    tenth = min(header_timeout, body_timeout) / 10
    return max(MIN_SWEEP_INTERVAL, min(MAX_SWEEP_INTERVAL, tenth))


class DeadlineSweep:
    """The one timer of a server's deadlines (one per server, shared by its connections).

    A timer per request (two `call_later` handles made and cancelled for every request)
    cost more than the limits themselves; here a connection only notes when it started
    waiting, and this sweep, ticking every `interval` seconds while any connection is
    open, asks each one to act on what is overdue."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._watched: set[_Edge] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        """Whether the sweep's timer is running (only while connections are open)."""
        return self._timer is not None

    def watch(self, connection: _Edge, loop: asyncio.AbstractEventLoop) -> None:
        self._watched.add(connection)
        if self._timer is None:
            self._loop = loop
            self._timer = loop.call_later(self.interval, self._tick)

    def forget(self, connection: _Edge) -> None:
        self._watched.discard(connection)
        if not self._watched and self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._loop = None

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        # Rescheduled first: whatever one connection does, the others keep their deadlines.
        self._timer = loop.call_later(self.interval, self._tick)
        now = time.perf_counter()
        for connection in tuple(self._watched):  # a refusal may forget a connection
            try:
                connection.enforce_deadlines(now)
            except Exception as error:  # reported; the other connections are still swept
                loop.call_exception_handler(
                    {"message": "the edge's deadline sweep failed", "exception": error}
                )


UNPARSABLE = EdgeRefusalError("invalid_request", "The request could not be parsed.")
NO_UPGRADES = EdgeRefusalError("invalid_request", "Protocol upgrades are not supported.")


def _version_refusal(version: str) -> EdgeRefusalError:
    return EdgeRefusalError(
        "http_version_not_supported",
        f"HTTP/{version} is not supported; send HTTP/1.1 (or HTTP/1.0).",
    )


class _Edge:
    """What both protocol classes share: counting, the deadlines and the refusal."""

    max_header_bytes = DEFAULT_MAX_HEADER_BYTES
    max_request_line = DEFAULT_MAX_REQUEST_LINE
    header_timeout = DEFAULT_HEADER_TIMEOUT
    body_timeout = DEFAULT_BODY_TIMEOUT
    observers = EdgeObservers()
    addresses = AddressCounter(0)
    sweep = DeadlineSweep(sweep_interval(DEFAULT_HEADER_TIMEOUT, DEFAULT_BODY_TIMEOUT))

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    client: tuple[str, int] | None
    server_state: Any

    _awaiting_headers = True
    _received = 0
    _head_size = 0
    _url_size = 0
    _refused = False
    _lingered = 0
    _admitted: str | None = None
    _started = 0.0
    """When the wait for headers began (`time.perf_counter`): the header deadline is
    `header_timeout` later, while `_awaiting_headers`."""
    _body_due = math.inf
    """When the body of the request in flight must be complete (inf: no body awaited)."""
    _pending: EdgeRefusalError | None = None
    _writes: CoalescedWrites

    def _admit(self) -> bool:
        """Count this connection against its address; False (and a 429) past the cap."""
        address = self.client[0] if self.client else ""
        if not self.addresses.admit(address):
            self._refuse(
                EdgeRefusalError(
                    "too_many_connections",
                    f"This address already holds {self.addresses.limit} connections.",
                ),
                linger=CAP_LINGER_SECONDS,
            )
            return False
        self._admitted = address
        self.sweep.watch(self, self.loop)
        return True

    def _release(self) -> None:
        self.sweep.forget(self)
        if self._admitted is not None:
            self.addresses.release(self._admitted)
            self._admitted = None

    def _await_headers(self) -> None:
        """Start the header deadline. `_received` is not reset here but when headers
        arrive: bytes of a pipelined head, received before this, are counted."""
        self._awaiting_headers = True
        self._started = time.perf_counter()

    def enforce_deadlines(self, now: float) -> None:
        """The sweep's question: act on the deadlines past `now`, the earlier first."""
        header_due = self._started + self.header_timeout if self._awaiting_headers else math.inf
        body_due = self._body_due
        if body_due <= header_due:
            if now >= body_due:
                self._body_late()
            if now >= header_due:
                self._headers_late()
        else:
            if now >= header_due:
                self._headers_late()
            if now >= body_due:
                self._body_late()

    def _body_late(self) -> None:
        self._body_due = math.inf
        if self.transport.is_closing() or self._refused:
            return
        if self._response_started():
            # The app answered without reading the whole body: nothing to refuse, and
            # nothing more worth waiting for on this connection.
            self._stop_keeping_alive()
            return
        self._refuse(
            EdgeRefusalError(
                "request_timeout",
                f"The request body did not arrive within {self.body_timeout:g} seconds.",
            )
        )

    def _headers_late(self) -> None:
        if not self._awaiting_headers or self.transport.is_closing() or self._refused:
            return
        if self._received == 0:
            self.transport.close()  # idle: nothing to answer
            return
        self._refuse(
            EdgeRefusalError(
                "request_timeout",
                f"The request headers did not arrive within {self.header_timeout:g} seconds.",
            )
        )

    def _too_large(self) -> EdgeRefusalError:
        return EdgeRefusalError(
            "request_header_too_large",
            f"The request line and headers exceed {self.max_header_bytes} bytes.",
        )

    def _url_too_long(self) -> EdgeRefusalError:
        return EdgeRefusalError(
            "uri_too_long", f"The request target exceeds {self.max_request_line} bytes."
        )

    # --- what the flavours tell -------------------------------------------------------

    def _response_started(self) -> bool:
        return False

    def _in_flight(self) -> bool:
        """A complete request whose response is not written yet."""
        return False

    def _stop_keeping_alive(self) -> None:
        self.transport.close()

    def _pause_reading(self) -> None:
        self.transport.pause_reading()

    def _abandon_cycle(self) -> None:
        """The app's request ends here: it reads a disconnect, and its answer is dropped."""

    def _scope_of_refusal(self) -> dict[str, Any]:
        return {"method": "-", "path": "-", "client": self.client, "headers": []}

    # --- refusing -------------------------------------------------------------------

    def _refuse_after_response(self, refusal: EdgeRefusalError) -> None:
        """Refuse now, or once the request in flight is answered (pipelining)."""
        if self._in_flight():
            self._pending = refusal
            self._pause_reading()
            return
        self._refuse(refusal)

    def _refuse_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self._refuse(pending)

    def _refuse(self, refusal: EdgeRefusalError, linger: float = LINGER_SECONDS) -> None:
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self.sweep.forget(self)
        status = status_of(refusal.code)
        request_id = self.observers.refused(
            self._scope_of_refusal(), status, time.perf_counter() - self._started
        )
        self._abandon_cycle()
        self.transport.write(
            refusal_bytes(
                refusal.code, refusal.description, request_id=request_id, date=self._date()
            )
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(linger, self.transport.close)
        else:
            self.transport.close()

    def _date(self) -> bytes | None:
        for name, value in getattr(self.server_state, "default_headers", ()):
            if name == b"date":
                return bytes(value)
        return None

    def _linger(self, data: bytes) -> None:
        """Drop what a refused client still sends, up to a bound."""
        self._lingered += len(data)
        if self._lingered > LINGER_BYTES:
            self.transport.close()


def _plain_method(method: str) -> str:
    return method if _PLAIN_METHOD.match(method) else "-"


class EdgeHttpToolsProtocol(_Edge, HttpToolsProtocol):
    _in_head = True
    """Whether the parser is between requests or in a request's head: from the end of
    the previous request (not of its response: a pipelined head may follow at once) to
    the end of this one's headers. Raw bytes are counted against the limit meanwhile."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._writes = CoalescedWrites(transport, self.loop)
        self.transport = cast(asyncio.Transport, self._writes)
        self._started = time.perf_counter()
        if self._admit():
            self._await_headers()

    def eof_received(self) -> None:
        # The transport closes itself when this returns: what is held goes first.
        self._writes.flush()
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._linger(data)
            return
        self._unset_keepalive_if_required()
        if self._in_head:  # counted before the parser buffers anything
            self._received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            context = error.__context__
            if isinstance(context, EdgeRefusalError):
                self._refuse(context)
            else:
                self._refuse(
                    EdgeRefusalError("invalid_request", "The request could not be parsed.")
                )
            return
        except httptools.HttpParserInvalidMethodError:
            self._refuse_after_response(
                EdgeRefusalError("invalid_request", "The request method is not valid.")
            )
            return
        except httptools.HttpParserError as error:
            self._refuse_after_response(
                EdgeRefusalError("invalid_request", f"Malformed HTTP request: {error}.")
            )
            return
        except httptools.HttpParserUpgrade:
            self._refuse_after_response(
                EdgeRefusalError("invalid_request", "Protocol upgrades are not supported.")
            )
            return
        if self._in_head and self._received > self.max_header_bytes:
            # After the answer to a request in flight, if any (reading stops meanwhile).
            self._refuse_after_response(self._too_large())

    def send_400_response(self, msg: str) -> None:
        self._refuse(EdgeRefusalError("invalid_request", msg))

    def _response_started(self) -> bool:
        return self.cycle is not None and self.cycle.response_started

    def _pause_reading(self) -> None:
        self.flow.pause_reading()  # resumed by uvicorn once the response is written

    def _in_flight(self) -> bool:
        cycle = self.cycle
        return cycle is not None and not cycle.response_complete and not cycle.more_body

    def _stop_keeping_alive(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        else:
            self.transport.close()

    def _abandon_cycle(self) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()

    def _scope_of_refusal(self) -> dict[str, Any]:
        scope = super()._scope_of_refusal()
        if self._in_head or self.scope is None or "path" not in self.scope:
            return scope
        # The refused request's headers were complete: name its method and path.
        scope["method"] = _plain_method(str(self.scope.get("method", "-")))
        scope["path"] = self.scope["path"]
        return scope

    # The sizes count the request line and headers of one request exactly (a header as
    # `name: value\r\n`); they start at 0 and are reset when a request's headers are
    # complete, so the next request counts from 0 without a hook on its beginning.

    def on_url(self, url: bytes) -> None:
        size = len(url)
        self._url_size += size
        self._head_size += size
        if self._url_size > self.max_request_line:
            raise self._url_too_long()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.max_header_bytes:
            raise self._too_large()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        version = self.parser.get_http_version()
        if version not in SUPPORTED_VERSIONS:
            raise _version_refusal(version)
        self._awaiting_headers = self._in_head = False
        self._head_size = self._url_size = self._received = 0
        self._body_due = time.perf_counter() + self.body_timeout
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._body_due = math.inf
        self._in_head = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._pending is not None:
            self._unset_keepalive_if_required()
            self._refuse_pending()
            return
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_headers()


def _h11_protocol() -> type[Any]:
    """The h11 flavour, for installations without httptools: the same deadlines,
    counting and JSON; h11 itself bounds what it buffers (set to the same limit), and
    parses a pipelined request only after the previous response (so no refusal of its
    can overtake an answer)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class EdgeH11Protocol(_Edge, H11Protocol):
        _bad_version: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._writes = CoalescedWrites(transport, self.loop)
            self.transport = cast(asyncio.Transport, self._writes)
            self._started = time.perf_counter()
            self._check_versions()
            if self._admit():
                self._await_headers()

        def eof_received(self) -> None:
            # The transport closes itself when this returns: what is held goes first.
            self._writes.flush()
            super().eof_received()

        def _check_versions(self) -> None:
            """h11 takes any `HTTP/d.d` and uvicorn would serve it: its requests pass
            through this check, which refuses other versions than 1.0 and 1.1 the
            way h11 refuses what it cannot parse (uvicorn then calls
            `send_400_response`, which answers 505 for them)."""
            next_event = self.conn.next_event

            def checked_next_event() -> Any:
                event = next_event()
                if isinstance(event, h11.Request):
                    version = event.http_version.decode("ascii", "replace")
                    if version not in SUPPORTED_VERSIONS:
                        self._bad_version = version
                        raise h11.RemoteProtocolError(f"HTTP/{version} is not supported")
                return event

            self.conn.next_event = checked_next_event  # type: ignore[method-assign]

        def connection_lost(self, exc: Exception | None) -> None:
            self._release()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                self._linger(data)
                return
            if self._awaiting_headers:
                self._received += len(data)
                if self._received > self.max_header_bytes:
                    self._refuse(self._too_large())
                    return
            super().data_received(data)
            if self._awaiting_headers and self.conn.their_state is not h11.IDLE:
                self._awaiting_headers = False
                self._received = 0
                if self.conn.their_state is h11.SEND_BODY:
                    self._body_due = time.perf_counter() + self.body_timeout
            if self._body_due != math.inf and self.conn.their_state is not h11.SEND_BODY:
                self._body_due = math.inf

        def send_400_response(self, msg: str) -> None:
            if self._bad_version is not None:
                self._refuse(_version_refusal(self._bad_version))
                return
            self._refuse(EdgeRefusalError("invalid_request", msg))

        def _response_started(self) -> bool:
            return self.cycle is not None and self.cycle.response_started

        def _abandon_cycle(self) -> None:
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._await_headers()

    return EdgeH11Protocol


def edge_protocol(
    implementation: str,
    *,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_request_line: int = DEFAULT_MAX_REQUEST_LINE,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    max_connections_per_address: int = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    observers: EdgeObservers | None = None,
) -> type[Any]:
    """The protocol class for uvicorn's `http=` (`"httptools"` or `"h11"`), configured.

    Each call makes a class with its own connection counts: one call per server."""
    base: type[Any] = EdgeHttpToolsProtocol if implementation == "httptools" else _h11_protocol()
    settings = {
        "max_header_bytes": max_header_bytes,
        "max_request_line": min(max_request_line, max_header_bytes),
        "header_timeout": header_timeout,
        "body_timeout": body_timeout,
        "addresses": AddressCounter(max_connections_per_address),
        "sweep": DeadlineSweep(sweep_interval(header_timeout, body_timeout)),
        "observers": observers if observers is not None else EdgeObservers(),
    }
    return type(base.__name__, (base,), settings)
