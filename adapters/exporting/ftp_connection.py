"""An FTP or FTPS control connection under time bounds, through the egress policy:
what exports (`FtpSink`) and imports (given it by the composition root) both use.

- The connection goes to an address the egress policy checked (`EgressPolicy.connect`:
  one resolution, so DNS rebinding cannot swap in a refused address), and passive data
  connections go to that same peer (ftplib's default: the address in a 227 reply is
  not trusted).
- Every control reply, *as a whole*, has `timeout` seconds: a server that trickles
  its banner one byte a second, or sends an endless multi-line reply (`220-...` once a
  second), fails within `timeout`, not one fresh deadline per byte or per line.
- Every control reply is also bounded in size: at most `MAX_REPLY_LINES` lines and
  `MAX_REPLY_BYTES` bytes (`ReplyTooLongError`). ftplib joins a multi-line reply's lines
  one by one into a growing string: a server streaming `220-...` lines for the whole
  `timeout` cost the process gigabytes before this cap (issue 22, finding 3).
- Every wait is cut into slices of at most `SLICE` seconds, and `waiting` is called
  between them: the worker's progress report, which raises when the action is
  cancelled or the server shuts down, so a blocked step notices within about a second
  and the caller closes the sockets.
"""

from __future__ import annotations

import contextlib
import ftplib
import socket
import ssl
import time
from collections.abc import Callable
from typing import TextIO, cast

from .egress import EgressPolicy

SLICE = 0.25
"""Longest single blocking wait on a socket, so `waiting` runs at least this often."""

MAX_REPLY_LINES = 200
MAX_REPLY_BYTES = 64 * 1024
"""Bounds of one control reply: real servers' longest (FEAT, HELP, a banner with a
message of the day) are tens of lines and a few KiB."""

Waiting = Callable[[], None]
"""Called while a network step waits; raises to stop it (cancel, shutdown)."""


class ReplyTooLongError(ftplib.error_proto):
    """A control reply longer than `MAX_REPLY_LINES` lines or `MAX_REPLY_BYTES` bytes."""


def _idle() -> None:
    return None


class LateError(TimeoutError):
    """A network step took longer than its bound."""


def receive(
    connection: socket.socket, size: int, deadline: float, waiting: Waiting, late: str
) -> bytes:
    """`recv` that gives up at `deadline` (`LateError`) and calls `waiting` before
    every read and every `SLICE` seconds meanwhile; b"" at the end of the stream."""
    while True:
        waiting()  # also when data keeps coming: an endless reply must hear a cancel too
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LateError(late)
        connection.settimeout(min(remaining, SLICE))
        with contextlib.suppress(TimeoutError):
            return connection.recv(size)


def send_all(
    connection: socket.socket, data: bytes | memoryview, timeout: float, waiting: Waiting, late: str
) -> None:
    """`sendall` bounded by `timeout` seconds for the whole of `data`, calling `waiting`
    every `SLICE` seconds while the peer does not read."""
    deadline = time.monotonic() + timeout
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LateError(late)
        connection.settimeout(min(remaining, SLICE))
        try:
            sent = connection.send(view)
        except TimeoutError:
            waiting()
            continue
        view = view[sent:]


class ReplyDeadlineReader:
    """What ftplib reads control replies from (`readline`, `close`). The deadline is
    set per reply (`start_reply`, by `getresp`), not per line or per `recv`."""

    def __init__(
        self, connection: socket.socket, encoding: str, timeout: float, waiting: Waiting
    ) -> None:
        self._connection = connection
        self._encoding = encoding
        self._timeout = timeout
        self.waiting = waiting
        self._buffer = b""
        self._deadline: float | None = None
        self._lines = 0
        self._bytes = 0

    def start_reply(self) -> None:
        self._deadline = time.monotonic() + self._timeout
        self._lines = self._bytes = 0

    def end_reply(self) -> None:
        self._deadline = None
        self._lines = self._bytes = 0

    def readline(self, limit: int = -1) -> str:
        deadline = self._deadline or time.monotonic() + self._timeout
        late = f"no complete reply from the FTP server within {self._timeout:g}s"
        try:
            while b"\n" not in self._buffer and (limit < 0 or len(self._buffer) < limit):
                if self._bytes + len(self._buffer) > MAX_REPLY_BYTES:
                    break  # judged below, with the line
                data = receive(self._connection, 4096, deadline, self.waiting, late)
                if not data:
                    break
                self._buffer += data
        finally:
            with contextlib.suppress(OSError):
                self._connection.settimeout(self._timeout)
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if limit >= 0:
            end = min(end, limit)
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        self._lines += 1
        self._bytes += len(line)
        if self._lines > MAX_REPLY_LINES or self._bytes > MAX_REPLY_BYTES:
            raise ReplyTooLongError(
                f"the FTP server's reply ran past {MAX_REPLY_LINES} lines or"
                f" {MAX_REPLY_BYTES // 1024} KiB; hung up"
            )
        return line.decode(self._encoding, errors="replace")

    def close(self) -> None:
        self._buffer = b""


class _WholeReplies:
    """`getresp` with one deadline for the whole (possibly multi-line) reply."""

    file: TextIO | None

    def getresp(self) -> str:
        reader: object = self.file
        if isinstance(reader, ReplyDeadlineReader):
            reader.start_reply()
        try:
            reply: str = super().getresp()  # type: ignore[misc]
        except EOFError as error:
            # ftplib's own EOFError has no message: a failure detail needs one.
            raise EOFError(str(error) or "the FTP server closed the connection") from None
        finally:
            if isinstance(reader, ReplyDeadlineReader):
                reader.end_reply()
        return reply


class BoundedFtp(_WholeReplies, ftplib.FTP):
    waiting: Waiting


class BoundedFtpTls(_WholeReplies, ftplib.FTP_TLS):
    waiting: Waiting

    def auth(self) -> str:
        reply: str = super().auth()
        # ftplib re-creates its reader over the TLS socket: bound that one too.
        assert self.sock is not None
        timeout = self.timeout if self.timeout is not None else 30.0
        self.file = cast(
            TextIO, ReplyDeadlineReader(self.sock, self.encoding, timeout, self.waiting)
        )
        return reply


def open_ftp(
    host: str,
    port: int,
    *,
    tls: bool,
    egress: EgressPolicy,
    timeout: float,
    waiting: Waiting = _idle,
) -> ftplib.FTP:
    """A control connection to `host`:`port` with its welcome read (not logged in).
    Raises `EgressNotAllowedError`, `OSError` (`LateError` when late), `EOFError` or
    an `ftplib.Error`; the connection is closed then."""
    ftp: BoundedFtp | BoundedFtpTls = (
        BoundedFtpTls(timeout=timeout, context=ssl.create_default_context())
        if tls
        else BoundedFtp(timeout=timeout)
    )
    ftp.waiting = waiting
    ftp.host, ftp.port = host, port
    try:
        ftp.sock = egress.connect(host, port, timeout)
        ftp.af = ftp.sock.family
        ftp.file = cast(TextIO, ReplyDeadlineReader(ftp.sock, ftp.encoding, timeout, waiting))
        ftp.welcome = ftp.getresp()
    except BaseException:
        ftp.close()
        raise
    return ftp


def within(seconds: float) -> Waiting:
    """A `waiting` that stops a step (`LateError`) once `seconds` have passed: the
    budget of a cleanup, which must end promptly even when the action was cancelled."""
    deadline = time.monotonic() + seconds

    def waiting() -> None:
        if time.monotonic() >= deadline:
            raise LateError(f"cleanup took longer than {seconds:g}s")

    return waiting


def set_waiting(ftp: ftplib.FTP, waiting: Waiting) -> None:
    """What the control connection calls while it waits from now on."""
    if isinstance(ftp, BoundedFtp | BoundedFtpTls):
        ftp.waiting = waiting
    reader: object = ftp.file
    if isinstance(reader, ReplyDeadlineReader):
        reader.waiting = waiting
