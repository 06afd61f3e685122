"""A FUSE file system whose lookups hang: what a stale NFS mount does to a server.

Run as a script (`python hanging_fs.py MOUNTPOINT`), it mounts, through libfuse 3 and
the `mfusepy` binding (the `test` extra; Debian's `fuse3` gives `fusermount3`), a
file system whose root answers and is empty, and where looking up any name under it
never returns. `hanging_mount(path)` runs it in a process of its own for a test, and
ends it by killing that process (every lookup still waiting then fails with
`ENOTCONN`) and unmounting lazily, so nothing stays stuck after the test.

`.ci/run` mounts one before the tests and fails when it cannot (no `/dev/fuse`, no
`fusermount3`), so a test built on it never runs where it could not work.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MOUNT_DEADLINE = 30.0


def _serve(mountpoint: str) -> None:
    import mfusepy  # type: ignore[import-untyped,unused-ignore]

    class Hanging(mfusepy.Operations):  # type: ignore[misc,unused-ignore]
        use_ns = True

        def __init__(self) -> None:
            self.never = threading.Event()

        def getattr(self, path: str, fh: object = None) -> dict[str, Any]:
            if path == "/":
                now = time.time_ns()
                return {
                    "st_mode": stat.S_IFDIR | 0o700,
                    "st_nlink": 2,
                    "st_ctime": now,
                    "st_mtime": now,
                    "st_atime": now,
                }
            self.never.wait()  # a lookup under the root: the hang
            raise mfusepy.FuseOSError(2)

        def readdir(self, path: str, fh: object) -> list[str]:
            return [".", ".."]

    mfusepy.FUSE(Hanging(), mountpoint, foreground=True, nothreads=False)


@contextlib.contextmanager
def hanging_mount() -> Iterator[Path]:
    """A fresh directory with the hanging file system mounted on it, outside pytest's
    temporary directories (pytest removes old ones, and would hang on a leftover
    mount); unmounted and removed afterwards."""
    mountpoint = Path(tempfile.mkdtemp(prefix="bdbexport-hung-"))
    log = mountpoint.with_suffix(".log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(mountpoint)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + MOUNT_DEADLINE
        while not os.path.ismount(mountpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the hanging FUSE file system did not mount on {mountpoint}"
                    f" (needs /dev/fuse, fusermount3 and mfusepy):\n{log.read_text()}"
                )
            time.sleep(0.05)
        yield mountpoint
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)  # waiting lookups fail with ENOTCONN
            process.wait()
        fusermount = shutil.which("fusermount3") or "fusermount"
        subprocess.run([fusermount, "-u", "-z", str(mountpoint)], check=False, capture_output=True)
        with contextlib.suppress(OSError):
            mountpoint.rmdir()
            log.unlink()


if __name__ == "__main__":
    _serve(sys.argv[1])
