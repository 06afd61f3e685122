"""`bdbexport`: the console script. One set of commands, two targets (local store or
remote server), human or JSON output, one exit-code table (docs/cli.md)."""

from __future__ import annotations

import getpass
import importlib.metadata
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from bdbexport.domain.actions import Action
from bdbexport.domain.errors import DomainError
from bdbexport.domain.locations import ExportLocation

from .argv import OptionsAnywhereGroup
from .errors import CliError
from .exit_codes import ExitCode
from .failures import failure_line
from .local_target import LocalTarget, parse_endpoint, parse_location
from .output import Output
from .remote_target import RemoteTarget
from .settings import CliSettings
from .wiring import CliWiring

T = TypeVar("T")
PASSWORD_ENV = "BDBEXPORT_PASSWORD"

HELP_OPTIONS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
"""`-h` is `--help`, at every level (each Typer says so; Click would also inherit it)."""

db_app = typer.Typer(
    help="Databases: list, show, add and set (local).",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
)
export_app = typer.Typer(
    help="Exports: start, status (--watch), reset.",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
)
module_app = typer.Typer(
    help="The module catalog: list, add (local).",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
)
user_app = typer.Typer(
    help="Users: add, set-password (local), unlock.",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
)


def build_app(wiring: CliWiring) -> typer.Typer:
    """The `bdbexport` command over `wiring` (how local mode reaches a store): the
    entry point builds it, and may add commands of its own (`serve`).

    Its global options (the parameters of `main`) are accepted anywhere on the command
    line: the root group moves them to the front before Click parses (`argv.py`), in the
    console script and under `typer.testing.CliRunner` alike; it also prints Click's usage
    errors as `error: invalid_argument: ...`, like every other error. `--install-completion`
    installs shell completion for the current shell in one command."""
    app = typer.Typer(
        name="bdbexport",
        cls=OptionsAnywhereGroup,
        help="The export-status lifecycle of Redis Software databases: server and tools.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,  # bdbexport --install-completion
        context_settings={"obj": wiring, **HELP_OPTIONS},
    )
    app.callback()(main)
    app.add_typer(db_app, name="db")
    app.add_typer(export_app, name="export")
    app.add_typer(module_app, name="module")
    app.add_typer(user_app, name="user")
    # The rest of the family and the Actions API (imported here: they use this module).
    from .family_commands import action_app, backup_app, import_app

    app.add_typer(import_app, name="import")
    app.add_typer(backup_app, name="backup")
    app.add_typer(action_app, name="action")
    app.command("explain")(explain)
    return app


@dataclass
class State:
    settings: CliSettings
    output: Output
    wiring: CliWiring


def state_of(ctx: typer.Context) -> State:
    state: State = ctx.ensure_object(State)
    return state


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def package_version() -> str:
    try:
        return importlib.metadata.version("bdbexport")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"bdbexport {package_version()}")
        raise typer.Exit()


def main(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            help="Local store URL (sqlite:///path or memory://); default: the embedded file.",
            envvar="BDBEXPORT_STORE",
            show_default=False,
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Remote server URL, e.g. https://cluster:9443 (remote mode).",
            envvar="BDBEXPORT_URL",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="Remote user (email); password from BDBEXPORT_PASSWORD or a prompt.",
            envvar="BDBEXPORT_USER",
            show_default=False,
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Local mode: act as this user of the store (default: admin).",
            show_default=False,
        ),
    ] = None,
    insecure: Annotated[
        bool, typer.Option(help="Remote: accept a certificate that does not verify.")
    ] = False,
    ca_file: Annotated[
        Path | None, typer.Option(help="Remote: trust this CA bundle (PEM).", show_default=False)
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON (stable, documented) instead of tables.")
    ] = False,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--output",
            "-o",
            help="Output format: table (the default) or json (the same as --json).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    retry_busy: Annotated[
        int,
        typer.Option(min=0, help="Retry a busy/in-progress refusal up to N times, with backoff."),
    ] = 0,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of unexpected errors.")] = False,
    export_root: Annotated[
        list[Path] | None,
        typer.Option(
            help="Local: also let exports write and imports read in this directory"
            " (repeatable; always allowed: the store's exports folder and the working"
            " directory).",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Profile of the config file to use.",
            envvar="BDBEXPORT_PROFILE",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Config file (default: ~/.config/bdbexport/config.toml).",
            envvar="BDBEXPORT_CONFIG",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The export-status lifecycle of Redis Software databases: server and tools."""
    if json_output and output_format is OutputFormat.TABLE:
        conflict = CliError("invalid_argument", "--json and --output table contradict each other")
        Output(as_json=False).error(conflict)
        raise typer.Exit(int(conflict.exit_code))
    json_output = json_output or output_format is OutputFormat.JSON
    output = Output(as_json=json_output)
    settings = CliSettings(
        store=store,
        url=url,
        user=user,
        as_user=as_user,
        insecure=insecure,
        ca_file=ca_file,
        json=json_output,
        debug=debug,
        retry_busy=max(retry_busy, 0),
        export_roots=tuple(export_root or ()),
    )
    try:
        settings = settings.with_profile(config, profile)
    except CliError as error:
        output.error(error)
        raise typer.Exit(int(error.exit_code)) from None
    wiring = ctx.obj
    assert isinstance(wiring, CliWiring), "build the app with build_app(wiring)"
    ctx.obj = State(settings=settings, output=output, wiring=wiring)


# --- running a command: targets, errors, retries ------------------------------------------


def run_command(ctx: typer.Context, body: Callable[[State], int | None]) -> None:
    state = state_of(ctx)
    try:
        code = body(state)
    except CliError as error:
        state.output.error(error)
        raise typer.Exit(int(error.exit_code)) from None
    except DomainError as error:  # e.g. the store failing while a listing streams
        failure = CliError(error.code, error.description)
        state.output.error(failure)
        raise typer.Exit(int(failure.exit_code)) from None
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except typer.Exit:
        raise
    except Exception as error:
        if state.settings.debug:
            traceback.print_exc()
        state.output.error(CliError("internal_error", f"{type(error).__name__}: {error}"))
        raise typer.Exit(int(ExitCode.ERROR)) from None
    raise typer.Exit(code or 0)


def open_target(state: State, *, create: bool = False) -> LocalTarget | RemoteTarget:
    settings = state.settings
    if settings.remote:
        assert settings.url is not None
        if settings.as_user is not None:
            # Acting as another user is a power of whoever opens the store file; a
            # server decides who you are from your credentials alone.
            raise CliError(
                "invalid_argument",
                "--as is local-only: against a server you act as --user",
                exit_code=ExitCode.USAGE,
            )
        if settings.export_roots:
            raise CliError(
                "invalid_argument",
                "--export-root is local-only: a server's roots are its operator's"
                " (serve --export-root)",
                exit_code=ExitCode.USAGE,
            )
        if settings.user is None:
            raise CliError("unauthenticated", "remote mode needs --user (or BDBEXPORT_USER)")
        return RemoteTarget(
            settings.url,
            user=settings.user,
            password=remote_password(settings.user),
            insecure=settings.insecure,
            ca_file=settings.ca_file,
        )
    return LocalTarget(
        state.wiring.open_local(settings.store, create),
        as_user=settings.as_user,
        export_roots=settings.export_roots,
    )


def local_only(state: State, what: str) -> LocalTarget:
    if state.settings.remote:
        raise CliError(
            "invalid_argument", f"{what} is local-only: it writes the store directly (use --store)"
        )
    target = open_target(state, create=True)
    assert isinstance(target, LocalTarget)
    return target


def remote_password(user: str) -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise CliError("unauthenticated", f"no password for {user}: set {PASSWORD_ENV}")
    return getpass.getpass(f"Password for {user}: ")


def with_retries(state: State, operation: Callable[[], T]) -> T:
    """Retry retryable refusals (409 busy, in progress) with exponential backoff,
    waiting at least what the server's Retry-After asks."""
    attempt = 0
    while True:
        try:
            return operation()
        except CliError as error:
            if not error.retryable or attempt >= state.settings.retry_busy:
                error.retries = attempt  # the hint then says so, not "use --retry-busy"
                raise
            delay = max(0.25 * 2**attempt, error.retry_after or 0.0)
            sys.stderr.write(f"{error.code}: retrying in {delay:g}s\n")
            time.sleep(delay)
            attempt += 1


# --- commands ---------------------------------------------------------------------------


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
def db_show(ctx: typer.Context, uid: Annotated[int, typer.Argument(help="Database uid.")]) -> None:
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
    uid: Annotated[int, typer.Argument(help="Database uid (a positive integer).")],
    name: Annotated[str, typer.Argument(help="Database name.")],
    module: Annotated[
        list[str] | None, typer.Option("--module", help="A module loaded in it (repeatable).")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Its data endpoint, HOST:PORT ([::1]:6379 for IPv6).", show_default=False
        ),
    ] = None,
) -> None:
    """Add a database to the local store."""

    def body(state: State) -> None:
        endpoints = [parse_endpoint(endpoint)] if endpoint is not None else []
        target = local_only(state, "db add")
        try:
            state.output.bdb(target.add_bdb(uid, name, module or [], endpoints))
        finally:
            target.close()

    run_command(ctx, body)


@db_app.command("set")
def db_set(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="Database uid.")],
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Its data endpoint, HOST:PORT ([::1]:6379 for IPv6): where exports read it.",
            show_default=False,
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
        ),
    ] = None,
    backup_interval_offset: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Seconds after each interval's start (from the epoch, UTC) a backup is due;"
            " below the interval.",
            show_default=False,
        ),
    ] = None,
    backup_path: Annotated[
        str | None,
        typer.Option(help="Back up to this directory (a mount_point backup_location)."),
    ] = None,
    backup_url: Annotated[
        str | None, typer.Option(help="Back up to this ftp:// or ftps:// URL.")
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


@module_app.command("list")
def module_list(ctx: typer.Context) -> None:
    """List the module catalog with capabilities."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            modules = target.list_modules()
        finally:
            target.close()
        rows = [{**m, "capabilities": ", ".join(m["capabilities"])} for m in modules]
        if state.output.as_json:
            state.output.json(modules)
        else:
            state.output.records(rows, ["module_name", "semantic_version", "capabilities"])

    run_command(ctx, body)


@module_app.command("add")
def module_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Module name, e.g. search.")],
    version: Annotated[str, typer.Option("--version", help="Semantic version.")],
    capability: Annotated[
        list[str] | None, typer.Option("--capability", help="A capability (repeatable).")
    ] = None,
) -> None:
    """Add (or replace) a module in the local catalog."""

    def body(state: State) -> None:
        target = local_only(state, "module add")
        try:
            module = target.add_module(name, version, capability or [])
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(module)
        else:
            state.output.line(
                f"module {module['module_name']} {module['semantic_version']}:"
                f" {', '.join(module['capabilities']) or 'no capabilities'}"
            )

    run_command(ctx, body)


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's email (the login name).")],
    role: Annotated[str, typer.Option("--role", help="A built-in role, e.g. db_member.")],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (first line).")
    ] = False,
) -> None:
    """Add a user to the local store (the password is asked, never an argument)."""

    def body(state: State) -> None:
        password = new_password(password_stdin)
        target = local_only(state, "user add")
        try:
            user = target.add_user(email, role, password)
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(user)
        else:
            state.output.line(f"user {user['email']} added with role {user['role']}")

    run_command(ctx, body)


@user_app.command("unlock")
def user_unlock(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's email (the login name).")],
) -> None:
    """Lift a user's sign-in lock (too many failed sign-ins) and forget the failures:
    in the store (local), or through the server (remote: POST /v1/users/unlock, admins
    only). Every replica on the store sees it at once."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            answer = target.unlock_user(email)
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(answer)
        elif answer["was_locked"]:
            state.output.line(f"user {answer['email']}: unlocked")
        else:
            state.output.line(f"user {answer['email']}: was not locked (failures forgotten)")

    run_command(ctx, body)


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's email (the login name).")],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (first line).")
    ] = False,
) -> None:
    """Give a user of the local store a new password (a lost admin password, say): a
    server on the same store takes it within a second."""

    def body(state: State) -> None:
        password = new_password(password_stdin)
        target = local_only(state, "user set-password")
        try:
            user = target.set_password(email, password)
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(user)
        else:
            state.output.line(f"user {user['email']}: password changed")

    run_command(ctx, body)


def new_password(from_stdin: bool) -> str:
    """A password typed twice at the terminal, or the first line of stdin."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("invalid_argument", "no terminal to ask the password: use --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat: ") != password:
        raise CliError("invalid_argument", "the passwords differ")
    return password


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


def location_from(path: str | None, url: str | None, location_file: Path | None) -> ExportLocation:
    given = [value for value in (path, url, location_file) if value is not None]
    if len(given) != 1:
        raise CliError("invalid_argument", "give exactly one of --path, --url and --location-file")
    if path is not None:
        return parse_location({"type": "mount_point", "path": path})
    if url is not None:
        try:
            return parse_location({"type": "url", "url": url})
        except CliError as error:
            if url.lower().startswith(("http://", "https://")):
                # The likely slip: the server's --url put after a verb that has its own.
                raise CliError(
                    error.code,
                    error.description,
                    hint="--url after the verb is the location's URL; put the server's"
                    " --url before the verb (bdbexport --url SERVER backup now UID ...)",
                ) from error
            raise
    assert location_file is not None
    try:
        document = json.loads(location_file.read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(
            "invalid_argument", f"cannot read {location_file}: {error.strerror}"
        ) from error
    except (ValueError, UnicodeDecodeError) as error:
        raise CliError("invalid_schema", f"{location_file} is not JSON: {error}") from error
    return parse_location(document)


@export_app.command("start")
def export_start(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="Database uid.")],
    path: Annotated[
        str | None, typer.Option(help="Export to this directory (a mount_point location).")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Export to this ftp:// or ftps:// URL.")
    ] = None,
    location_file: Annotated[
        Path | None, typer.Option(help="A JSON file with any export_location object.")
    ] = None,
    watch: Annotated[bool, typer.Option(help="Remote: follow the export to its end.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between polls (0.05 at least).")
    ] = 0.5,
    exporter: Annotated[
        str, typer.Option(help="Local: 'rdb' (a real snapshot) or 'simulated' (copies nothing).")
    ] = "rdb",
) -> None:
    """Start an export. Locally it runs in this process and returns when it ends."""

    def body(state: State) -> int | None:
        location = location_from(path, url, location_file)
        if exporter not in {"rdb", "simulated"}:
            raise CliError("invalid_argument", "--exporter must be rdb or simulated")
        target = open_target(state)
        try:
            if isinstance(target, LocalTarget):
                with progress_bar(state, uid) as report:
                    bdb = with_retries(
                        state, lambda: target.start_export(uid, location, report, exporter)
                    )
                return finish(state, bdb)
            started = with_retries(state, lambda: target.start_export(uid, location))
            if not watch:
                state.output.bdb(started)
                return None
            return follow(state, target, uid, interval)
        finally:
            target.close()

    run_command(ctx, body)


@export_app.command("reset")
def export_reset(
    ctx: typer.Context, uid: Annotated[int, typer.Argument(help="Database uid.")]
) -> None:
    """Reset the export status to idle (the seed's action); refused while exporting."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            bdb = with_retries(state, lambda: target.reset(uid))
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(bdb)
        else:
            state.output.line(f"database {uid} ({bdb['name']}): export status reset to idle")

    run_command(ctx, body)


@export_app.command("status")
def export_status(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="Database uid.")],
    watch: Annotated[
        bool, typer.Option(help="Show live progress until the export succeeds or fails.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between polls (0.05 at least).")
    ] = 0.5,
) -> None:
    """Show the export status; with --watch, follow a running export to its end."""

    def body(state: State) -> int | None:
        target = open_target(state)
        try:
            if watch:
                return follow(state, target, uid, interval)
            bdb = target.get_bdb(uid)
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(bdb)
            return None
        state.output.line(failure_line(bdb) or summary(bdb))
        return None

    run_command(ctx, body)


def explain(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="Database uid.")],
    action: Annotated[
        str, typer.Option(help="reset, start or view.", case_sensitive=False)
    ] = "reset",
) -> None:
    """Ask the rules engine what would happen, with every reason; changes nothing.

    Exits 0 when the action would be allowed, else with the exit code of the refusal.
    Against a server (--url), reset and start are asked with `?dry_run=true`.
    """
    actions = {"reset": Action.RESET, "start": Action.START, "view": Action.VIEW}

    def body(state: State) -> int | None:
        if action.lower() not in actions:
            raise CliError("invalid_argument", f"--action must be one of {', '.join(actions)}")
        if state.settings.remote and actions[action.lower()] is Action.VIEW:
            raise CliError(
                "invalid_argument",
                "only reset and start can be explained against a server"
                " (explain --action view needs a local store: --store)",
            )
        target = open_target(state)
        try:
            decision = target.explain(uid, actions[action.lower()])
        finally:
            target.close()
        state.output.decision(decision)
        if decision["allowed"]:
            return None
        error = decision["error"]
        return int(CliError(error["error_code"], error["description"]).exit_code)

    run_command(ctx, body)


# --- following an export ------------------------------------------------------------------


def summary(bdb: dict[str, Any]) -> str:
    """One line on the export status; a failure has its own (`failures.failure_line`)."""
    status = bdb["export_status"]
    text = f"database {bdb['uid']} ({bdb['name']}): export {status}"
    if status == "exporting":
        text += f", {bdb['export_progress']}%"
    if status == "failed":
        text += f" ({bdb['export_failure_reason']})"
    if bdb.get("last_export_time"):
        text += f"; last successful export {bdb['last_export_time']}"
    return text


def finish(state: State, bdb: dict[str, Any]) -> int | None:
    """The end of a followed export: the bdb, or a line (why, when it failed); exit 9 for
    a failure."""
    if state.output.as_json:
        state.output.json(bdb)
    else:
        state.output.line(failure_line(bdb) or summary(bdb))
    return int(ExitCode.EXPORT_FAILED) if bdb["export_status"] == "failed" else None


class progress_bar:  # noqa: N801 - used as a context manager, reads as a phrase
    """A Rich progress bar fed with export_progress, at a terminal only: silent in JSON
    mode and in a pipe (where Rich's live display would leave a blank line behind)."""

    def __init__(self, state: State, uid: int) -> None:
        self.enabled = not state.output.as_json and not state.output.plain
        self.progress = Progress(
            TextColumn(f"export of database {uid}"),
            BarColumn(),
            TaskProgressColumn(),
            console=state.output.console,
            transient=True,
        )
        self.task = self.progress.add_task("export", total=100)

    def __enter__(self) -> Callable[[int], None]:
        if self.enabled:
            self.progress.start()
        return self.report

    def report(self, percent: int) -> None:
        if self.enabled:
            self.progress.update(self.task, completed=percent)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()


def follow(
    state: State, target: LocalTarget | RemoteTarget, uid: int, interval: float
) -> int | None:
    bdb = target.get_bdb(uid)
    with progress_bar(state, uid) as report:
        while bdb["export_status"] == "exporting":
            report(int(bdb["export_progress"]))
            time.sleep(max(interval, 0.05))
            bdb = target.get_bdb(uid)
        report(int(bdb["export_progress"]))
    return finish(state, bdb)
