"""`bdbexport export ...`, `bdbexport import ...` and `bdbexport backup ...`: the family's
commands, one set instantiated for each member.

Each member has a start (`export start`, `import start`, `backup now`), `status` (with
`--watch`) and `reset`, built from the same pieces: local (`--store`) starts run in this
process, in the foreground, to their end, after the one order of checks (permission,
location, rules: docs/domain.md); remote (`--url`) starts answer at once, and `--watch`
follows the action through `GET /v1/actions/{uid}` as Redis Software clients do. Exit
codes are the one table's; a start or a watch that ends failed (or cancelled) exits 9.
`-o json` prints the bdb or the action objects. The starts differ only in their
options: where to (a backup may name none: the bdb's `backup_location`), the exporter or
importer a local run uses, and an import's `--flush`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.family import LIFECYCLES
from bdbexport.domain.locations import ExportLocation

from .action_commands import Interval, show_action, wait_for_action
from .errors import CliError
from .exit_codes import ExitCode
from .failures import failure_line
from .local_target import LocalTarget
from .output import shown_time
from .remote_target import RemoteTarget
from .runtime import (
    HELP_OPTIONS,
    State,
    location_from,
    open_target,
    progress_bar,
    run_command,
    with_retries,
)

Uid = Annotated[int, typer.Argument(help="Database uid.", metavar="UID")]
PathOption = Annotated[
    str | None, typer.Option(help="A mount_point location: this path.", metavar="PATH")
]
UrlOption = Annotated[
    str | None, typer.Option("--url", help="An ftp:// or ftps:// URL.", metavar="URL")
]
FileOption = Annotated[
    Path | None, typer.Option(help="A JSON file with any location object.", metavar="FILE")
]
Watch = Annotated[bool, typer.Option(help="Remote: follow the action to its end.")]
WatchStatus = Annotated[bool, typer.Option(help="Show live progress until it has ended.")]
Exporter = Annotated[
    str,
    typer.Option(
        help="Local: 'rdb' (a real snapshot) or 'simulated' (copies nothing).",
        metavar="rdb|simulated",
    ),
]
WAITING: dict[ActionKind, str | None] = {
    ActionKind.EXPORT: "waiting for Redis to start the snapshot",
    ActionKind.BACKUP: "waiting for Redis to start the snapshot",
    ActionKind.IMPORT: None,  # its status, `initializing`, says it waits for the file
}
"""What 0 % means while a member runs: shown beside the bar until the first percent."""
EXPORTERS = ("rdb", "simulated")
IMPORTERS = ("rdb", "memory")

HELP = {
    ActionKind.EXPORT: "Exports: start, status (--watch), reset.",
    ActionKind.IMPORT: "Imports of an RDB file: start, status (--watch), reset.",
    ActionKind.BACKUP: "Backups: now, status (--watch), reset.",
}


def member_line(bdb: dict[str, Any], kind: ActionKind) -> str:
    """`database 2 (sessions): import importing, 40% (action …)`, `database 1 (orders):
    export succeeded; last successful export …`, or the failure line."""
    failed = failure_line(bdb, kind.value)
    if failed is not None:
        return failed
    status = bdb[f"{kind.value}_status"]
    text = f"database {bdb['uid']} ({bdb['name']}): {kind.value} {status}"
    if status in {s.value for s in LIFECYCLES[kind].running}:
        text += f", {bdb[f'{kind.value}_progress']}%"
        if bdb.get("action_uid"):
            text += f" (action {bdb['action_uid']})"
    if bdb.get(f"last_{kind.value}_time"):
        text += f"; last successful {kind.value} {shown_time(bdb[f'last_{kind.value}_time'])}"
    return text


def accepted_line(bdb: dict[str, Any], kind: ActionKind) -> str:
    """What a remote start prints when it is accepted: one line with the action to
    follow (the bdb object is for `-o json`)."""
    action = bdb.get("action_uid") or "?"
    return (
        f"{kind.value} of database {bdb['uid']} ({bdb['name']}) started (action {action});"
        f" follow it: bdbexport action wait {action}"
    )


def finish_member(state: State, bdb: dict[str, Any], kind: ActionKind) -> int | None:
    """The end of a followed member: the bdb, or its line; exit 9 for a failure."""
    if state.output.as_json:
        state.output.json(bdb)
    else:
        state.output.line(member_line(bdb, kind))
    failed = bdb[f"{kind.value}_status"] == "failed"
    return int(ExitCode.EXPORT_FAILED) if failed else None


def follow_member(
    state: State, target: LocalTarget | RemoteTarget, uid: int, kind: ActionKind, interval: float
) -> int | None:
    """Poll the bdb while the member runs, under a progress bar; then its line."""
    running = {status.value for status in LIFECYCLES[kind].running}
    field = f"{kind.value}_status"
    bdb = target.get_bdb(uid)
    with progress_bar(state, f"{kind.value} of database {uid}", waiting=WAITING[kind]) as report:
        while bdb[field] in running:
            report(int(bdb[f"{kind.value}_progress"]))
            time.sleep(max(interval, 0.05))
            bdb = target.get_bdb(uid)
        report(int(bdb[f"{kind.value}_progress"]))
    return finish_member(state, bdb, kind)


def start_member(
    state: State,
    kind: ActionKind,
    uid: int,
    location: ExportLocation | None,
    *,
    worker: str,
    watch: bool,
    interval: float,
    flush: bool = False,
) -> int | None:
    """Any member's start: locally it runs here to its end under a progress bar (with
    the exporter or importer `worker` names); remotely one line says it was accepted
    (the started bdb with `-o json`), or with `--watch` the action is followed to its
    end and printed (when it did not complete, in human output, the member's failure
    line: why, and a hint)."""
    allowed = IMPORTERS if kind is ActionKind.IMPORT else EXPORTERS
    if worker not in allowed:
        option = "--importer" if kind is ActionKind.IMPORT else "--exporter"
        raise CliError("invalid_argument", f"{option} must be {' or '.join(allowed)}")
    target = open_target(state)
    try:
        if isinstance(target, LocalTarget):
            local = target
            label = f"{kind.value} of database {uid}"
            with progress_bar(state, label, waiting=WAITING[kind]) as report:
                bdb = with_retries(
                    state,
                    lambda: local.start_action(kind, uid, location, report, worker, flush=flush),
                )
            return finish_member(state, bdb, kind)
        remote = target
        started = with_retries(state, lambda: remote.start_action(kind, uid, location, flush=flush))
        if not watch:
            if state.output.as_json:
                state.output.json(started)
            else:
                state.output.line(accepted_line(started, kind))
            return None
        action = wait_for_action(state, target, started["action_uid"], interval)
        if action["status"] == "completed" or state.output.as_json:
            show_action(state, action)
        else:  # why it failed, with a hint when the detail says what to do
            state.output.line(member_line(target.get_bdb(uid), kind))
        return None if action["status"] == "completed" else int(ExitCode.EXPORT_FAILED)
    finally:
        target.close()


def member_app(kind: ActionKind) -> typer.Typer:
    """The member's group with its `status` and `reset`; its start is added below."""
    app = typer.Typer(
        help=HELP[kind], no_args_is_help=True, context_settings=HELP_OPTIONS, rich_markup_mode=None
    )
    noun = kind.value

    @app.command("status", help=f"Show the {noun} status; with --watch, follow it to its end.")
    def status(
        ctx: typer.Context,
        uid: Uid,
        watch: WatchStatus = False,
        interval: Interval = 0.5,
    ) -> None:
        def body(state: State) -> int | None:
            target = open_target(state)
            try:
                if watch:
                    return follow_member(state, target, uid, kind, interval)
                bdb = target.get_bdb(uid)
            finally:
                target.close()
            if state.output.as_json:
                state.output.json(bdb)
            else:
                state.output.line(member_line(bdb, kind))
            return None

        run_command(ctx, body)

    @app.command("reset", help=f"Reset the {noun} status to idle; refused while it runs.")
    def reset(ctx: typer.Context, uid: Uid) -> None:
        def body(state: State) -> None:
            target = open_target(state)
            try:
                bdb = with_retries(state, lambda: target.reset_kind(uid, kind))
            finally:
                target.close()
            if state.output.as_json:
                state.output.json(bdb)
            else:
                state.output.line(f"database {uid} ({bdb['name']}): {noun} status reset to idle")

        run_command(ctx, body)

    return app


MEMBER_APPS = {kind: member_app(kind) for kind in ActionKind}
export_app = MEMBER_APPS[ActionKind.EXPORT]
import_app = MEMBER_APPS[ActionKind.IMPORT]
backup_app = MEMBER_APPS[ActionKind.BACKUP]


@export_app.command("start")
def export_start(
    ctx: typer.Context,
    uid: Uid,
    path: Annotated[
        str | None,
        typer.Option(
            help="Export to this directory (relative: to the working directory).", metavar="PATH"
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Export to this ftp:// or ftps:// URL.", metavar="URL"),
    ] = None,
    location_file: Annotated[
        Path | None,
        typer.Option(help="A JSON file with any export_location object.", metavar="FILE"),
    ] = None,
    watch: Watch = False,
    interval: Interval = 0.5,
    exporter: Exporter = "rdb",
) -> None:
    """Start an export. Locally it runs in this process and returns when it ends."""
    run_command(
        ctx,
        lambda state: start_member(
            state,
            ActionKind.EXPORT,
            uid,
            location_from(path, url, location_file),
            worker=exporter,
            watch=watch,
            interval=interval,
        ),
    )


@import_app.command("start")
def import_start(
    ctx: typer.Context,
    uid: Uid,
    path: Annotated[
        str | None, typer.Option(help="Import this RDB file (mount_point).", metavar="PATH")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Import the RDB file at this ftp(s):// URL.", metavar="URL"),
    ] = None,
    location_file: FileOption = None,
    flush: Annotated[
        bool, typer.Option(help="Replace the database's data (default: add the file's keys).")
    ] = False,
    watch: Watch = False,
    interval: Interval = 0.5,
    importer: Annotated[
        str,
        typer.Option(help="Local: 'rdb' (into the bdb's Redis) or 'memory'.", metavar="rdb|memory"),
    ] = "rdb",
) -> None:
    """Start an import. Locally it runs in this process and returns when it ends."""
    run_command(
        ctx,
        lambda state: start_member(
            state,
            ActionKind.IMPORT,
            uid,
            location_from(path, url, location_file, verb="import start"),
            worker=importer,
            watch=watch,
            interval=interval,
            flush=flush,
        ),
    )


@backup_app.command("now")
def backup_now(
    ctx: typer.Context,
    uid: Uid,
    path: PathOption = None,
    url: UrlOption = None,
    location_file: FileOption = None,
    watch: Watch = False,
    interval: Interval = 0.5,
    exporter: Exporter = "rdb",
) -> None:
    """Back up now, to the database's backup_location (or the one given). Locally it
    runs in this process and returns when it ends."""
    given = any(value is not None for value in (path, url, location_file))
    run_command(
        ctx,
        lambda state: start_member(
            state,
            ActionKind.BACKUP,
            uid,
            location_from(path, url, location_file, verb="backup now") if given else None,
            worker=exporter,
            watch=watch,
            interval=interval,
        ),
    )
