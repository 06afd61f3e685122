"""Running a CLI command: the state every command gets (settings, output, wiring), the
target it acts on (a local store or a remote server), how its errors end (one exit-code
table, docs/cli.md), `--retry-busy`, the location options and the progress bar."""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from bdbexport.domain.errors import DomainError
from bdbexport.domain.locations import ExportLocation

from .errors import CliError
from .exit_codes import ExitCode
from .local_target import LocalTarget, parse_location
from .output import Output
from .remote_target import RemoteTarget
from .settings import CliSettings
from .wiring import CliWiring

T = TypeVar("T")
PASSWORD_ENV = "BDBEXPORT_PASSWORD"

HELP_OPTIONS: dict[str, object] = {"help_option_names": ["-h", "--help"]}
"""`-h` is `--help`, at every level (each Typer says so; Click would also inherit it)."""


@dataclass
class State:
    settings: CliSettings
    output: Output
    wiring: CliWiring


def state_of(ctx: typer.Context) -> State:
    state: State = ctx.ensure_object(State)
    return state


def run_command(ctx: typer.Context, body: Callable[[State], int | None]) -> None:
    state = state_of(ctx)
    try:
        code = body(state)
    except CliError as error:
        failure = in_true_words(error, state, ctx.command_path)
        state.output.error(failure)
        raise typer.Exit(int(failure.exit_code)) from None
    except DomainError as error:  # e.g. the store failing while a listing streams
        failure = in_true_words(CliError(error.code, error.description), state, ctx.command_path)
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
        if settings.remote_options.given():
            raise CliError(
                "invalid_argument",
                "--allow-egress, --s3-url and the other location options are local-only: a"
                " server's are its operator's (serve --s3-url, ...)",
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
    try:
        runtime = state.wiring.open_local(settings.store, create)
    except OSError as error:  # the store's file or folder unreadable (an unreadable home)
        where = f" ({error.filename})" if error.filename else ""
        raise CliError(
            "store_unreadable",
            f"cannot open the store: {error.strerror or error}{where}",
            hint="pass a store this user may read and write: --store sqlite:///PATH"
            " (or BDBEXPORT_STORE), or set BDBEXPORT_HOME to a readable directory.",
        ) from None
    return LocalTarget(
        runtime,
        as_user=settings.as_user,
        export_roots=settings.export_roots,
        remote_options=settings.remote_options,
    )


def local_only(state: State, what: str) -> LocalTarget:
    if state.settings.remote:
        raise CliError(
            "invalid_argument", f"{what} is local-only: it writes the store directly (use --store)"
        )
    target = open_target(state, create=True)
    assert isinstance(target, LocalTarget)
    return target


def in_true_words(error: CliError, state: State, command: str) -> CliError:
    """The error as this command should tell it: a path refused locally is no server's
    export root, an import's file is no export location, and a reset refused while an
    export runs is not something to retry blindly."""
    code, words = error.code, command.split()
    verb = " ".join(words[1:3]) if len(words) >= 3 else command
    if code == "export_path_not_allowed" and not state.settings.remote:
        what = "The file to import" if "import" in words else "The path"
        return CliError(
            code,
            f"{what} is not inside an export root: locally, the roots are the store's"
            " exports folder, the working directory and each --export-root DIR.",
            exit_code=error.exit_code,
            hint="use a path inside one, or add its directory:"
            f" bdbexport --export-root DIR {verb} ...",
        )
    if code == "export_path_not_allowed" and "import" in words:
        return CliError(
            code,
            error.description.replace("The path", "The file to import"),
            exit_code=error.exit_code,
            hint="a server reads imports only inside its export roots (serve --export-root).",
        )
    if error.code.endswith("_in_progress") and words[-1:] == ["reset"] and not error.retries:
        kind = words[1] if len(words) > 1 else "export"
        return CliError(
            code,
            error.description,
            exit_code=error.exit_code,
            hint=f"wait for the {kind} to end (bdbexport {kind} status UID --watch), or cancel"
            " it (bdbexport action cancel ACTION_UID); then reset.",
        )
    return error


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


def location_from(
    path: str | None, url: str | None, location_file: Path | None, *, verb: str = "export start"
) -> ExportLocation:
    """The location the options give; `verb` (`export start`, `import start`, `backup now`)
    is named in the hint for a server URL typed after it."""
    server_hint = (
        "--url after the verb is the location's URL; put the server's --url before the"
        f" verb (bdbexport --url SERVER {verb} UID ...)"
    )
    looks_like_server = url is not None and url.lower().startswith(("http://", "https://"))
    given = [value for value in (path, url, location_file) if value is not None]
    if len(given) != 1:
        names = [
            name
            for name, value in (
                ("--path", path),
                ("--url", url),
                ("--location-file", location_file),
            )
            if value is not None
        ]
        raise CliError(
            "invalid_argument",
            "give exactly one of --path, --url and --location-file"
            + (f" (got {' and '.join(names)})" if names else ""),
            hint=server_hint if looks_like_server else None,
        )
    if path is not None:
        return parse_location({"type": "mount_point", "path": path})
    if url is not None:
        try:
            return parse_location({"type": "url", "url": url})
        except CliError as error:
            if looks_like_server:
                # The likely slip: the server's --url put after a verb that has its own.
                raise CliError(error.code, error.description, hint=server_hint) from error
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


class progress_bar:  # noqa: N801 - used as a context manager, reads as a phrase
    """A Rich progress bar labelled with what it follows (`export of database 1`, an
    action), at a terminal only: silent in JSON mode and in a pipe (where Rich's live
    display would leave a blank line behind)."""

    def __init__(self, state: State, label: str, *, waiting: str | None = None) -> None:
        """`waiting`: what 0 % means, shown after the label until the first percent
        (an export's first percent is reported when Redis starts sending the snapshot,
        docs/exports.md, so 0 % is the wait for Redis and says so)."""
        self.enabled = not state.output.as_json and not state.output.plain
        self.label = label
        self.waiting = waiting
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            console=state.output.console,
            transient=True,
        )
        first = f"{label}: {waiting}" if waiting else label
        self.task = self.progress.add_task(first, total=100)

    def __enter__(self) -> Callable[[int], None]:
        if self.enabled:
            self.progress.start()
        return self.report

    def report(self, percent: int) -> None:
        if self.enabled:
            waiting = self.waiting is not None and percent == 0
            label = f"{self.label}: {self.waiting}" if waiting else self.label
            self.progress.update(self.task, completed=percent, description=label)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()
