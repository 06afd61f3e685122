"""`bdbexport db ...`: list, show, add and set databases (add and set write the local
store)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .errors import CliError
from .local_target import parse_endpoint
from .runtime import HELP_OPTIONS, State, local_only, location_from, open_target, run_command

db_app = typer.Typer(
    help="Databases: list, show, add and set (local).",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
    rich_markup_mode=None,
)


@db_app.command("list")
def db_list(ctx: typer.Context) -> None:
    """List databases and their export status."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            state.output.bdbs(target.list_bdbs())
        finally:
            target.close()

    run_command(ctx, body)


@db_app.command("show")
def db_show(
    ctx: typer.Context, uid: Annotated[int, typer.Argument(help="Database uid.", metavar="UID")]
) -> None:
    """Show one database (the bdb object)."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            state.output.bdb(target.get_bdb(uid))
        finally:
            target.close()

    run_command(ctx, body)


@db_app.command("add")
def db_add(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="Database uid (a positive integer).", metavar="UID")],
    name: Annotated[str, typer.Argument(help="Database name.", metavar="NAME")],
    module: Annotated[
        list[str] | None,
        typer.Option("--module", help="A module loaded in it (repeatable).", metavar="MODULE"),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Its data endpoint, HOST:PORT ([::1]:6379 for IPv6).",
            show_default=False,
            metavar="HOST:PORT",
        ),
    ] = None,
) -> None:
    """Add a database to the local store."""

    def body(state: State) -> None:
        endpoints = [parse_endpoint(endpoint)] if endpoint is not None else []
        target = local_only(state, "db add")
        try:
            added = target.add_bdb(uid, name, module or [], endpoints)
            if state.output.as_json:
                state.output.json(added)
            else:
                state.output.line(added_line(added))
        finally:
            target.close()

    run_command(ctx, body)


@db_app.command("set", short_help="Change a database of the local store (endpoint, backups).")
def db_set(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="Database uid.", metavar="UID")],
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Its data endpoint, HOST:PORT ([::1]:6379 for IPv6): where exports read it.",
            show_default=False,
            metavar="HOST:PORT",
        ),
    ] = None,
    backup: Annotated[
        bool | None,
        typer.Option(
            "--backup/--no-backup", help="Periodic backups on or off.", show_default=False
        ),
    ] = None,
    backup_interval: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Seconds between periodic backups: 1 to 31622400 (366 days).",
            show_default=False,
            metavar="SECONDS",
        ),
    ] = None,
    backup_interval_offset: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Seconds after each interval's start (from the epoch, UTC) a backup is due;"
            " below the interval.",
            show_default=False,
            metavar="SECONDS",
        ),
    ] = None,
    backup_path: Annotated[
        str | None,
        typer.Option(
            help="Back up to this directory (a mount_point backup_location).", metavar="DIR"
        ),
    ] = None,
    backup_url: Annotated[
        str | None, typer.Option(help="Back up to this ftp:// or ftps:// URL.", metavar="URL")
    ] = None,
) -> None:
    """Change a database of the local store: its data endpoint, its backup settings."""

    def body(state: State) -> None:
        settings: dict[str, Any] = {
            name: value
            for name, value in (
                ("backup", backup),
                ("backup_interval", backup_interval),
                ("backup_interval_offset", backup_interval_offset),
            )
            if value is not None
        }
        if backup_path is not None and backup_url is not None:
            raise CliError("invalid_argument", "give at most one of --backup-path and --backup-url")
        if backup_path is not None or backup_url is not None:
            settings["backup_location"] = location_from(backup_path, backup_url, None)
        if endpoint is None and not settings:
            raise CliError(
                "invalid_argument",
                "nothing to set: give --endpoint HOST:PORT or backup settings (--backup,"
                " --backup-interval, --backup-interval-offset, --backup-path, --backup-url)",
            )
        parsed = parse_endpoint(endpoint) if endpoint is not None else None
        target = local_only(state, "db set")
        try:
            bdb = target.set_endpoints(uid, [parsed]) if parsed is not None else None
            if settings:
                bdb = target.set_backup_settings(uid, settings)
        finally:
            target.close()
        assert bdb is not None
        if state.output.as_json:
            state.output.json(bdb)
            return
        if endpoint is not None:
            state.output.line(f"database {uid} ({bdb['name']}): endpoint set to {endpoint}")
        if settings:
            state.output.line(f"database {uid} ({bdb['name']}): {backup_summary(bdb)}")

    run_command(ctx, body)


def added_line(bdb: dict[str, Any]) -> str:
    """`database 8 (blooms) added; modules: bf; endpoint 127.0.0.1:6379`: one line
    (the bdb object is for `-o json`)."""
    text = f"database {bdb['uid']} ({bdb['name']}) added"
    modules = ", ".join(m["module_name"] for m in bdb.get("module_list") or [])
    if modules:
        text += f"; modules: {modules}"
    for endpoint in bdb.get("endpoints") or []:
        host = str(endpoint["addr"][0])
        text += f"; endpoint {f'[{host}]' if ':' in host else host}:{endpoint['port']}"
    return text


def backup_summary(bdb: dict[str, Any]) -> str:
    """The backup settings in a line: `periodic backups on: every 3600 s (+900 s) to
    mount_point /backups`."""
    state = "on" if bdb.get("backup") else "off"
    interval, offset = bdb.get("backup_interval"), bdb.get("backup_interval_offset") or 0
    every = f"every {interval} s (+{offset} s)" if interval else "no interval"
    location = bdb.get("backup_location")
    where = (
        f"{location['type']} {location.get('path') or location.get('url', '')}".rstrip()
        if location
        else "no location"
    )
    return f"periodic backups {state}: {every} to {where}"
