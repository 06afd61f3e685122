"""What `bdbexport serve` puts in its store before serving: the operator's bootstrap
file, or the demo dataset on a first start; and the warning a bootstrap file readable
by other users earns (it may hold plaintext passwords, and always hashes that can be
attacked offline)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from bdbexport.composition.bootstrap_file import apply_bootstrap, read_bootstrap_file
from bdbexport.composition.demo_data import demo_document, find_local_redis
from bdbexport.composition.stores import Store

from .server_config import ServerConfig


def bootstrap_file_warning(path: Path) -> str | None:
    """A warning when `path` is readable (or writable) by anyone but its owner; None
    when it is not, or cannot be examined (reading it will then say why)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"warning: bootstrap file {path} is readable by other users (mode {mode:04o});"
        f" it holds passwords or their hashes: chmod 600 {path}, or delete it once the"
        " store is seeded\n"
    )


def seed_store(store: Store, config: ServerConfig) -> str:
    """Load the bootstrap file, or the demo dataset into an empty store (first start).

    Returns what to tell the operator (the demo users' one-time passwords among it);
    `serve` prints it only once the server is really serving, so a start that fails
    after seeding never shows passwords for a server nobody can reach."""
    if config.bootstrap is not None:
        # An `exporting` bdb of the operator's document has no worker here: its lease
        # starts now, so it fails like an abandoned export unless something renews it.
        lease_until = datetime.now(UTC) + config.lease_ttl
        report = apply_bootstrap(
            read_bootstrap_file(config.bootstrap), store, lease_until=lease_until
        )
        created = ", ".join(f"{len(v)} {k}" for k, v in report.created.items())
        return f"bootstrap {config.bootstrap}: created {created}; existing entries kept\n"
    if not store.is_new:
        return ""
    local_redis = find_local_redis()
    document, passwords = demo_document(local_redis)
    # The demo's export (db 4) carries its own lease, which never ends (demo_data.py):
    # the demo answers the same on any day, not only in the first minute.
    report = apply_bootstrap(document, store)
    new_users = set(report.created["users"])
    if not new_users:
        return ""  # another replica seeded the same empty store a moment earlier
    lines = ["First start: the store was seeded with the demo dataset (docs/http-api.md).\n"]
    if local_redis is not None:
        lines.append(
            f"Database 1 (orders) exports the Redis found at {local_redis.addr[0]}:"
            f"{local_redis.port}.\n"
        )
    lines.append("These passwords are shown once; keep them now:\n")
    # Only the users this process created: a replica that lost the race to seed an
    # empty shared store must not show passwords that were never stored.
    for user in document.users:
        if user.email in new_users:
            lines.append(f"  {user.role.value:<15} {user.email:<28} {passwords[user.email]}\n")
    return "".join(lines)
