"""`bdbexport`: the console script's command tree. One set of commands, two targets
(local store or remote server), human or JSON output, one exit-code table (docs/cli.md).

This module is the app factory and the global options; each command group lives in a
module of its own (`db_commands`, `family_commands` for export, import and backup,
`action_commands`, `catalog_commands`, `explain_command`), all over `runtime`.
"""

from __future__ import annotations

import importlib.metadata
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .action_commands import action_app
from .argv import OptionsAnywhereGroup
from .catalog_commands import module_app, user_app
from .db_commands import db_app
from .errors import CliError
from .explain_command import explain
from .family_commands import MEMBER_APPS
from .output import Output
from .runtime import HELP_OPTIONS, State
from .settings import CliSettings, RemoteOptions
from .wiring import CliWiring


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
        rich_markup_mode=None,
    )
    app.callback()(main)
    app.add_typer(db_app, name="db")
    for kind, member_app in MEMBER_APPS.items():
        app.add_typer(member_app, name=kind.value)
    app.add_typer(module_app, name="module")
    app.add_typer(user_app, name="user")
    app.add_typer(action_app, name="action")
    app.command(
        "explain", short_help="Ask the rules engine what would happen, and why (changes nothing)."
    )(explain)
    return app


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
            metavar="URL",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Remote server URL, e.g. https://cluster:9443 (remote mode).",
            envvar="BDBEXPORT_URL",
            show_default=False,
            metavar="URL",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="Remote user (email); password from BDBEXPORT_PASSWORD or a prompt.",
            envvar="BDBEXPORT_USER",
            show_default=False,
            metavar="EMAIL",
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Local mode: act as this user of the store (default: admin).",
            show_default=False,
            metavar="EMAIL",
        ),
    ] = None,
    insecure: Annotated[
        bool, typer.Option(help="Remote: accept a certificate that does not verify.")
    ] = False,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            help="Remote: trust this CA bundle (PEM).", show_default=False, metavar="FILE"
        ),
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
            metavar="table|json",
        ),
    ] = None,
    retry_busy: Annotated[
        int,
        typer.Option(
            min=0, help="Retry a busy/in-progress refusal up to N times, with backoff.", metavar="N"
        ),
    ] = 0,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of unexpected errors.")] = False,
    export_root: Annotated[
        list[Path] | None,
        typer.Option(
            help="Local: also let exports write and imports read in this directory"
            " (repeatable; always allowed: the store's exports folder and the working"
            " directory).",
            show_default=False,
            metavar="DIR",
        ),
    ] = None,
    allow_egress: Annotated[
        list[str] | None,
        typer.Option(
            help="Local: a host, address or CIDR network remote locations may be reached at"
            " although refused by default (as serve --allow-egress; repeatable).",
            show_default=False,
            metavar="HOST|CIDR",
        ),
    ] = None,
    s3_url: Annotated[
        str | None,
        typer.Option(
            help="Local: an S3-compatible store (as serve --s3-url).",
            show_default=False,
            metavar="URL",
        ),
    ] = None,
    s3_ca_cert: Annotated[
        Path | None,
        typer.Option(
            help="Local: the CA PEM of --s3-url (as serve).", show_default=False, metavar="FILE"
        ),
    ] = None,
    gs_url: Annotated[
        str | None,
        typer.Option(
            help="Local: the GCS endpoint (as serve --gs-url).", show_default=False, metavar="URL"
        ),
    ] = None,
    abs_url: Annotated[
        str | None,
        typer.Option(
            help="Local: the Azure Blob endpoint (as serve).", show_default=False, metavar="URL"
        ),
    ] = None,
    sftp_known_hosts: Annotated[
        Path | None,
        typer.Option(help="Local: SFTP host keys (as serve).", show_default=False, metavar="FILE"),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Profile of the config file to use.",
            envvar="BDBEXPORT_PROFILE",
            show_default=False,
            metavar="NAME",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Config file (default: ~/.config/bdbexport/config.toml).",
            envvar="BDBEXPORT_CONFIG",
            show_default=False,
            metavar="FILE",
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
        remote_options=RemoteOptions(
            allow_egress=tuple(allow_egress or ()),
            s3_url=s3_url,
            s3_ca_cert=s3_ca_cert,
            gs_url=gs_url,
            abs_url=abs_url,
            sftp_known_hosts=sftp_known_hosts,
        ),
    )
    try:
        settings = settings.with_profile(config, profile)
    except CliError as error:
        output.error(error)
        raise typer.Exit(int(error.exit_code)) from None
    if settings.user is not None and settings.url is None:
        # --user names a server's user: without a server it would be silently ignored.
        sys.stderr.write(
            f"warning: --user {settings.user} is for a server (--url); this command runs"
            " locally on the store (to act as a user of the store: --as EMAIL)\n"
        )
    wiring = ctx.obj
    assert isinstance(wiring, CliWiring), "build the app with build_app(wiring)"
    ctx.obj = State(settings=settings, output=output, wiring=wiring)
