"""How large a diskless snapshot will be, guessed before it starts and refined while it
streams, so an export's progress is bytes written against a size that is nearly right.

A diskless snapshot (`$EOF:` form) announces no length. Redis's memory figure for the
data (`used_memory_dataset`) is a poor guide on its own: the RDB encodes small values
compactly and compresses strings, so a dataset of many small keys makes an RDB three or
four times smaller than its memory, and a bar measured against memory sits low and then
jumps to the end. So:

1. Before the snapshot: a sample of random keys (`RANDOMKEY`), each measured both ways
   (`MEMORY USAGE` and the length of `DUMP`, its RDB encoding), gives the ratio of RDB
   bytes to memory; the estimate is the dataset's memory times that ratio. Keys larger
   than `DUMP_LIMIT` in memory are counted at a ratio of 1 rather than dumped: the
   sample must not make the source copy a huge value.
2. While it streams: Redis reports how many keys the snapshot has written so far
   (`current_save_keys_processed` of `current_save_keys_total` in `INFO persistence`,
   Redis 7.0+, updated about once a second). Keys are written in hash-table order, which
   has nothing to do with their size, so bytes received ÷ share of keys written is a
   better estimate each time the count moves.

Either step may be unavailable (an older server, an ACL that refuses the commands):
then the estimate falls back to the previous step, and finally to the memory figure.
"""

from __future__ import annotations

import socket
import time

from .egress import connect_failure

SAMPLE_KEYS = 200
"""Random keys measured before the snapshot (two pipelined round trips)."""
DUMP_LIMIT = 1024 * 1024
"""Keys larger than this in memory are not dumped for the sample (counted at ratio 1)."""
KEY_OVERHEAD = 2
"""RDB bytes per key besides its name and `DUMP` body less its 10-byte trailer: the type
byte and the name's length prefix, roughly."""
MIN_SHARE = 0.02
"""The share of keys written before their count refines the estimate."""
POLL_EVERY = 0.1
"""Seconds between two reads of the snapshot's key count while it streams."""
SIDE_TIMEOUT = 2.0
"""Seconds the side connection may take for its connect and any reply: a source slower
than that to answer INFO goes without the estimate rather than hold the copy back."""


class RespError(Exception):
    """The source answered an error, or the connection broke."""


class RespConnection:
    """The few plain commands the estimate needs, on a connection of its own (the
    replication connection is busy with the snapshot)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        password: str | None,
        username: str | None,
        timeout: float,
    ) -> None:
        try:
            self._socket = socket.create_connection((host, port), timeout)
        except OSError as error:
            raise RespError(connect_failure(host, port)) from error
        self._buffer = b""
        if password is not None:
            auth = ("AUTH", username, password) if username else ("AUTH", password)
            try:
                self.ask_many([auth])
            except RespError:
                self.close()
                raise

    def close(self) -> None:
        self._socket.close()

    def ask_many(self, commands: list[tuple[str | bytes, ...]]) -> list[object]:
        """Send `commands` in one write; their replies in order (an error reply is a
        `RespError` in the list, not raised)."""
        payload = b""
        for parts in commands:
            encoded = [part.encode() if isinstance(part, str) else part for part in parts]
            payload += b"*%d\r\n" % len(encoded)
            payload += b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)
        try:
            self._socket.sendall(payload)
            return [self._reply() for _ in commands]
        except OSError as error:
            raise RespError(f"connection lost: {error}") from error

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            data = self._socket.recv(65536)
            if not data:
                raise RespError("connection closed")
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _reply(self) -> object:
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
            while len(self._buffer) < length + 2:
                data = self._socket.recv(max(65536, length + 2 - len(self._buffer)))
                if not data:
                    raise RespError("connection closed")
                self._buffer += data
            body, self._buffer = self._buffer[:length], self._buffer[length + 2 :]
            return body
        if kind == b"*":
            return [self._reply() for _ in range(max(int(rest), 0))]
        raise RespError(f"unexpected reply {line[:40]!r}")


def info_fields(reply: object) -> dict[bytes, bytes]:
    if not isinstance(reply, bytes):
        return {}
    fields = {}
    for line in reply.splitlines():
        name, colon, value = line.partition(b":")
        if colon:
            fields[name] = value
    return fields


def sampled_estimate(connection: RespConnection) -> int | None:
    """Step 1: the dataset's memory times the sampled ratio of RDB bytes to memory; the
    memory figure alone when sampling is refused; None when even that is."""
    memory = info_fields(connection.ask_many([("INFO", "memory")])[0])
    try:
        dataset = int(memory[b"used_memory_dataset"])
    except (KeyError, ValueError):
        return None
    keys = {k for k in connection.ask_many([("RANDOMKEY",)] * SAMPLE_KEYS) if isinstance(k, bytes)}
    if not keys:
        return dataset
    order = sorted(keys)
    usages = connection.ask_many([("MEMORY", "USAGE", key) for key in order])
    sizes = [usage for usage in usages if isinstance(usage, int)]
    if len(sizes) != len(order):
        return dataset
    small = [key for key, usage in zip(order, sizes, strict=True) if usage <= DUMP_LIMIT]
    dumps = dict(zip(small, connection.ask_many([("DUMP", key) for key in small]), strict=True))
    memory_total = rdb_total = 0
    for key, usage in zip(order, sizes, strict=True):
        dump = dumps.get(key)
        if key not in dumps:
            rdb = usage
        elif isinstance(dump, bytes):
            rdb = len(key) + len(dump) - 10 + KEY_OVERHEAD
        else:
            continue  # gone since RANDOMKEY, or refused
        memory_total += usage
        rdb_total += rdb
    if not memory_total:
        return dataset
    return max(int(dataset * rdb_total / memory_total), 1)


class SizeEstimate:
    """Step 2, on top of step 1: `refine` is called as bytes arrive and reads the
    snapshot's key count now and then; `fraction` is what progress shows."""

    def __init__(self, initial: int | None, connection: RespConnection | None) -> None:
        self.size = initial
        self._connection = connection
        self._next_poll = 0.0
        self._last_processed = 0

    def refine(self, received: int) -> None:
        now = time.monotonic()
        if self._connection is None or now < self._next_poll:
            return
        self._next_poll = now + POLL_EVERY
        try:
            fields = info_fields(self._connection.ask_many([("INFO", "persistence")])[0])
            processed = int(fields[b"current_save_keys_processed"])
            total = int(fields[b"current_save_keys_total"])
        except (RespError, OSError, KeyError, ValueError):
            self.close()  # an older server, or the side connection broke: step 1 stands
            return
        # The count moves about once a second: refine when it has moved, with the
        # bytes received at the moment the new count is first seen.
        # A count under `MIN_SHARE` of the keys says too little (the first report comes
        # at the first key).
        if received > 0 and processed > self._last_processed and processed >= total * MIN_SHARE:
            self._last_processed = processed
            self.size = max(int(received * total / min(processed, total)), received, 1)

    def fraction(self, received: int) -> float:
        """Share of the snapshot received, from 0 to just under 1 (the end is for the
        end mark to say)."""
        if not self.size:
            return 0.0
        return min(received / self.size, 0.99)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
