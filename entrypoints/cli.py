"""`bdbexport`: the console script's entry point.

It builds the CLI adapter's command tree over the composition root (`open_local`
opens a store's runtime for local mode) and adds the one command that is pure wiring:
`serve`, which starts the REST server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bdbexport.adapters.audit.throttle_summary import DEFAULT_SUMMARY_INTERVAL
from bdbexport.adapters.cli.errors import CliError
from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.adapters.cli.main import build_app
from bdbexport.adapters.cli.runtime import State, run_command
from bdbexport.adapters.cli.wiring import CliWiring, LocalRuntime
from bdbexport.adapters.http.authentication import DEFAULT_TOKEN_LIFETIME, default_kdf_concurrency
from bdbexport.adapters.http.edge_protocol import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    DEFAULT_MAX_HEADER_BYTES,
)
from bdbexport.adapters.importing.limits import ImportLimits
from bdbexport.composition.bootstrap_file import BootstrapError
from bdbexport.composition.local import MissingStoreError, open_local_runtime
from bdbexport.composition.stores import StoreUrlError, default_store_url
from bdbexport.domain.auth.lockout import DEFAULT_ADDRESS_THROTTLE, DEFAULT_LOCKOUT
from bdbexport.domain.errors import DomainError

from .server import DEFAULT_HOST, DEFAULT_PORT, ServerConfig, ServerConfigError, serve


def open_local(store_url: str | None, create: bool) -> LocalRuntime:
    """The store's runtime, its failures as the CLI's errors and exit codes."""
    try:
        return open_local_runtime(store_url, create)
    except MissingStoreError as missing:
        raise CliError(
            "incompatible_store",
            f"store file {missing} does not exist (run `bdbexport serve` once to create it,"
            " or pass --store)",
            exit_code=ExitCode.STORE,
        ) from None
    except StoreUrlError as error:
        raise CliError("config_error", str(error), exit_code=ExitCode.USAGE) from error
    except DomainError as error:
        raise CliError(error.code, error.description) from error


app = build_app(CliWiring(open_local=open_local))


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.", metavar="HOST")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.", metavar="PORT")] = DEFAULT_PORT,
    store: Annotated[
        str | None,
        typer.Option(
            help=(
                "Store URL: sqlite:///path (default: the embedded file), redis://host:port/db"
                " (replicas share it) or memory://."
            ),
            show_default=False,
            metavar="URL",
        ),
    ] = None,
    bootstrap: Annotated[
        Path | None,
        typer.Option(
            help="JSON file of users, modules and bdbs to create if missing.", metavar="FILE"
        ),
    ] = None,
    certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM).", metavar="FILE")
    ] = None,
    keyfile: Annotated[
        Path | None, typer.Option(help="TLS private key (PEM).", metavar="FILE")
    ] = None,
    insecure_http: Annotated[
        bool, typer.Option(help="Allow plain HTTP on a non-loopback address.")
    ] = False,
    exporter: Annotated[
        str,
        typer.Option(
            help="How exports run: 'rdb' (snapshots of the bdb's Redis) or 'simulated'.",
            metavar="rdb|simulated",
        ),
    ] = "rdb",
    importer: Annotated[
        str,
        typer.Option(
            help="How imports run: 'rdb' (into the bdb's Redis) or 'memory' (an in-memory"
            " dataset: demos, client tests).",
            metavar="rdb|memory",
        ),
    ] = "rdb",
    simulated_duration: Annotated[
        float, typer.Option(help="Seconds a simulated export takes.", metavar="SECONDS")
    ] = 5.0,
    simulated_outcome: Annotated[
        str,
        typer.Option(
            help="succeed, or a failure reason (no-permission, wrong-file-path, ...).",
            metavar="OUTCOME",
        ),
    ] = "succeed",
    max_concurrent_exports: Annotated[
        int, typer.Option(help="Exports run at once.", metavar="N")
    ] = 4,
    shutdown_grace: Annotated[
        float,
        typer.Option(
            help="Seconds running exports get to finish when stopping.", metavar="SECONDS"
        ),
    ] = 10.0,
    export_lease_ttl: Annotated[
        float,
        typer.Option(
            help="Seconds a running export may go without a heartbeat before it fails.",
            metavar="SECONDS",
        ),
    ] = 60.0,
    smtp_url: Annotated[
        str | None,
        typer.Option(
            help="SMTP server for email_notification: smtp://host:port or smtps://.",
            show_default=False,
            metavar="URL",
        ),
    ] = None,
    notify_from: Annotated[str, typer.Option(help="Sender of notifications.", metavar="EMAIL")] = (
        "bdbexport@localhost"
    ),
    notify_to: Annotated[
        list[str] | None,
        typer.Option(help="Recipient of notifications (repeatable).", metavar="EMAIL"),
    ] = None,
    access_log: Annotated[
        str,
        typer.Option(
            help="Access log: '-' for stdout, a file path, or 'off'.", metavar="-|FILE|off"
        ),
    ] = "-",
    audit_log: Annotated[
        str,
        typer.Option(
            help="Audit log: '-' for stderr, a file path, or 'off'.", metavar="-|FILE|off"
        ),
    ] = "-",
    export_root: Annotated[
        list[Path] | None,
        typer.Option(
            help=(
                "Directory mount_point exports may write in (repeatable; default: 'exports'"
                " next to the store)."
            ),
            show_default=False,
            metavar="DIR",
        ),
    ] = None,
    allow_egress: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "Host, address or CIDR network remote exports and imports may connect to although"
                " refused by default (loopback, link-local, the store's host); repeatable."
            ),
            show_default=False,
            metavar="HOST|CIDR",
        ),
    ] = None,
    export_timeout: Annotated[
        float,
        typer.Option(
            help=(
                "Seconds each network step of an export or an FTP import may take before it fails."
            ),
            metavar="SECONDS",
        ),
    ] = 30.0,
    metrics_access: Annotated[
        str | None,
        typer.Option(
            help=(
                "Who may read /metrics: 'open' or 'authenticated' (default: open on a"
                " loopback address, authenticated otherwise)."
            ),
            show_default=False,
            metavar="open|authenticated",
        ),
    ] = None,
    login_lockout_threshold: Annotated[
        int,
        typer.Option(help="Failed sign-ins that lock an account (0: never lock).", metavar="N"),
    ] = DEFAULT_LOCKOUT.threshold,
    login_lockout_duration: Annotated[
        float,
        typer.Option(
            help="Seconds a locked account stays locked (0: until an admin unlocks).",
            metavar="SECONDS",
        ),
    ] = DEFAULT_LOCKOUT.duration,
    login_lockout_counter_reset_after: Annotated[
        float,
        typer.Option(
            help="Seconds without a failure after which the failure count restarts.",
            metavar="SECONDS",
        ),
    ] = DEFAULT_LOCKOUT.reset_after,
    login_throttle_threshold: Annotated[
        int,
        typer.Option(
            help="Failed sign-ins from one client address before it must wait (429).", metavar="N"
        ),
    ] = DEFAULT_ADDRESS_THROTTLE.threshold,
    login_throttle_window: Annotated[
        float,
        typer.Option(
            help="Seconds an address's failures are remembered, and it then waits.",
            metavar="SECONDS",
        ),
    ] = DEFAULT_ADDRESS_THROTTLE.reset_after,
    token_lifetime: Annotated[
        int,
        typer.Option(
            help="Seconds a token, and any token traded for it, lives after sign-in.",
            metavar="SECONDS",
        ),
    ] = DEFAULT_TOKEN_LIFETIME,
    kdf_concurrency: Annotated[
        int | None,
        typer.Option(
            help="Password verifications (scrypt) run at once (default: CPU cores - 1).",
            show_default=False,
            metavar="N",
        ),
    ] = None,
    header_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds a client has to send a request's headers (slowloris).", metavar="SECONDS"
        ),
    ] = DEFAULT_HEADER_TIMEOUT,
    max_header_bytes: Annotated[
        int,
        typer.Option(
            help="Bytes the request line and headers may take together (431).", metavar="BYTES"
        ),
    ] = DEFAULT_MAX_HEADER_BYTES,
    body_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds a client has to send a request's body, after its headers.",
            metavar="SECONDS",
        ),
    ] = DEFAULT_BODY_TIMEOUT,
    max_connections_per_address: Annotated[
        int,
        typer.Option(
            help="Connections one client address may hold open at once (429; 0: no cap).",
            metavar="N",
        ),
    ] = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    import_max_bytes: Annotated[
        int,
        typer.Option(
            help="Bytes an import may copy: a larger source file fails the import.", metavar="BYTES"
        ),
    ] = ImportLimits.max_bytes,
    import_max_memory: Annotated[
        int,
        typer.Option(
            help="Bytes of memory the loader of an import file may use (its cage).", metavar="BYTES"
        ),
    ] = ImportLimits.max_memory,
    import_cpu_limit: Annotated[
        int,
        typer.Option(
            help="Seconds of CPU time the loader of an import file may use.", metavar="SECONDS"
        ),
    ] = ImportLimits.cpu_seconds,
    import_load_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds the loader of an import file may take to load it.", metavar="SECONDS"
        ),
    ] = ImportLimits.load_timeout,
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "Browser origin (https://host[:port]) whose cross-site requests may change"
                " things; others are refused (403). Repeatable."
            ),
            show_default=False,
            metavar="ORIGIN",
        ),
    ] = None,
    throttle_summary_interval: Annotated[
        float,
        typer.Option(help="Seconds of throttled sign-ins from one address one audit line sums up."),
    ] = DEFAULT_SUMMARY_INTERVAL,
) -> None:
    """Run the REST server (Redis Software's export endpoints)."""

    def body(state: State) -> None:
        config = ServerConfig(
            store_url=store or state.settings.store or default_store_url(),
            host=host,
            port=port,
            bootstrap=bootstrap,
            certfile=certfile,
            keyfile=keyfile,
            insecure_http=insecure_http,
            exporter=exporter,
            importer=importer,
            simulated_duration=simulated_duration,
            simulated_outcome=simulated_outcome,
            max_concurrent_exports=max_concurrent_exports,
            shutdown_grace=shutdown_grace,
            export_lease_ttl=export_lease_ttl,
            smtp_url=smtp_url,
            notify_from=notify_from,
            notify_to=tuple(notify_to or ()),
            access_log=access_log,
            audit_log=audit_log,
            export_roots=tuple(export_root or ()),
            allow_egress=tuple(allow_egress or ()),
            export_timeout=export_timeout,
            metrics_access=metrics_access,
            login_lockout_threshold=login_lockout_threshold,
            login_lockout_duration=login_lockout_duration,
            login_lockout_counter_reset_after=login_lockout_counter_reset_after,
            login_throttle_threshold=login_throttle_threshold,
            login_throttle_window=login_throttle_window,
            token_lifetime=token_lifetime,
            kdf_concurrency=kdf_concurrency or default_kdf_concurrency(),
            header_timeout=header_timeout,
            max_header_bytes=max_header_bytes,
            body_timeout=body_timeout,
            max_connections_per_address=max_connections_per_address,
            import_max_bytes=import_max_bytes,
            import_max_memory=import_max_memory,
            import_cpu_limit=import_cpu_limit,
            import_load_timeout=import_load_timeout,
            allowed_origins=tuple(allowed_origin or ()),
            throttle_summary_interval=throttle_summary_interval,
        )
        try:
            serve(config)
        except (ServerConfigError, StoreUrlError, BootstrapError, ValueError) as error:
            raise CliError("config_error", str(error), exit_code=ExitCode.USAGE) from error
        except DomainError as error:
            raise CliError(error.code, error.description) from error
        except OSError as error:
            raise CliError(
                "connection_error",
                f"cannot listen on {host}:{port}: {error.strerror}",
                hint="is another server on that port? choose another with --port.",
            ) from error

    run_command(ctx, body)


def run() -> None:
    """The console script's entry point.

    The global options may go anywhere on the command line (`bdbexport db show 1 --json`):
    the app's root group moves them to the front before Click parses
    (`bdbexport.adapters.cli.argv`). It does so in its own `main`, so this call and tests
    that run `app` with `typer.testing.CliRunner` get the same normalisation."""
    app()
