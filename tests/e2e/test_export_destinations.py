"""Where a real server's exports may go: only inside its export roots, only to hosts
its egress policy permits, never over an existing file; and a destination that stops
making progress fails the export in bounded time.

Each case is one the issue found open on the server before (docs/exports.md):
`mount_point` paths with `..`, relative ones, `/proc/self/cwd`, `/proc/self/root`,
symlinked directories were accepted; refusals told an existing file from a missing
one; two bdbs named `orders` and `orders!` exported to one directory left one file;
an FTP URL could name the server's own loopback.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_real_exports import SourceRedis, bdb_on, export, serve, wait_end
from tests.e2e.test_serve import ADMIN

pytestmark = pytest.mark.slow


@pytest.fixture
def source(tmp_path: Path) -> Any:
    server = SourceRedis(tmp_path / "source").start()
    yield server
    server.stop()


def outside_paths(tmp_path: Path) -> list[str]:
    """Paths that lead out of the default root (`tmp_path/exports`), each in its own way."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "exports" / "link-out"
    link.symlink_to(elsewhere, target_is_directory=True)
    return [
        "/etc/passwd",  # an existing file
        "/proc/self",  # an existing directory
        "/no/such/directory",  # nothing at all
        str(tmp_path / "exports" / ".." / "elsewhere"),  # `..`
        "../elsewhere",  # relative: resolved against the first root
        f"/proc/self/cwd/{tmp_path}",  # the server's cwd, whatever it is
        f"/proc/self/root{elsewhere}",  # the root seen through /proc
        str(link),  # a symlink inside the root, leading out
        str(tmp_path / "exports" / "link-out" / "deeper"),
        "/tmp\x00/x",  # an embedded NUL
    ]


def test_paths_outside_the_export_roots_are_refused_alike_and_nothing_starts(
    tmp_path: Path, source: SourceRedis
) -> None:
    (tmp_path / "exports").mkdir()
    paths = outside_paths(tmp_path)
    with serve(tmp_path, [bdb_on(source.port)]).start() as server:
        descriptions = set()
        for path in paths:
            refused = export(server, 1, {"type": "mount_point", "path": path})
            assert refused.status_code == 400, (path, refused.text)
            assert refused.json()["error_code"] == "export_path_not_allowed"
            descriptions.add(refused.json()["description"])
        bdb = httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).json()
    # One answer for every path: it tells nothing about what exists on the server.
    assert len(descriptions) == 1
    (description,) = descriptions
    assert str(tmp_path) not in description
    assert "/" not in description.replace("--export-root", "")
    assert bdb["export_status"] == "idle"
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_relative_path_lands_in_the_first_root_and_names_never_collide(
    tmp_path: Path, source: SourceRedis
) -> None:
    """`orders` and `orders!` make the same safe name: the bdb and action uids in the
    file name keep both files."""
    root = tmp_path / "roots" / "first"
    root.mkdir(parents=True)
    (root / "nightly").mkdir()
    twins = [
        {**bdb_on(source.port, 1), "name": "orders"},
        {**bdb_on(source.port, 2), "name": "orders!"},
    ]
    with serve(tmp_path, twins, "--export-root", str(root)).start() as server:
        for uid in (1, 2):
            started = export(server, uid, {"type": "mount_point", "path": "nightly"})
            assert started.status_code == 200, started.text
            bdb, _ = wait_end(server, uid)
            assert bdb["export_status"] == "succeeded", bdb
        again = export(server, 1, {"type": "mount_point", "path": str(root / "nightly")})
        assert again.status_code == 200, again.text
        assert wait_end(server, 1)[0]["export_status"] == "succeeded"
        default_root = export(server, 1, {"type": "mount_point", "path": str(tmp_path / "exports")})
        assert default_root.status_code == 400  # --export-root replaces the default
    files = sorted(path.name for path in (root / "nightly").iterdir())
    assert len(files) == 3, files
    assert sum(name.startswith("orders-") and "-db1-" in name for name in files) == 2
    assert sum(name.startswith("orders-") and "-db2-" in name for name in files) == 1
    assert all(os.stat(root / "nightly" / name).st_mode & 0o077 == 0 for name in files)


def loopback_name() -> str:
    """A name of this machine that resolves to loopback (not `localhost`, which is
    judged without resolving)."""
    name = socket.gethostname()
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    except OSError:
        addresses = set()
    if not addresses or not all(a.startswith("127.") or a == "::1" for a in addresses):
        pytest.skip(f"platform lacks a host name resolving to loopback ({name}: {addresses})")
    return name


def test_loopback_ftp_destinations_are_refused_unless_allowed(
    tmp_path: Path, source: SourceRedis
) -> None:
    """The server must not become a way to reach its own loopback services: an FTP URL
    naming a loopback address is refused at start, a name that resolves to loopback
    fails the export, and neither ever connects."""
    (tmp_path / "exports").mkdir()
    name = loopback_name()
    with (
        socket.create_server(("127.0.0.1", 0)) as bait,
        serve(tmp_path, [bdb_on(source.port)]).start() as server,
    ):
        port = bait.getsockname()[1]
        for host in ("127.0.0.1", "localhost", "127.9.9.9", "169.254.169.254", "0.0.0.0"):
            url = f"ftp://u:p@{host}:{port}/"
            refused = export(server, 1, {"type": "url", "url": url})
            assert refused.status_code == 400, (host, refused.text)
            assert refused.json()["error_code"] == "egress_not_allowed"
        started = export(server, 1, {"type": "url", "url": f"ftp://u:p@{name}:{port}/"})
        assert started.status_code == 200, started.text
        bdb, _ = wait_end(server, 1)
        bait.setblocking(False)
        with pytest.raises(BlockingIOError):
            bait.accept()  # nobody ever connected
    assert (bdb["export_status"], bdb["export_failure_reason"]) == ("failed", "no-permission")
    assert "not one this server may connect to" in bdb["export_failure_detail"]


class TricklingFtpServer:
    """An FTP server that sends its banner one byte every `pause` seconds, forever."""

    def __init__(self, pause: float = 0.5) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pause = pause
        self.stop = threading.Event()
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TricklingFtpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(10)

    def _serve(self) -> None:
        self.listener.setblocking(False)
        clients: list[socket.socket] = []
        try:
            while not self.stop.is_set():
                while True:  # every connection waiting, at once
                    try:
                        client, _ = self.listener.accept()
                    except OSError:
                        break
                    clients.append(client)
                    self.connections += 1
                for client in list(clients):
                    try:
                        client.send(b"2")
                    except OSError:
                        clients.remove(client)
                        client.close()
                self.stop.wait(self.pause)
        finally:
            for client in clients:
                client.close()


def test_a_destination_that_stops_making_progress_fails_within_the_export_timeout(
    tmp_path: Path, source: SourceRedis
) -> None:
    """Four exports to an FTP server that trickles its banner held every worker for
    minutes; with `--export-timeout 3` each fails `general-error` in about 3 s."""
    (tmp_path / "exports").mkdir()
    bdbs = [bdb_on(source.port, uid) for uid in range(1, 5)]
    extra = ("--allow-egress", "127.0.0.1", "--export-timeout", "3")
    with TricklingFtpServer() as ftp, serve(tmp_path, bdbs, *extra).start() as server:
        began = time.monotonic()
        for uid in range(1, 5):
            url = f"ftp://u:p@127.0.0.1:{ftp.port}/"
            assert export(server, uid, {"type": "url", "url": url}).status_code == 200
        ends = [wait_end(server, uid, timeout=30)[0] for uid in range(1, 5)]
        took = time.monotonic() - began
        assert ftp.connections == 4
    for bdb in ends:
        assert (bdb["export_status"], bdb["export_failure_reason"]) == ("failed", "general-error")
        assert "no complete reply from the FTP server within 3s" in bdb["export_failure_detail"]
    assert took < 20  # not minutes: the bound is per reply, not per byte
