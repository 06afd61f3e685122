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
from bdbexport.composition.demo_data import (
    ADMIN_PASSWORD_ENV,
    demo_document,
    demo_email,
    find_local_redis,
)
from bdbexport.composition.stores import Store, default_export_root
from bdbexport.domain.permissions import Role

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


PASSWORDS_FILE = "demo-passwords.txt"
"""Beside the store: the generated demo passwords when no terminal shows them."""


def demo_passwords_path(store_url: str) -> Path:
    """The file of the generated demo passwords: next to a SQLite store's file, else in
    the data directory of the default store (where its exports folder is)."""
    return default_export_root(store_url).parent / PASSWORDS_FILE


def seed_store(store: Store, config: ServerConfig, *, terminal: bool = False) -> str:
    """Load the bootstrap file, or the demo dataset into an empty store (first start).

    Returns what to tell the operator; `serve` prints it only once the server is really
    serving, so a start that fails after seeding tells nothing of a server nobody can
    reach. No secret goes into it unless `terminal` says a person reads it there: the
    admin's password from `BDBEXPORT_ADMIN_PASSWORD` is never repeated (the operator
    knows it; a log collector should not), and the generated passwords are shown once
    on a terminal, otherwise written to a 0600 file beside the store that the text
    names (a log is kept, copied and shipped; a file is read once and deleted)."""
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
    # Only the users this process created: a replica that lost the race to seed an
    # empty shared store must not show passwords that were never stored.
    from_env = os.environ.get(ADMIN_PASSWORD_ENV)
    rows = []
    for user in document.users:
        if user.email not in new_users:
            continue
        password = passwords[user.email]
        if from_env is not None and password == from_env:
            password = f"(the {ADMIN_PASSWORD_ENV} it was started with)"
        rows.append(f"  {user.role.value:<15} {user.email:<28} {password}\n")
    if terminal:
        lines.append("These passwords are shown once; keep them now:\n")
        lines.extend(rows)
        return "".join(lines)
    target = demo_passwords_path(config.store_url)
    _write_private(target, "".join(rows))
    if from_env is not None:
        admin = demo_email(Role.ADMIN)
        lines.append(f"Sign in as {admin} with the password in {ADMIN_PASSWORD_ENV}.\n")
    lines.append(
        f"The demo users' passwords are in {target} (mode 0600, this start's only copy):"
        " keep them, then delete the file.\n"
    )
    return "".join(lines)


def _write_private(path: Path, text: str) -> None:
    """`text` at the end of `path`, readable by its owner only from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Appended, not replaced: replicas seeding one shared store at once may each have
    # stored some of the users, and each writes only the passwords it stored.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)  # an existing file keeps its mode otherwise
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        file.write(f"# first start {stamp}: role, email, password\n{text}")
