"""A minimal RESP2 client over one socket: enough to drive two Redis servers (the
scratch loader and the target) with pipelined commands, without the `redis` extra.

Error replies are returned as `RespError` values inside a pipeline (so one refused
command does not hide the others' answers) and raised by `call`.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

Reply = bytes | int | list["Reply"] | None
Arg = bytes | str | int


class RespError(Exception):
    """An error reply (`-ERR ...`, `-OOM ...`); `message` is its text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectionLostError(Exception):
    """The server closed the connection or stopped answering."""


def encode(command: Sequence[Arg]) -> bytes:
    parts = [part if isinstance(part, bytes) else str(part).encode() for part in command]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class RespConnection:
    def __init__(self, sock: socket.socket) -> None:
        self._socket = sock
        self._reader = sock.makefile("rb")

    @classmethod
    def tcp(cls, host: str, port: int, *, timeout: float) -> Self:
        return cls(socket.create_connection((host, port), timeout))

    @classmethod
    def unix(cls, path: str, *, timeout: float) -> Self:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()
        self._socket.close()

    def call(self, *command: Arg) -> Reply:
        (reply,) = self.pipeline([command])
        if isinstance(reply, RespError):
            raise reply
        return reply

    def call_waiting(self, *command: Arg, waiting: Callable[[], None], every: float) -> Reply:
        """`call` for a server that may be busy for long (a loader running a file's
        code): until its reply starts, `waiting` runs every `every` seconds and may
        raise to stop (the connection must then be closed: the reply is still due).
        Only on a connection with no reply pending."""
        try:
            self._socket.sendall(encode(command))
            poller = select.poll()  # not select(): a busy server has descriptors >= 1024
            poller.register(self._socket, select.POLLIN)
            while not poller.poll(every * 1000):
                waiting()
            reply = self._read()
        except OSError as error:
            raise ConnectionLostError(str(error) or type(error).__name__) from error
        if isinstance(reply, RespError):
            raise reply
        return reply

    def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[Reply | RespError]:
        """Send every command, then read every reply, in order."""
        try:
            self._socket.sendall(b"".join(encode(command) for command in commands))
            return [self._read() for _ in commands]
        except OSError as error:
            raise ConnectionLostError(str(error) or type(error).__name__) from error

    def _line(self) -> bytes:
        line = self._reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionLostError("the server closed the connection")
        return line[:-2]

    def _read(self) -> Reply | RespError:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            data = self._reader.read(length + 2)
            if len(data) != length + 2:
                raise ConnectionLostError("the server closed the connection mid-reply")
            return data[:-2]
        if kind == b"*":
            length = int(rest)
            if length < 0:
                return None
            items: list[Reply] = []
            for _ in range(length):
                item = self._read()
                if isinstance(item, RespError):
                    raise item
                items.append(item)
            return items
        raise ConnectionLostError(f"not a RESP reply: {line[:40]!r}")
