"""`bdbexport`: the console script."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bdbexport.adapters.bootstrap_file import BootstrapError
from bdbexport.adapters.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServerConfig,
    ServerConfigError,
    serve,
)
from bdbexport.adapters.stores import StoreUrlError, default_store_url
from bdbexport.domain.errors import DomainError

from .exit_codes import ExitCode, exit_code_of

app = typer.Typer(
    name="bdbexport",
    help="The export-status lifecycle of Redis Software databases: server and tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """The export-status lifecycle of Redis Software databases: server and tools."""


def fail(code: str, description: str, exit_code: ExitCode) -> None:
    sys.stderr.write(f"error: {code}: {description}\n")
    raise typer.Exit(int(exit_code))


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    store: Annotated[
        str | None,
        typer.Option(
            help="Store URL: sqlite:///path (default: the embedded file) or memory://.",
            envvar="BDBEXPORT_STORE",
            show_default=False,
        ),
    ] = None,
    bootstrap: Annotated[
        Path | None,
        typer.Option(help="JSON file of users, modules and bdbs to create if missing."),
    ] = None,
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    insecure_http: Annotated[
        bool, typer.Option(help="Allow plain HTTP on a non-loopback address.")
    ] = False,
    exporter: Annotated[
        str, typer.Option(help="How exports run: 'simulated' (copies nothing).")
    ] = "simulated",
    simulated_duration: Annotated[
        float, typer.Option(help="Seconds a simulated export takes.")
    ] = 5.0,
    simulated_outcome: Annotated[
        str,
        typer.Option(help="succeed, or a failure reason (no-permission, wrong-file-path, ...)."),
    ] = "succeed",
    max_concurrent_exports: Annotated[int, typer.Option(help="Exports run at once.")] = 4,
    shutdown_grace: Annotated[
        float, typer.Option(help="Seconds running exports get to finish when stopping.")
    ] = 10.0,
    access_log: Annotated[
        str, typer.Option(help="Access log: '-' for stdout, a file path, or 'off'.")
    ] = "-",
    audit_log: Annotated[
        str, typer.Option(help="Audit log: '-' for stderr, a file path, or 'off'.")
    ] = "-",
) -> None:
    """Run the REST server (Redis Software's export endpoints)."""
    config = ServerConfig(
        store_url=store or default_store_url(),
        host=host,
        port=port,
        bootstrap=bootstrap,
        certfile=certfile,
        keyfile=keyfile,
        insecure_http=insecure_http,
        exporter=exporter,
        simulated_duration=simulated_duration,
        simulated_outcome=simulated_outcome,
        max_concurrent_exports=max_concurrent_exports,
        shutdown_grace=shutdown_grace,
        access_log=access_log,
        audit_log=audit_log,
    )
    try:
        serve(config)
    except (ServerConfigError, StoreUrlError, BootstrapError) as error:
        fail("config_error", str(error), ExitCode.USAGE)
    except DomainError as error:
        fail(error.code, error.description, exit_code_of(error.code))
    except OSError as error:
        fail(
            "connection_error",
            f"cannot listen on {host}:{port}: {error.strerror}",
            ExitCode.CONNECTION,
        )


def run() -> None:
    """The console script's entry point."""
    app()
