"""The snapshot stream reads into one reused buffer and holds back the bytes that may
start the diskless end mark: whatever way the bytes arrive (with the header, a few at a
time, the mark split across reads, the replication stream right behind it), what it
yields is the snapshot, byte for byte. Both forms against a real redis-server; the
split cases against a scripted source on a real socket, which can split where it likes."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from bdbexport.adapters.exporting.rdb_stream import (
    CHUNK,
    EOF_MARK_LENGTH,
    RdbStream,
    ReplicationError,
)
from tests.e2e.test_real_exports import SourceRedis, loaded, snapshot_of, write_dataset

pytestmark = pytest.mark.slow
MARK = b"0123456789abcdef0123456789abcdef01234567"
REPLICATION = b"*1\r\n$4\r\nPING\r\n"
"""What a source may send after the snapshot: it is not part of the file."""


def copy(stream: RdbStream, path: Path) -> int:
    """The way the exporter consumes the stream: each view written before the next."""
    written = 0
    with path.open("wb") as out:
        for chunk in stream.chunks():
            out.write(chunk)
            written += len(chunk)
    return written


@pytest.mark.parametrize("diskless", [True, False], ids=["eof-mark", "announced-length"])
def test_both_snapshot_forms_of_a_real_source_load_as_the_database(
    tmp_path: Path, diskless: bool
) -> None:
    source = SourceRedis(tmp_path / "source").start()
    try:
        client = source.client()
        write_dataset(client)
        expected = snapshot_of(client)
        rdb = tmp_path / "out" / "dump.rdb"
        rdb.parent.mkdir()
        with RdbStream(
            "127.0.0.1", source.port, password="source-password", diskless=diskless
        ) as stream:
            written = copy(stream, rdb)
        assert (stream.total is None) is diskless  # the form the server chose
        assert written == rdb.stat().st_size == stream.received
        assert loaded(rdb, tmp_path) == expected
    finally:
        source.stop()


class ScriptedSource:
    """Answers the handshake, then sends `pieces` one by one, pausing between them so
    most arrive in separate reads (the test holds whether or not they do)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> ScriptedSource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(10)
        self._listener.close()
        assert not self._thread.is_alive()

    def _serve(self) -> None:
        try:
            self._listener.settimeout(10)
            connection, _ = self._listener.accept()
            # Later connections (the size estimate's side connection) are hung up on:
            # the stream must then do without the estimate's sample and key count.
            threading.Thread(target=self._refuse_others, daemon=True).start()
            with connection:
                connection.settimeout(10)
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                info = b"# Memory\r\nused_memory_dataset:1000\r\n"
                self._answer(connection, b"INFO", b"$%d\r\n%s\r\n" % (len(info), info))
                self._answer(connection, b"REPLCONF", b"+OK\r\n")
                self._answer(connection, b"SYNC", b"")
                for piece in self.pieces:
                    connection.sendall(piece)
                    time.sleep(0.02)
                connection.recv(1)  # until the reader closes
        except BaseException as error:
            self.error = error

    def _refuse_others(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                other, _ = self._listener.accept()
                other.close()

    @staticmethod
    def _answer(connection: socket.socket, command: bytes, reply: bytes) -> None:
        received = b""
        deadline = time.monotonic() + 10
        while command not in received:
            assert time.monotonic() < deadline
            received += connection.recv(4096)
        if reply:
            connection.sendall(reply)


def diskless_pieces(snapshot: bytes, cuts: list[int]) -> list[bytes]:
    """Keep-alives, the header with the snapshot's first bytes, then the snapshot and the
    mark cut at `cuts` (offsets into snapshot + mark), the replication stream behind."""
    wire = snapshot + MARK + REPLICATION
    header = b"\n\n$EOF:" + MARK + b"\r\n"
    edges = [0, *cuts, len(wire)]
    pieces = [wire[start:end] for start, end in itertools.pairwise(edges)]
    return [b"\n", header + pieces[0], *pieces[1:]]


SNAPSHOT = os.urandom(2 * CHUNK + 1234)
END = len(SNAPSHOT)


@pytest.mark.parametrize(
    ("snapshot", "cuts"),
    [
        (SNAPSHOT, [100, 130, 131, CHUNK, CHUNK + 7, END - 5, END + 17]),  # mark split
        (SNAPSHOT, [EOF_MARK_LENGTH - 1, END, END + EOF_MARK_LENGTH]),  # mark alone
        (SNAPSHOT, [END - 1, END + 1]),  # mark split one byte in
        (b"tiny", []),  # all of it arrives with the header
        (b"x" * 30, [10, 33, 50]),  # shorter than the mark, in crumbs
        (b"", [5]),  # an empty snapshot: the mark right after the header
    ],
    ids=["split-mark", "mark-alone", "one-byte-in", "with-header", "crumbs", "empty"],
)
def test_the_eof_form_yields_the_snapshot_however_the_bytes_arrive(
    tmp_path: Path, snapshot: bytes, cuts: list[int]
) -> None:
    with (
        ScriptedSource(diskless_pieces(snapshot, cuts)) as source,
        RdbStream("127.0.0.1", source.port, timeout=10) as stream,
    ):
        written = copy(stream, tmp_path / "out.rdb")
    assert source.error is None
    assert (tmp_path / "out.rdb").read_bytes() == snapshot
    assert written == stream.received == len(snapshot)


class StopAskedError(Exception):
    """What the exporter's progress callback raises for an export no longer wanted."""


def test_a_source_that_stalls_mid_snapshot_is_asked_about_within_the_timeout(
    tmp_path: Path,
) -> None:
    """Half a snapshot, then nothing: the reader keeps asking `waiting` (the exporter's
    chance to stop a cancelled export) instead of sitting out the whole timeout."""
    stalled = diskless_pieces(SNAPSHOT, [1000])[:2]  # the header and 1000 bytes, no more
    streams: list[RdbStream] = []
    asked_at: list[float] = []

    def waiting() -> None:
        if streams[0].received:  # not the keep-alive before the snapshot
            asked_at.append(time.monotonic())
            raise StopAskedError

    with ScriptedSource(stalled) as source:
        stream = RdbStream("127.0.0.1", source.port, timeout=30, waiting=waiting)
        streams.append(stream)
        began = time.monotonic()
        with stream, pytest.raises(StopAskedError):
            copy(stream, tmp_path / "out.rdb")
    assert stream.received == 1000 - EOF_MARK_LENGTH  # the rest may be the mark's start
    assert asked_at, "never asked"
    assert asked_at[0] - began < 5, "asked only once the timeout ran out"


def test_a_source_that_stalls_mid_snapshot_fails_the_read_after_the_timeout(
    tmp_path: Path,
) -> None:
    stalled = diskless_pieces(SNAPSHOT, [1000])[:2]  # the header and 1000 bytes, no more
    with ScriptedSource(stalled) as source:
        began = time.monotonic()
        with (
            RdbStream("127.0.0.1", source.port, timeout=1) as stream,
            pytest.raises(ReplicationError, match="timed out"),
        ):
            copy(stream, tmp_path / "out.rdb")
        took = time.monotonic() - began
    assert 1 <= took < 5, f"failed after {took:.1f}s, not after the 1 s timeout"
