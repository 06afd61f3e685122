"""The HTTP edge: uvicorn's own protocol classes with limits, a deadline and our JSON.

uvicorn parses requests before the app sees them and answers what it cannot parse
itself, as `400 text/plain`; it has no limit on the request line or the headers and
no deadline for them. These subclasses (of the httptools implementation, and of h11's
for installations without httptools) add, without parsing HTTP themselves:

- a header size limit: the bytes received while a request's headers are incomplete
  are counted as they arrive (before the parser buffers them), and the request line
  and headers the parser reports are counted exactly; past `max_header_bytes` the
  answer is 431 (414 for a request line alone over `max_request_line`), at most one
  read (64 KiB) after the limit, never after buffering a huge header;
- a header deadline: a request's headers must be complete `header_timeout` seconds
  after the connection opened or the previous response ended (slowloris); then the
  answer is 408 and the connection closes (an idle connection just closes);
- our error JSON (`{"error_code", "description"}`) for every refusal of the parser:
  an unknown method, a bad or duplicate Content-Length, a malformed request line.

A refused connection is closed the way production servers do it: the answer is
written, the sending side shut, and what the client still sends is read and dropped
for a moment (at most `LINGER_SECONDS` or `LINGER_BYTES`), so the client reads the
answer instead of a connection reset.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import status_of

DEFAULT_MAX_HEADER_BYTES = 16 * 1024
"""The request line and all headers together, as most production servers bound them."""
DEFAULT_MAX_REQUEST_LINE = 8 * 1024
DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's headers (from connect, or the last response)."""
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


class EdgeRefusalError(Exception):
    """A request refused at the edge: an error code of the one table, and why."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def refusal_bytes(code: str, description: str) -> bytes:
    """A whole HTTP/1.1 response carrying our error JSON, closing the connection."""
    status = status_of(code)
    body = json.dumps({"error_code": code, "description": description}).encode("ascii")
    reason = _REASONS.get(status, b"Error")
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        )
    )


UNPARSABLE = EdgeRefusalError("invalid_request", "The request could not be parsed.")
NO_UPGRADES = EdgeRefusalError("invalid_request", "Protocol upgrades are not supported.")


class _Edge:
    """What both protocol classes share: counting, the deadline and the refusal."""

    max_header_bytes = DEFAULT_MAX_HEADER_BYTES
    max_request_line = DEFAULT_MAX_REQUEST_LINE
    header_timeout = DEFAULT_HEADER_TIMEOUT

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    _awaiting_headers = True
    _received = 0
    _head_size = 0
    _url_size = 0
    _refused = False
    _lingered = 0
    _header_timer: asyncio.TimerHandle | None = None

    def _await_headers(self) -> None:
        self._awaiting_headers = True
        self._received = 0
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_arrived(self) -> None:
        self._awaiting_headers = False
        self._cancel_header_timer()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers or self.transport.is_closing():
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

    def _count_raw(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._received += len(data)

    def _raw_over_limit(self) -> bool:
        return self._awaiting_headers and self._received > self.max_header_bytes

    def _too_large(self) -> EdgeRefusalError:
        return EdgeRefusalError(
            "request_header_too_large",
            f"The request line and headers exceed {self.max_header_bytes} bytes.",
        )

    def _check_url(self, size: int) -> None:
        self._url_size += size
        self._head_size += size
        if self._url_size > self.max_request_line:
            raise EdgeRefusalError(
                "uri_too_long", f"The request target exceeds {self.max_request_line} bytes."
            )

    def _check_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.max_header_bytes:
            raise self._too_large()

    def _refuse(self, refusal: EdgeRefusalError) -> None:
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._cancel_header_timer()
        self.transport.write(refusal_bytes(refusal.code, refusal.description))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _linger(self, data: bytes) -> None:
        """Drop what a refused client still sends, up to a bound."""
        self._lingered += len(data)
        if self._lingered > LINGER_BYTES:
            self.transport.close()


class EdgeHttpToolsProtocol(_Edge, HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._linger(data)
            return
        self._unset_keepalive_if_required()
        self._count_raw(data)
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
            self._refuse(EdgeRefusalError("invalid_request", "The request method is not valid."))
            return
        except httptools.HttpParserError as error:
            self._refuse(EdgeRefusalError("invalid_request", f"Malformed HTTP request: {error}."))
            return
        except httptools.HttpParserUpgrade:
            self._refuse(
                EdgeRefusalError("invalid_request", "Protocol upgrades are not supported.")
            )
            return
        if self._raw_over_limit():
            self._refuse(self._too_large())

    def send_400_response(self, msg: str) -> None:
        self._refuse(EdgeRefusalError("invalid_request", msg))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0
        self._url_size = 0

    def on_url(self, url: bytes) -> None:
        self._check_url(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._check_header(name, value)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._headers_arrived()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_headers()


def _h11_protocol() -> type[Any]:
    """The h11 flavour, for installations without httptools: the same deadline,
    counting and JSON; h11 itself bounds what it buffers (set to the same limit)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class EdgeH11Protocol(_Edge, H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                self._linger(data)
                return
            self._count_raw(data)
            if self._raw_over_limit():
                self._refuse(self._too_large())
                return
            super().data_received(data)
            if self._awaiting_headers and self.conn.their_state is not h11.IDLE:
                self._headers_arrived()

        def send_400_response(self, msg: str) -> None:
            self._refuse(EdgeRefusalError("invalid_request", msg))

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
) -> type[Any]:
    """The protocol class for uvicorn's `http=` (`"httptools"` or `"h11"`), configured."""
    base: type[Any] = EdgeHttpToolsProtocol if implementation == "httptools" else _h11_protocol()
    settings = {
        "max_header_bytes": max_header_bytes,
        "max_request_line": min(max_request_line, max_header_bytes),
        "header_timeout": header_timeout,
    }
    return type(base.__name__, (base,), settings)
