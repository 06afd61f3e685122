"""A point-in-time RDB snapshot of a live Redis server, streamed through the
replication handshake (`SYNC`), never held whole in memory.

The server answers `SYNC` with the snapshot in one of two forms: `$<length>\r\n`
followed by exactly that many bytes (disk-based replication), or, when we announce
`REPLCONF capa eof` and the server replicates disklessly, `$EOF:<40-byte mark>\r\n`
followed by the snapshot and the same mark. Before either, it may send bare newlines
while it prepares the snapshot. After the snapshot it would go on with the replication
stream; we close the connection instead.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from types import TracebackType

CHUNK = 1024 * 1024
"""Bytes asked of the socket per read: large reads keep system calls off the profile."""
EOF_MARK_LENGTH = 40


class ReplicationError(Exception):
    """The source refused or broke the handshake; `auth` tells a refused password."""

    def __init__(self, message: str, *, auth: bool = False) -> None:
        super().__init__(message)
        self.auth = auth


def _command(*parts: str | bytes) -> bytes:
    encoded = [part.encode() if isinstance(part, str) else part for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(
        b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded
    )


class RdbStream:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        password: str | None = None,
        username: str | None = None,
        timeout: float = 30.0,
        diskless: bool = True,
        waiting: Callable[[], None] = lambda: None,
    ) -> None:
        """`timeout` bounds the connect and every read; `waiting` is called for each
        keep-alive the source sends while it prepares the snapshot (it may raise to
        stop the export)."""
        self.host, self.port = host, port
        self._waiting = waiting
        self._password, self._username = password, username
        self._timeout = timeout
        self._diskless = diskless
        self._socket: socket.socket | None = None
        self._buffer = b""
        self.total: int | None = None
        """Snapshot length in bytes when the server announced it, else None."""
        self.estimate: int | None = None
        """For an unannounced length: the dataset's size in memory, a rough guide."""
        self.received = 0

    def __enter__(self) -> RdbStream:
        try:
            self._socket = socket.create_connection((self.host, self.port), self._timeout)
        except OSError as error:
            raise ReplicationError(
                f"cannot reach {self.host}:{self.port}: {error.strerror or error}"
            ) from error
        if self._password is not None:
            auth = (
                ("AUTH", self._username, self._password)
                if self._username
                else ("AUTH", self._password)
            )
            reply = self._ask(*auth)
            if not reply.startswith(b"+"):
                raise ReplicationError(
                    f"authentication refused: {reply.decode(errors='replace')}", auth=True
                )
        self.estimate = self._dataset_size()
        if self._diskless:
            self._ask("REPLCONF", "capa", "eof")  # older servers refuse it: then disk-based
        self._send(_command("SYNC"))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @property
    def fraction(self) -> float:
        """How much of the snapshot has arrived, from 0 to (just under) 1."""
        if self.total:
            return self.received / self.total
        if self.estimate:
            return min(self.received / self.estimate, 0.95)
        return 0.0

    def chunks(self) -> Iterator[bytes]:
        header = self._preamble()
        if header.startswith(b"$EOF:"):
            mark = header[5:]
            if len(mark) != EOF_MARK_LENGTH:
                raise ReplicationError("malformed diskless snapshot header")
            yield from self._until_mark(mark)
        elif header.startswith(b"$"):
            try:
                self.total = int(header[1:])
            except ValueError as error:
                raise ReplicationError("malformed snapshot length") from error
            yield from self._exactly(self.total)
        else:
            raise ReplicationError(
                f"SYNC refused: {header.decode(errors='replace')}",
                auth=header.startswith(b"-NOAUTH"),
            )

    # --- wire ----------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        assert self._socket is not None
        try:
            self._socket.sendall(data)
        except OSError as error:
            raise ReplicationError(f"connection lost: {error}") from error

    def _recv(self) -> bytes:
        assert self._socket is not None
        try:
            data = self._socket.recv(CHUNK)
        except OSError as error:
            raise ReplicationError(f"connection lost: {error}") from error
        if not data:
            raise ReplicationError("the source closed the connection before the snapshot ended")
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            self._buffer += self._recv()
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _ask(self, *parts: str) -> bytes:
        self._send(_command(*parts))
        return self._line()

    def _dataset_size(self) -> int | None:
        reply = self._ask("INFO", "memory")
        if not reply.startswith(b"$"):
            return None
        length = int(reply[1:])
        while len(self._buffer) < length + 2:
            self._buffer += self._recv()
        body, self._buffer = self._buffer[:length], self._buffer[length + 2 :]
        for line in body.splitlines():
            if line.startswith(b"used_memory_dataset:"):
                return int(line.split(b":")[1])
        return None

    def _preamble(self) -> bytes:
        # Bare newlines are keep-alives sent while the snapshot is being prepared.
        while True:
            while not self._buffer:
                self._buffer = self._recv()
            stripped = self._buffer.lstrip(b"\n")
            if stripped:
                self._buffer = stripped
                return self._line()
            self._buffer = b""
            self._waiting()

    def _exactly(self, length: int) -> Iterator[bytes]:
        remaining = length
        while remaining > 0:
            if not self._buffer:
                self._buffer = self._recv()
            chunk, self._buffer = self._buffer[:remaining], self._buffer[remaining:]
            remaining -= len(chunk)
            self.received += len(chunk)
            yield chunk

    def _until_mark(self, mark: bytes) -> Iterator[bytes]:
        pending = self._buffer
        self._buffer = b""
        while True:
            end = pending.find(mark)
            if end >= 0:  # the replication stream may follow the mark: ignore it
                if end:
                    self.received += end
                    yield pending[:end]
                return
            # All but the last 40 bytes are surely snapshot; keep those to compare.
            if len(pending) > EOF_MARK_LENGTH:
                body, pending = pending[:-EOF_MARK_LENGTH], pending[-EOF_MARK_LENGTH:]
                self.received += len(body)
                yield body
            pending += self._recv()
