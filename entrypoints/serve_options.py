"""The options of `bdbexport serve`, one `Annotated` alias each: the command's signature
(entrypoints/cli.py) stays one line an option, and each option's help, metavar and
default text live here, together."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Host = Annotated[str, typer.Option(help="Address to listen on.", metavar="HOST")]

Port = Annotated[int, typer.Option(help="Port to listen on.", metavar="PORT")]

Store = Annotated[
    str | None,
    typer.Option(
        help=(
            "Store URL: sqlite:///path (default: the embedded file), redis://host:port/db"
            " (replicas share it) or memory://."
        ),
        show_default=False,
        metavar="URL",
    ),
]

Bootstrap = Annotated[
    Path | None,
    typer.Option(help="JSON file of users, modules and bdbs to create if missing.", metavar="FILE"),
]

Certfile = Annotated[Path | None, typer.Option(help="TLS certificate (PEM).", metavar="FILE")]

Keyfile = Annotated[Path | None, typer.Option(help="TLS private key (PEM).", metavar="FILE")]

InsecureHttp = Annotated[bool, typer.Option(help="Allow plain HTTP on a non-loopback address.")]

Exporter = Annotated[
    str,
    typer.Option(
        help="How exports run: 'rdb' (snapshots of the bdb's Redis) or 'simulated'.",
        metavar="rdb|simulated",
    ),
]

Importer = Annotated[
    str,
    typer.Option(
        help="How imports run: 'rdb' (into the bdb's Redis) or 'memory' (an in-memory"
        " dataset: demos, client tests).",
        metavar="rdb|memory",
    ),
]

SimulatedDuration = Annotated[
    float, typer.Option(help="Seconds a simulated export takes.", metavar="SECONDS")
]

SimulatedOutcome = Annotated[
    str,
    typer.Option(
        help="succeed, or a failure reason (no-permission, wrong-file-path, ...).",
        metavar="OUTCOME",
    ),
]

MaxConcurrentExports = Annotated[
    int,
    typer.Option(
        "--max-concurrent-exports",
        "--concurrency",
        help="Actions run at once (in-process, or by the worker child).",
        metavar="N",
    ),
]

WorkerMode = Annotated[
    str,
    typer.Option(
        help="Where actions run: in-process, child (a worker process) or none.",
        metavar="in-process|child|none",
    ),
]

NoWorker = Annotated[
    bool,
    typer.Option(help="An API-only replica: actions are queued for workers run apart."),
]

ShutdownGrace = Annotated[
    float,
    typer.Option(help="Seconds running exports get to finish when stopping.", metavar="SECONDS"),
]

ExportLeaseTtl = Annotated[
    float,
    typer.Option(
        help="Seconds a running export may go without a heartbeat before it fails.",
        metavar="SECONDS",
    ),
]

SmtpUrl = Annotated[
    str | None,
    typer.Option(
        help="SMTP server for email_notification: smtp://host:port or smtps://.",
        show_default=False,
        metavar="URL",
    ),
]

NotifyFrom = Annotated[str, typer.Option(help="Sender of notifications.", metavar="EMAIL")]

NotifyTo = Annotated[
    list[str] | None,
    typer.Option(help="Recipient of notifications (repeatable).", metavar="EMAIL"),
]

AccessLog = Annotated[
    str,
    typer.Option(help="Access log: '-' for stdout, a file path, or 'off'.", metavar="-|FILE|off"),
]

AuditLog = Annotated[
    str,
    typer.Option(help="Audit log: '-' for stderr, a file path, or 'off'.", metavar="-|FILE|off"),
]

ExportRoot = Annotated[
    list[Path] | None,
    typer.Option(
        help=(
            "Directory mount_point exports may write in (repeatable; default: 'exports'"
            " next to the store)."
        ),
        show_default=False,
        metavar="DIR",
    ),
]

AllowEgress = Annotated[
    list[str] | None,
    typer.Option(
        help=(
            "Host, address or CIDR network remote exports and imports may connect to although"
            " refused by default (loopback, link-local, the store's host); repeatable."
        ),
        show_default=False,
        metavar="HOST|CIDR",
    ),
]

ExportTimeout = Annotated[
    float,
    typer.Option(
        help=("Seconds each network step of an export or an FTP import may take before it fails."),
        metavar="SECONDS",
    ),
]

S3Url = Annotated[
    str | None,
    typer.Option(
        help="An S3-compatible store for every s3 location (path-style), as Redis Software's"
        " cluster s3_url.",
        show_default=False,
        metavar="URL",
    ),
]

S3CaCert = Annotated[
    Path | None,
    typer.Option(
        help="PEM file of the CA that signed --s3-url's certificate (cluster s3_ca_cert).",
        show_default=False,
        metavar="FILE",
    ),
]

GsUrl = Annotated[
    str | None,
    typer.Option(
        help="Endpoint in place of Google Cloud Storage's (e.g. http://127.0.0.1:4443).",
        show_default=False,
        metavar="URL",
    ),
]

AbsUrl = Annotated[
    str | None,
    typer.Option(
        help="Azure Blob service endpoint, account included (e.g."
        " http://127.0.0.1:10000/devstoreaccount1).",
        show_default=False,
        metavar="URL",
    ),
]

SftpKnownHosts = Annotated[
    Path | None,
    typer.Option(
        help="OpenSSH known_hosts file SFTP host keys are checked against (default: the"
        " user's ~/.ssh/known_hosts; an unknown key is always refused).",
        show_default=False,
        metavar="FILE",
    ),
]

MetricsAccess = Annotated[
    str | None,
    typer.Option(
        help=(
            "Who may read /metrics: 'open' or 'authenticated' (default: open on a"
            " loopback address, authenticated otherwise)."
        ),
        show_default=False,
        metavar="open|authenticated",
    ),
]

LoginLockoutThreshold = Annotated[
    int,
    typer.Option(help="Failed sign-ins that lock an account (0: never lock).", metavar="N"),
]

LoginLockoutDuration = Annotated[
    float,
    typer.Option(
        help="Seconds a locked account stays locked (0: until an admin unlocks).",
        metavar="SECONDS",
    ),
]

LoginLockoutCounterResetAfter = Annotated[
    float,
    typer.Option(
        help="Seconds without a failure after which the failure count restarts.",
        metavar="SECONDS",
    ),
]

LoginThrottleThreshold = Annotated[
    int,
    typer.Option(
        help="Failed sign-ins from one client address before it must wait (429).", metavar="N"
    ),
]

LoginThrottleWindow = Annotated[
    float,
    typer.Option(
        help="Seconds an address's failures are remembered, and it then waits.",
        metavar="SECONDS",
    ),
]

TokenLifetime = Annotated[
    int,
    typer.Option(
        help="Seconds a token, and any token traded for it, lives after sign-in.",
        metavar="SECONDS",
    ),
]

KdfConcurrency = Annotated[
    int | None,
    typer.Option(
        help="Password verifications (scrypt) run at once (default: CPU cores - 1).",
        show_default=False,
        metavar="N",
    ),
]

HeaderTimeout = Annotated[
    float,
    typer.Option(
        help="Seconds a client has to send a request's headers, and an idle connection"
        " stays open (slowloris; at most 60).",
        metavar="SECONDS",
    ),
]

MaxHeaderBytes = Annotated[
    int,
    typer.Option(
        help="Bytes the request line and headers may take together (431; >= 8192).",
        metavar="BYTES",
    ),
]

BodyTimeout = Annotated[
    float,
    typer.Option(
        help="Seconds a client has to send a request's body, after its headers.",
        metavar="SECONDS",
    ),
]

WriteTimeout = Annotated[
    float,
    typer.Option(
        help="Seconds a client may leave a response unread before it is dropped.",
        metavar="SECONDS",
    ),
]

MaxRequestsPerAddress = Annotated[
    int,
    typer.Option(
        help="Requests one client address may have in flight at once (429; 0: no cap).",
        metavar="N",
    ),
]

ForwardedAllowIps = Annotated[
    list[str] | None,
    typer.Option(
        help="A reverse proxy's address whose X-Forwarded-For names the client"
        " (repeatable; none by default).",
        show_default=False,
        metavar="ADDRESS",
    ),
]

MaxConnectionsPerAddress = Annotated[
    int | None,
    typer.Option(
        help="Deprecated and ignored: caps on connections per address are the front"
        " proxy's (docs/security.md, the nginx front); see --max-requests-per-address.",
        show_default=False,
        metavar="N",
    ),
]

ImportMaxBytes = Annotated[
    int,
    typer.Option(
        help="Bytes an import may copy: a larger source file fails the import.", metavar="BYTES"
    ),
]

ImportMaxMemory = Annotated[
    int,
    typer.Option(
        help="Bytes of memory the loader of an import file may use (its cage).", metavar="BYTES"
    ),
]

ImportCpuLimit = Annotated[
    int,
    typer.Option(
        help="Seconds of CPU time the loader of an import file may use.", metavar="SECONDS"
    ),
]

ImportLoadTimeout = Annotated[
    float,
    typer.Option(
        help="Seconds the loader of an import file may take to load it.", metavar="SECONDS"
    ),
]

AllowedOrigin = Annotated[
    list[str] | None,
    typer.Option(
        help=(
            "Browser origin (https://host[:port]) whose cross-site requests may change"
            " things; others are refused (403). Repeatable."
        ),
        show_default=False,
        metavar="ORIGIN",
    ),
]

ThrottleSummaryInterval = Annotated[
    float,
    typer.Option(
        help="Seconds of throttled sign-ins from one address one audit line sums up.",
        metavar="SECONDS",
    ),
]
