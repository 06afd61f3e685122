"""Where the CLI's settings come from: flags, then environment, then a profile of the
config file, then defaults. Flags and environment variables are read by Typer; this
module fills what they left unset from the chosen profile."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import CliError
from .exit_codes import ExitCode

CONFIG_ENV = "BDBEXPORT_CONFIG"
PROFILE_KEYS = {"url", "user", "store", "insecure", "ca_file", "as_user"}


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "bdbexport" / "config.toml"


@dataclass(frozen=True)
class RemoteOptions:
    """Local mode: what `serve` takes for the remote location types (docs/cli.md), so a
    local export, import or backup reaches the same stores a server would."""

    allow_egress: tuple[str, ...] = ()
    s3_url: str | None = None
    s3_ca_cert: Path | None = None
    gs_url: str | None = None
    abs_url: str | None = None
    sftp_known_hosts: Path | None = None

    def given(self) -> bool:
        return self != RemoteOptions()


@dataclass(frozen=True)
class CliSettings:
    store: str | None = None
    url: str | None = None
    user: str | None = None
    as_user: str | None = None
    insecure: bool = False
    ca_file: Path | None = None
    json: bool = False
    debug: bool = False
    retry_busy: int = 0
    export_roots: tuple[Path, ...] = ()
    """Local mode: directories added to the export roots (`--export-root`)."""
    remote_options: RemoteOptions = RemoteOptions()
    """Local mode: the remote location types' endpoints and egress (`--s3-url`, ...)."""

    @property
    def remote(self) -> bool:
        return self.url is not None

    def with_profile(self, config: Path | None, profile: str | None) -> CliSettings:
        try:
            path = config or Path(os.environ.get(CONFIG_ENV) or default_config_path())
            present = path.exists()
        except (OSError, RuntimeError) as error:  # RuntimeError: no home to expand
            # An unreadable home (or config directory): said, with the way out, never a
            # traceback; the file may hold the profile the command needs, so no guess.
            why = getattr(error, "strerror", None) or error
            name = getattr(error, "filename", None)
            raise CliError(
                "config_error",
                f"cannot read the config file: {why}{f' ({name})' if name else ''}",
                exit_code=ExitCode.USAGE,
                hint="point --config or BDBEXPORT_CONFIG at a readable file, or"
                " XDG_CONFIG_HOME (or HOME) at a readable directory.",
            ) from None
        if not present:
            if config is not None or profile is not None:
                raise CliError(
                    "config_error", f"config file {path} does not exist", exit_code=ExitCode.USAGE
                )
            return self
        values = _profile(path, profile)
        filled: dict[str, Any] = {}
        for key, value in values.items():
            if getattr(self, key) in (None, False):
                filled[key] = Path(value) if key == "ca_file" else value
        return replace(self, **filled)


def _profile(path: Path, name: str | None) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CliError(
            "config_error", f"cannot read config file {path}: {error}", exit_code=ExitCode.USAGE
        ) from error
    profiles = document.get("profiles", {})
    chosen = name or document.get("default_profile")
    if chosen is None:
        return {}
    if not isinstance(profiles, dict) or chosen not in profiles:
        raise CliError("config_error", f"no profile {chosen!r} in {path}", exit_code=ExitCode.USAGE)
    values = profiles[chosen]
    unknown = set(values) - PROFILE_KEYS
    if unknown:
        raise CliError(
            "config_error",
            f"profile {chosen!r} in {path} has unknown keys: {', '.join(sorted(unknown))}",
            exit_code=ExitCode.USAGE,
        )
    wrong = sorted(
        key
        for key, value in values.items()
        if not isinstance(value, bool if key == "insecure" else str)
    )
    if wrong:
        raise CliError(
            "config_error",
            f"profile {chosen!r} in {path}: {', '.join(wrong)} must be"
            f" {'true or false' if wrong == ['insecure'] else 'a string'}",
            exit_code=ExitCode.USAGE,
        )
    return dict(values)
