"""The edge's application-level rules: plain ASGI middleware around the whole app.

The server enforces what belongs to the protocol with its own public options (granian:
the header read deadline, which also closes an idle keep-alive connection, the buffer
that bounds a request's head, backpressure, keep-alive; docs/security.md says which
refusals are then in the server's words). What is left is the application's, and it is
here, through the ASGI interface only (no server internals):

- a body deadline: a request's whole body must arrive within `body_timeout` seconds of
  the moment the app got the request (its head complete): a slow upload, a chunked body
  that never ends or a body shorter than its Content-Length gets 408 with our JSON and
  `Connection: close`;
- a write deadline: every `send` of a response must be taken by the server within
  `write_timeout` seconds. The server's `send` waits while the client does not read
  (flow control), so a client that never reads holds a response at most that long;
  then the response is abandoned, which the server answers by dropping the connection
  (the rule of nginx's `send_timeout`: between two successive writes);
- a cap on the requests one client address has in flight at once
  (`max_requests_per_address`, 0: none): one more is answered 429 with `Retry-After`
  at once. Connection-level caps are a proxy's job (docs/security.md: the nginx front).

The refusals made here carry our JSON and a request id, are access-logged in the app's
format and counted in the metrics (`EdgeObservers`). Both deadlines are checked by one
sweep (`EdgeRules`), so each is enforced within a tenth of the smaller timeout (at most
0.5 s) of its expiry, never before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .access_log import AccessLogMiddleware, LineSink
from .errors import ProtocolError, error_response

DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's head (from connect, or the last response)."""
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
"""The request line and all headers together, as most production servers bound them."""
MIN_HEADER_BYTES = 8 * 1024
"""The smallest head buffer the server accepts (granian's `http1_buffer_size`)."""
MAX_HEADER_TIMEOUT = 60.0
"""The longest header deadline the server accepts (granian: 60 000 ms)."""
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a client has to send a request's whole body, from the end of its head."""
DEFAULT_WRITE_TIMEOUT = 30.0
"""Seconds a client may leave one write of a response unread before it is dropped."""
DEFAULT_MAX_REQUESTS_PER_ADDRESS = 128
"""Requests one client address may have in flight at once (0: no cap)."""


class BodyTimeoutError(ProtocolError):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            "request_timeout", f"The request body did not arrive within {seconds:g} seconds."
        )


class _WriteDeadlineError(BaseException):
    """A response write the client did not take in time: the response is abandoned.

    A `BaseException`, as cancellation is: no layer of the app answers it as an
    unexpected error (there is no one left to answer); it ends the request here."""


def _no_app(scope: Scope, receive: Receive, send: Send) -> Any:  # pragma: no cover
    raise AssertionError("EdgeObservers only records")


class EdgeObservers:
    """Where the edge's refusals are told: request ids and access lines (the app's
    own `AccessLogMiddleware` format), and a metrics counter by status. One per server."""

    def __init__(
        self,
        access_log: LineSink | None = None,
        count_refusal: Callable[[int], None] | None = None,
    ) -> None:
        self._log = AccessLogMiddleware(_no_app, sink=access_log)
        self._count = count_refusal

    def refused(self, scope: Scope, status: int, seconds: float) -> str:
        """Record one refusal; returns the request id its response carries."""
        request_id = self._log.request_id_for(scope)
        self._log.record(scope, request_id, status, seconds)
        if self._count is not None:
            self._count(status)
        return request_id


MAX_SWEEP_INTERVAL = 0.5
"""The coarsest granularity of the deadlines (the default timeouts are 30 s)."""
MIN_SWEEP_INTERVAL = 0.01


def sweep_interval(body_timeout: float, write_timeout: float) -> float:
    """A tenth of the smaller timeout, between 10 ms and 0.5 s."""
    return min(max(min(body_timeout, write_timeout) / 10, MIN_SWEEP_INTERVAL), MAX_SWEEP_INTERVAL)


class EdgeRules:
    """The body and write deadlines and the per-address cap (module docstring).

    The deadlines cost a request a clock reading and two attribute writes, not a timer:
    an exchange notes when it started waiting (for its body, for a write to be taken),
    and ONE sweep per `EdgeRules` looks at the exchanges in flight every
    `sweep_interval` (only while there are some) and cancels the wait of those past a
    deadline; the cancelled wait becomes the 408 or the abandoned response. A deadline
    is thus enforced within one interval of its expiry, never before it. (A timer per
    wait, `asyncio.timeout`, cost tens of microseconds a request.)"""

    def __init__(
        self,
        app: ASGIApp,
        *,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        max_requests_per_address: int = DEFAULT_MAX_REQUESTS_PER_ADDRESS,
        observers: EdgeObservers | None = None,
    ) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self.write_timeout = write_timeout
        self.cap = max_requests_per_address
        self.observers = observers if observers is not None else EdgeObservers()
        self.interval = sweep_interval(body_timeout, write_timeout)
        self._in_flight: dict[str, int] = {}
        self._exchanges: set[_Exchange] = set()
        self._sweeping: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else ""
        held = self._in_flight.get(address, 0)
        if self.cap and held >= self.cap:
            await self._too_many(scope, receive, send)
            return
        self._in_flight[address] = held + 1
        exchange = _Exchange(receive, send, self.body_timeout)
        self._exchanges.add(exchange)
        if self._sweeping is None:
            self._sweeping = asyncio.get_running_loop().call_later(self.interval, self._sweep)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except _WriteDeadlineError:
            return  # abandoned: the server drops a connection whose response is incomplete
        finally:
            self._exchanges.discard(exchange)
            left = self._in_flight[address] - 1
            if left:
                self._in_flight[address] = left
            else:
                del self._in_flight[address]

    def _sweep(self) -> None:
        self._sweeping = None
        now = time.monotonic()
        for exchange in list(self._exchanges):
            exchange.check(now, self.write_timeout)
        if self._exchanges:
            self._sweeping = asyncio.get_running_loop().call_later(self.interval, self._sweep)

    async def _too_many(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = self.observers.refused(scope, 429, 0.0)
        response = error_response(
            "too_many_requests",
            f"This client address already has {self.cap} requests in flight; retry later.",
            headers={"Retry-After": "1", "X-Request-Id": request_id},
        )
        await response(scope, receive, send)


class _Exchange:
    """One request's `receive` under the body deadline and `send` under the write one:
    it notes when a wait began; `check` (the sweep) cancels a wait past its deadline."""

    __slots__ = (
        "_body_done",
        "_body_timeout",
        "_close",
        "_deadline",
        "_expired",
        "_receive",
        "_send",
        "_task",
        "_writing_since",
    )

    def __init__(self, receive: Receive, send: Send, body_timeout: float) -> None:
        self._receive = receive
        self._send = send
        self._body_timeout = body_timeout
        self._deadline = time.monotonic() + body_timeout
        self._body_done = False
        self._close = False
        self._task: asyncio.Task[Any] | None = None
        """The task waiting now (for the body or a write), else None."""
        self._writing_since = 0.0
        self._expired = False

    def check(self, now: float, write_timeout: float) -> None:
        task = self._task
        if task is None or self._expired:
            return
        late = (
            now - self._writing_since > write_timeout
            if self._writing_since
            else now > self._deadline
        )
        if late:
            self._expired = True
            task.cancel()

    async def receive(self) -> Message:
        if self._body_done:  # after the body: waiting for a disconnect has no deadline
            return await self._receive()
        self._task = asyncio.current_task()
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self._expired or self._task is None:
                raise
            self._task.uncancel()
            self._close = True
            self._expired = False  # the 408's own write has the write deadline
            raise BodyTimeoutError(self._body_timeout) from None
        finally:
            self._task = None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_done = True
        return message

    async def send(self, message: Message) -> None:
        if self._close and message["type"] == "http.response.start":
            # The body never came: this answer ends the connection.
            headers = [*message.get("headers", ()), (b"connection", b"close")]
            message = {**message, "headers": headers}
        self._task = asyncio.current_task()
        self._writing_since = time.monotonic()
        try:
            await self._send(message)
        except asyncio.CancelledError:
            if not self._expired or self._task is None:
                raise
            self._task.uncancel()
            raise _WriteDeadlineError from None
        finally:
            self._task = None
            self._writing_since = 0.0
