"""The real CLI on a real pseudo-terminal, as a person sees it (colour codes removed),
and the demo store the README's first start seeds, for tests of what people read."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

from tests.support.server_process import ServerProcess, bdbexport_command

ENV = {"COLUMNS": "80", "LINES": "50", "TERM": "xterm", "NO_COLOR": "1"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_terminal(*args: str, store: str) -> str:
    """What the CLI shows on a terminal 80 columns wide (colour codes removed)."""
    main, secondary = pty.openpty()
    try:
        process = subprocess.run(
            [*bdbexport_command(), "--store", store, *args],
            stdin=subprocess.DEVNULL,
            stdout=secondary,
            stderr=subprocess.PIPE,
            env={**os.environ, **ENV},
            timeout=60,
            check=False,
        )
        os.close(secondary)
        secondary = -1
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other end is closed: all is read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
        if secondary >= 0:
            os.close(secondary)
    assert process.returncode == 0, process.stderr
    return ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n"))


def demo_store(home: Path) -> str:
    """The demo store, as the README's first start seeds it, in `home`."""
    url = f"sqlite://{home / 'bdbexport.sqlite3'}"
    env = {"BDBEXPORT_ADMIN_PASSWORD": "demo-admin-pw", "BDBEXPORT_HOME": str(home)}
    with ServerProcess(url, env=env, workdir=home).start():
        pass
    return url
