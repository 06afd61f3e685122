"""`bdbexport serve` as the README starts it, with a real `redis-server` as the database.

The README's server: the embedded store in `$BDBEXPORT_HOME`, the real (`rdb`) exporter,
no `--export-root` (so the one export root is the store's `exports` folder) and bdbs
pointed at a Redis with `bdbexport db set UID --endpoint HOST:PORT`, the local CLI on
the same store. Tests that need an export to run for a while slow the source Redis
instead of simulating the export: `rdb-key-save-delay` makes the snapshot's child
sleep that many microseconds after each key, and `repl-diskless-sync-delay 0` starts
the snapshot at once rather than after Redis's default 5 s wait for more replicas.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess, bdbexport_command

STORE_FILE = "bdbexport.sqlite3"
"""The embedded store's file name in `$BDBEXPORT_HOME` (composition/stores.py)."""


def filled_redis(
    directory: Path, *, keys: int, key_save_delay_us: int = 0, value_bytes: int = 64
) -> RedisServer:
    """A started redis-server holding `keys` string keys whose snapshot takes at least
    `keys * key_save_delay_us` microseconds to stream."""
    source = RedisServer(directory).start()
    client = redis.Redis(port=source.port, socket_timeout=10)
    try:
        pipe = client.pipeline(transaction=False)
        for index in range(keys):
            pipe.set(f"key:{index}", b"v" * value_bytes)
        pipe.execute()
        client.config_set("repl-diskless-sync-delay", 0)
        client.config_set("rdb-key-save-delay", key_save_delay_us)
    finally:
        client.close()
    return source


@dataclass
class DefaultServe:
    """A running default `serve` and the local CLI on its store."""

    server: ServerProcess
    home: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def store_url(self) -> str:
        """The store the server opened: `$BDBEXPORT_HOME/bdbexport.sqlite3`."""
        return f"sqlite://{self.home / STORE_FILE}"

    @property
    def export_root(self) -> Path:
        """The default export root: the `exports` folder next to the store's file."""
        return self.home / "exports"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The local CLI on the server's store, as the README's reader runs it."""
        return subprocess.run(
            [*bdbexport_command(), *args],
            capture_output=True,
            text=True,
            env=reader_env(self.home),
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def point(self, uid: int, source: RedisServer) -> None:
        """`bdbexport db set UID --endpoint 127.0.0.1:PORT`, as the README does."""
        done = self.cli("db", "set", str(uid), "--endpoint", f"127.0.0.1:{source.port}")
        assert done.returncode == 0, done.stderr


def reader_env(home: Path) -> dict[str, str]:
    """The caller's environment without its bdbexport settings, with `home` as
    `BDBEXPORT_HOME` (a developer's own store and server must not leak into the CLI;
    the server is given its store and home explicitly)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BDBEXPORT_")}
    env["BDBEXPORT_HOME"] = str(home)
    return env


@contextmanager
def default_serve(
    home: Path,
    bootstrap: dict[str, Any] | None,
    *,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[DefaultServe]:
    """`bdbexport serve [--bootstrap FILE]` in `home` (its `$BDBEXPORT_HOME`): the real
    exporter and the default export root; without `bootstrap`, the demo cluster the
    README's first start seeds. `args` adds options a test needs that leave both alone
    (`--access-log off`, ...); `env` adds variables (`BDBEXPORT_ADMIN_PASSWORD`, ...)."""
    home.mkdir(parents=True, exist_ok=True)
    options = list(args)
    if bootstrap is not None:
        bootstrap_file = home / "bootstrap.json"
        bootstrap_file.write_text(json.dumps(bootstrap))
        options = ["--bootstrap", str(bootstrap_file), *options]
    environment = {**reader_env(home), **(env or {})}
    # The store the README's server opens by itself (`$BDBEXPORT_HOME/bdbexport.sqlite3`),
    # named because ServerProcess always passes --store; the startup line is checked.
    store = f"sqlite://{home / STORE_FILE}"
    process = ServerProcess(store, args=options, env=environment, workdir=home)
    with process:
        process.start()
        assert f"(store {store}, exporter rdb)" in process.stdout(), process.stdout()
        yield DefaultServe(process, home)
