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

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from types import TracebackType

from .egress import connect_failure
from .size_estimate import (
    SIDE_TIMEOUT,
    RespConnection,
    RespError,
    SizeEstimate,
    sampled_estimate,
)

CHUNK = 1024 * 1024
"""Bytes asked of the socket per read: large reads keep system calls off the profile."""
LOW_WATER = 256 * 1024
"""Bytes a read of the snapshot waits for (`SO_RCVLOWAT`) before it returns, for at most
`GATHER` seconds: a reader faster than its source would otherwise wake for every few
dozen KiB, and each wake-up is two system calls and a turn of the GIL that the event loop
shares. Waiting trades nothing: the bytes queue in the kernel meanwhile."""
GATHER = 0.02
"""Seconds a read waits for `LOW_WATER` bytes before it takes whatever has come."""
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
        started: Callable[[], None] = lambda: None,
    ) -> None:
        """`timeout` bounds the connect and every read; `waiting` is called for each
        keep-alive the source sends while it prepares the snapshot (it may raise to
        stop the export), `started` once when the snapshot's first line arrives (the
        wait for the source to start it is over)."""
        self.host, self.port = host, port
        self._waiting = waiting
        self._started = started
        self._password, self._username = password, username
        self._timeout = timeout
        self._diskless = diskless
        self._socket: socket.socket | None = None
        self._buffer = b""
        self.total: int | None = None
        """Snapshot length in bytes when the server announced it, else None."""
        self._estimate = SizeEstimate(None, None)
        self.received = 0

    @property
    def estimate(self) -> int | None:
        """For an unannounced length: the snapshot's expected size (see size_estimate)."""
        return self._estimate.size

    def __enter__(self) -> RdbStream:
        try:
            self._socket = socket.create_connection((self.host, self.port), self._timeout)
        except OSError as error:
            raise ReplicationError(connect_failure(self.host, self.port)) from error
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
        self._estimate = self._size_estimate()
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
        self._estimate.close()
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @property
    def fraction(self) -> float:
        """How much of the snapshot has arrived, from 0 to (just under) 1."""
        if self.total:
            return self.received / self.total
        return self._estimate.fraction(self.received)

    def chunks(self) -> Iterator[memoryview]:
        """The snapshot's bytes, in views of one buffer the stream reuses: each view is
        valid until the next is asked for (write it, do not keep it). Reading into a
        reused buffer keeps the copy loop at two system calls a chunk with no Python-level
        copy or allocation, so the worker threads hold the GIL (which the event loop
        needs) only for a few bytecodes and one search for the end mark per chunk."""
        header = self._preamble()
        self._gather()
        if header.startswith(b"$"):
            self._started()
        if header.startswith(b"$EOF:"):
            mark = header[5:]
            if len(mark) != EOF_MARK_LENGTH:
                raise ReplicationError("malformed diskless snapshot header")
            for view in self._until_mark(mark):
                yield view
                self._estimate.refine(self.received)
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

    def _gather(self) -> None:
        """From here on a read waits for `LOW_WATER` bytes, in slices of `GATHER`."""
        assert self._socket is not None
        with contextlib.suppress(OSError):  # a system without it: reads return sooner
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, LOW_WATER)
        self._socket.settimeout(GATHER)

    def _recv_into(self, view: memoryview) -> int:
        """Bytes of the snapshot into `view`: `LOW_WATER` of them, or what came within a
        `GATHER` slice. `timeout` still bounds a read that gets nothing at all; between
        empty slices, `waiting` may stop the export (a stalled source)."""
        deadline = time.monotonic() + self._timeout
        try:
            count = self._read_before(deadline, view)
        except OSError as error:
            raise ReplicationError(f"connection lost: {error}") from error
        if not count:
            raise ReplicationError("the source closed the connection before the snapshot ended")
        return count

    def _read_before(self, deadline: float, view: memoryview) -> int:
        assert self._socket is not None
        while True:
            try:
                return self._socket.recv_into(view)
            except TimeoutError:
                came = self._take_what_came(view)
                if came is not None:
                    return came
            if time.monotonic() >= deadline:
                raise TimeoutError("timed out")
            self._waiting()

    def _take_what_came(self, view: memoryview) -> int | None:
        """What is there now, fewer than `LOW_WATER` bytes; None when nothing is."""
        assert self._socket is not None
        self._socket.settimeout(0)
        try:
            return self._socket.recv_into(view)
        except BlockingIOError:
            return None
        finally:
            self._socket.settimeout(GATHER)

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            self._buffer += self._recv()
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _ask(self, *parts: str) -> bytes:
        self._send(_command(*parts))
        return self._line()

    def _size_estimate(self) -> SizeEstimate:
        """The sampled estimate with its side connection; the memory figure read on
        this connection when the side one cannot be had."""
        if not self._diskless:
            return SizeEstimate(self._dataset_size(), None)
        try:
            side = RespConnection(
                self.host,
                self.port,
                password=self._password,
                username=self._username,
                timeout=min(self._timeout, SIDE_TIMEOUT),
            )
        except RespError:
            return SizeEstimate(self._dataset_size(), None)
        try:
            return SizeEstimate(sampled_estimate(side), side)
        except (RespError, OSError, ValueError):
            side.close()
            return SizeEstimate(self._dataset_size(), None)

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

    def _exactly(self, length: int) -> Iterator[memoryview]:
        ahead, self._buffer = self._buffer[:length], self._buffer[length:]
        self.received += len(ahead)
        if ahead:
            yield memoryview(ahead)
        buffer = memoryview(bytearray(CHUNK))
        while self.received < length:
            count = self._recv_into(buffer[: min(CHUNK, length - self.received)])
            self.received += count
            yield buffer[:count]

    def _until_mark(self, mark: bytes) -> Iterator[memoryview]:
        """Everything before `mark`. The last `len(mark)` bytes received are held back
        (moved to the buffer's start) until more arrive: they may be the mark's start."""
        ahead, self._buffer = self._buffer, b""
        end = ahead.find(mark)
        if end >= 0:  # the replication stream may follow the mark: ignore it
            self.received += end
            if end:
                yield memoryview(ahead)[:end]
            return
        storage = bytearray(CHUNK + EOF_MARK_LENGTH)
        buffer = memoryview(storage)
        held = min(len(ahead), EOF_MARK_LENGTH)
        if len(ahead) > held:
            self.received += len(ahead) - held
            yield memoryview(ahead)[:-held]
        storage[:held] = ahead[len(ahead) - held :]
        while True:
            filled = held + self._recv_into(buffer[held:])
            end = storage.find(mark, 0, filled)
            if end >= 0:
                self.received += end
                if end:
                    yield buffer[:end]
                return
            held = min(filled, EOF_MARK_LENGTH)
            if filled > held:
                self.received += filled - held
                yield buffer[: filled - held]
            storage[:held] = storage[filled - held : filled]
