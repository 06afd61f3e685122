"""`bdbexport import ...`, `bdbexport backup ...` and `bdbexport action ...`: the rest of
the family and the Actions API, with `export`'s conventions.

Local (`--store`) starts run in this process, in the foreground, to their end; remote
(`--url`) starts answer at once, and `--watch` follows the action through
`GET /v1/actions/{uid}` as Redis Software clients do. Exit codes are the one table's;
an import or backup that fails (or is cancelled), or an action waited for that does, ends
with 9. `-o json` prints the bdb or the action objects.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.family import LIFECYCLES

from .errors import CliError
from .exit_codes import ExitCode
from .failures import failure_line
from .local_target import LocalTarget
from .main import (
    State,
    location_from,
    open_target,
    progress_bar,
    run_command,
    with_retries,
)
from .remote_target import RemoteTarget


class labelled_progress(progress_bar):  # noqa: N801 - a context manager, reads as a phrase
    """`export`'s progress bar, labelled with what it follows (an import, a backup, an
    action) instead of "export of database N"."""

    def __init__(self, state: State, label: str) -> None:
        super().__init__(state, 0)
        self.progress = Progress(
            TextColumn(label),
            BarColumn(),
            TaskProgressColumn(),
            console=state.output.console,
            transient=True,
        )
        self.task = self.progress.add_task(label, total=100)


import_app = typer.Typer(help="Import an RDB file into a database, and follow or reset it.")
backup_app = typer.Typer(help="Back a database up now, and follow or reset its backup.")
action_app = typer.Typer(help="The Actions API: every export, import and backup.")

FINISHED = {"completed", "failed", "cancelled"}
ACTION_COLUMNS = ["action_uid", "name", "status", "progress", "object_name", "start_time"]

Uid = Annotated[int, typer.Argument(help="Database uid.")]
ActionUid = Annotated[str, typer.Argument(help="The action's uid (a start's action_uid).")]
Interval = Annotated[float, typer.Option(min=0.05, help="Seconds between polls (0.05 at least).")]
PathOption = Annotated[str | None, typer.Option(help="A mount_point location: this path.")]
UrlOption = Annotated[str | None, typer.Option("--url", help="An ftp:// or ftps:// URL.")]
FileOption = Annotated[Path | None, typer.Option(help="A JSON file with any location object.")]


def member_line(bdb: dict[str, Any], kind: ActionKind) -> str:
    """`database 2 (sessions): import importing, 40%` (or its failure line)."""
    failed = failure_line(bdb, kind.value)
    if failed is not None:
        return failed
    status = bdb[f"{kind.value}_status"]
    text = f"database {bdb['uid']} ({bdb['name']}): {kind.value} {status}"
    if bdb.get("action_uid") and status in {s.value for s in LIFECYCLES[kind].running}:
        text += f", {bdb[f'{kind.value}_progress']}% (action {bdb['action_uid']})"
    return text


def finish_member(state: State, bdb: dict[str, Any], kind: ActionKind) -> int | None:
    if state.output.as_json:
        state.output.json(bdb)
    else:
        state.output.line(member_line(bdb, kind))
    failed = bdb[f"{kind.value}_status"] == "failed"
    return int(ExitCode.EXPORT_FAILED) if failed else None


def follow_action(
    state: State,
    target: LocalTarget | RemoteTarget,
    action_uid: str,
    interval: float,
    timeout: float | None = None,
) -> int | None:
    """Poll the action until it is completed, failed or cancelled (redisctl's
    `poll_action`); print it; 9 unless it completed."""
    deadline = None if timeout is None else time.monotonic() + timeout
    action = target.get_action(action_uid)
    with labelled_progress(state, f"action {action_uid}") as report:
        while action["status"] not in FINISHED:
            report(int(action["progress"]))
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    "wait_timeout",
                    f"action {action_uid} is still {action['status']} after {timeout:g}s",
                )
            time.sleep(interval)
            action = target.get_action(action_uid)
        report(int(action["progress"]))
    show_action(state, action)
    return None if action["status"] == "completed" else int(ExitCode.EXPORT_FAILED)


def show_action(state: State, action: dict[str, Any]) -> None:
    if state.output.as_json:
        state.output.json(action)
        return
    text = (
        f"action {action['action_uid']}: {action['name']} of {action['object_name']}"
        f" {action['status']}, {action['progress']}%"
    )
    if action.get("error"):
        text += f" ({action['error']})"
    state.output.line(text)


def _follow_member(
    state: State, target: LocalTarget | RemoteTarget, uid: int, kind: ActionKind, interval: float
) -> int | None:
    running = {status.value for status in LIFECYCLES[kind].running}
    field = f"{kind.value}_status"
    bdb = target.get_bdb(uid)
    with labelled_progress(state, f"{kind.value} of database {uid}") as report:
        while bdb[field] in running:
            report(int(bdb[f"{kind.value}_progress"]))
            time.sleep(interval)
            bdb = target.get_bdb(uid)
        report(int(bdb[f"{kind.value}_progress"]))
    return finish_member(state, bdb, kind)


def _status(ctx: typer.Context, uid: int, kind: ActionKind, watch: bool, interval: float) -> None:
    def body(state: State) -> int | None:
        target = open_target(state)
        try:
            if watch:
                return _follow_member(state, target, uid, kind, interval)
            bdb = target.get_bdb(uid)
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(bdb)
        else:
            state.output.line(member_line(bdb, kind))
        return None

    run_command(ctx, body)


def _reset(ctx: typer.Context, uid: int, kind: ActionKind) -> None:
    def body(state: State) -> None:
        target = open_target(state)
        try:
            bdb = with_retries(state, lambda: target.reset_kind(uid, kind))
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(bdb)
        else:
            state.output.line(f"database {uid} ({bdb['name']}): {kind.value} status reset to idle")

    run_command(ctx, body)


def _start_member(
    state: State,
    uid: int,
    kind: ActionKind,
    *,
    local: Callable[[LocalTarget, Callable[[int], None]], dict[str, Any]],
    remote: Callable[[RemoteTarget], dict[str, Any]],
    watch: bool,
    interval: float,
) -> int | None:
    """An import or backup start, the same way for both: locally it runs here to its
    end under a progress bar; remotely the started bdb is printed at once, or with
    `--watch` the action is followed to its end."""
    target = open_target(state)
    try:
        if isinstance(target, LocalTarget):
            local_target = target
            with labelled_progress(state, f"{kind.value} of database {uid}") as report:
                bdb = with_retries(state, lambda: local(local_target, report))
            return finish_member(state, bdb, kind)
        remote_target = target
        started = with_retries(state, lambda: remote(remote_target))
        if not watch:
            state.output.bdb(started)
            return None
        return follow_action(state, target, started["action_uid"], interval)
    finally:
        target.close()


# --- import -------------------------------------------------------------------------------


@import_app.command("start")
def import_start(
    ctx: typer.Context,
    uid: Uid,
    path: Annotated[str | None, typer.Option(help="Import this RDB file (mount_point).")] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Import the RDB file at this ftp(s):// URL.")
    ] = None,
    location_file: FileOption = None,
    flush: Annotated[
        bool, typer.Option(help="Replace the database's data (default: add the file's keys).")
    ] = False,
    watch: Annotated[bool, typer.Option(help="Remote: follow the import to its end.")] = False,
    interval: Interval = 0.5,
    importer: Annotated[
        str, typer.Option(help="Local: 'rdb' (into the bdb's Redis) or 'memory'.")
    ] = "rdb",
) -> None:
    """Start an import. Locally it runs in this process and returns when it ends."""

    def body(state: State) -> int | None:
        source = location_from(path, url, location_file)
        return _start_member(
            state,
            uid,
            ActionKind.IMPORT,
            local=lambda target, report: target.start_import(uid, source, flush, report, importer),
            remote=lambda target: target.start_import(uid, source, flush),
            watch=watch,
            interval=interval,
        )

    run_command(ctx, body)


@import_app.command("status")
def import_status(
    ctx: typer.Context,
    uid: Uid,
    watch: Annotated[bool, typer.Option(help="Follow a running import to its end.")] = False,
    interval: Interval = 0.5,
) -> None:
    """Show the import status; with --watch, follow a running import to its end."""
    _status(ctx, uid, ActionKind.IMPORT, watch, interval)


@import_app.command("reset")
def import_reset(ctx: typer.Context, uid: Uid) -> None:
    """Reset the import status to idle; refused while importing."""
    _reset(ctx, uid, ActionKind.IMPORT)


# --- backup -------------------------------------------------------------------------------


@backup_app.command("now")
def backup_now(
    ctx: typer.Context,
    uid: Uid,
    path: PathOption = None,
    url: UrlOption = None,
    location_file: FileOption = None,
    watch: Annotated[bool, typer.Option(help="Remote: follow the backup to its end.")] = False,
    interval: Interval = 0.5,
    exporter: Annotated[
        str, typer.Option(help="Local: 'rdb' (a real snapshot) or 'simulated'.")
    ] = "rdb",
) -> None:
    """Back up now, to the database's backup_location (or the one given). Locally it
    runs in this process and returns when it ends."""

    def body(state: State) -> int | None:
        given = any(value is not None for value in (path, url, location_file))
        location = location_from(path, url, location_file) if given else None
        return _start_member(
            state,
            uid,
            ActionKind.BACKUP,
            local=lambda target, report: target.start_backup(uid, location, report, exporter),
            remote=lambda target: target.start_backup(uid, location),
            watch=watch,
            interval=interval,
        )

    run_command(ctx, body)


@backup_app.command("status")
def backup_status(
    ctx: typer.Context,
    uid: Uid,
    watch: Annotated[bool, typer.Option(help="Follow a running backup to its end.")] = False,
    interval: Interval = 0.5,
) -> None:
    """Show the backup status; with --watch, follow a running backup to its end."""
    _status(ctx, uid, ActionKind.BACKUP, watch, interval)


@backup_app.command("reset")
def backup_reset(ctx: typer.Context, uid: Uid) -> None:
    """Reset the backup status to idle; refused while a backup runs."""
    _reset(ctx, uid, ActionKind.BACKUP)


# --- actions ------------------------------------------------------------------------------


@action_app.command("list")
def action_list(
    ctx: typer.Context,
    db: Annotated[int | None, typer.Option(help="Only this database's actions.")] = None,
) -> None:
    """Every export, import and backup the store remembers, newest first."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            actions = target.list_actions(db)
        finally:
            target.close()
        state.output.records(actions, ACTION_COLUMNS)

    run_command(ctx, body)


@action_app.command("show")
def action_show(ctx: typer.Context, action_uid: ActionUid) -> None:
    """One action: its status, progress and, once ended, how."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            action = target.get_action(action_uid)
        finally:
            target.close()
        show_action(state, action)

    run_command(ctx, body)


@action_app.command("cancel")
def action_cancel(ctx: typer.Context, action_uid: ActionUid) -> None:
    """Cancel a running export, import or backup (needs the permission to start it)."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            action = target.cancel_action(action_uid)
        finally:
            target.close()
        show_action(state, action)

    run_command(ctx, body)


@action_app.command("wait")
def action_wait(
    ctx: typer.Context,
    action_uid: ActionUid,
    interval: Interval = 0.5,
    timeout: Annotated[
        float | None, typer.Option(min=0, help="Give up after this many seconds (exit 6).")
    ] = None,
) -> None:
    """Wait until the action is completed (exit 0), failed or cancelled (exit 9)."""

    def body(state: State) -> int | None:
        target = open_target(state)
        try:
            return follow_action(state, target, action_uid, interval, timeout)
        finally:
            target.close()

    run_command(ctx, body)
