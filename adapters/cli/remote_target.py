"""Remote mode: the same operations over HTTP, against `bdbexport serve` or a real
Redis Software cluster (same paths, same JSON, Basic auth)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bdbexport.domain.action_kind import ActionKind, Trigger
from bdbexport.domain.actions import ACTIONS, Action
from bdbexport.domain.locations import ExportLocation

from .errors import CliError
from .exit_codes import ExitCode

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DECISION_KEYS = ("action", "uid", "principal", "allowed", "error", "checks")
"""What `Decision.to_dict()` holds: the part of a dry run's answer `explain` prints."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _check_server_url(url: str) -> None:
    """`http(s)://host[:port]`: anything else is a usage error (exit 2), not a failed
    connection to a server that was never named."""
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as error:
        raise CliError(
            "invalid_argument", f"--url {url!r} is not a URL: {error}", exit_code=ExitCode.USAGE
        ) from error
    if parts.scheme not in {"http", "https"} or not parts.host:
        raise CliError(
            "invalid_argument",
            f"--url {url!r} must be http://host:port or https://host:port",
            exit_code=ExitCode.USAGE,
        )


class RemoteTarget:
    def __init__(
        self,
        url: str,
        *,
        user: str,
        password: str,
        insecure: bool = False,
        ca_file: Path | None = None,
    ) -> None:
        _check_server_url(url)
        verify: ssl.SSLContext | bool = True
        if insecure:
            verify = False
        elif ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as error:
                raise CliError(
                    "config_error",
                    f"cannot use CA file {ca_file}: {error}",
                    exit_code=ExitCode.USAGE,
                ) from error
        self.client = httpx.Client(
            base_url=url.rstrip("/"),
            auth=(user, password),
            verify=verify,
            timeout=TIMEOUT,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self.client.close()

    def list_bdbs(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/v1/bdbs")
        return result

    def get_bdb(self, uid: int) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/bdbs/{uid}")
        return result

    def list_modules(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/v1/modules")
        return result

    def unlock_user(self, email: str) -> dict[str, Any]:
        """`POST /v1/users/unlock` (admins only): lift `email`'s sign-in lock."""
        result: dict[str, Any] = self._request("POST", "/v1/users/unlock", json={"email": email})
        return result

    def reset_kind(self, uid: int, kind: ActionKind) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "PUT", f"/v1/bdbs/{uid}/actions/{kind.value}_reset_status", json={}
        )
        return result

    def start_action(
        self, kind: ActionKind, uid: int, location: ExportLocation | None, *, flush: bool = False
    ) -> dict[str, Any]:
        """`POST .../actions/<kind>` in the form real clients send: `export_location`,
        `import_location` (with `flush`), or for a backup `{}` (the bdb's location) or
        `backup_location`."""
        where = None if location is None else _reveal(location.model_dump())
        body: dict[str, Any] = {}
        if kind is ActionKind.IMPORT:
            body = {"import_location": where, "flush": flush}
        elif where is not None:
            body = {f"{kind.value}_location": where}
        result: dict[str, Any] = self._request(
            "POST", f"/v1/bdbs/{uid}/actions/{kind.value}", json=body
        )
        return result

    def list_actions(self, bdb_uid: int | None = None) -> list[dict[str, Any]]:
        path = "/v2/actions" if bdb_uid is None else f"/v1/actions/bdb/{bdb_uid}"
        result: list[dict[str, Any]] = self._request("GET", path)
        return result

    def get_action(self, action_uid: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/actions/{quote(action_uid, safe='')}")
        return result

    def cancel_action(self, action_uid: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "DELETE", f"/v1/actions/{quote(action_uid, safe='')}"
        )
        return result

    def explain(self, uid: int, action: Action) -> dict[str, Any]:
        """The server's decision (`?dry_run=true` on the action's endpoint: the kind's
        start or `<kind>_reset_status` route, read from the action's rule), in the shape
        of `Decision.to_dict()`. A refusal is a decision too, answered with the real call's
        4xx: any answer whose body says `"dry_run": true` is the decision. Asked without
        a body: a dry run with none judges no location, only the permission and the
        rules (docs/domain.md, the order of checks)."""
        rule = ACTIONS[action]
        if rule.lifecycle is None or rule.trigger not in {Trigger.RESET, Trigger.START}:
            raise CliError(
                "invalid_argument",
                f"only reset and start can be explained against a server, not {action.value}"
                " (explain --action view needs a local store: --store)",
            )
        kind = rule.lifecycle.kind.value
        if rule.trigger is Trigger.RESET:
            method, path = "PUT", f"/v1/bdbs/{uid}/actions/{kind}_reset_status"
        else:
            method, path = "POST", f"/v1/bdbs/{uid}/actions/{kind}"
        response = self._send(method, path, params={"dry_run": "true"})
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("dry_run") is True:
            return {key: answer.get(key) for key in DECISION_KEYS}
        self._answer(response, method, path)  # an error: raises it
        raise CliError(
            "invalid_response",
            f"{method} {path}?dry_run=true answered without a decision: the server does not"
            " support dry_run",
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._answer(self._send(method, path, **kwargs), method, path)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise CliError(
                "connection_error",
                f"cannot reach {self.client.base_url}: {error}",
                hint=_connection_hint(error),
            ) from error

    def _answer(self, response: httpx.Response, method: str, path: str) -> Any:
        if response.is_success:
            try:
                return response.json()
            except ValueError as error:
                raise CliError(
                    "invalid_response", f"{method} {path} answered something that is not JSON"
                ) from error
        try:
            body = response.json()
            code, description = str(body["error_code"]), str(body["description"])
        except (ValueError, KeyError, TypeError):
            code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
                response.status_code, "http_error"
            )
            description = f"{method} {path} answered {response.status_code}"
        raise CliError(code, description, retry_after=_retry_after(response))


def _connection_hint(error: httpx.HTTPError) -> str | None:
    """A hint that fits the failure: `--insecure` only for a certificate that did not
    verify, never for a refused connection or a timeout (`None`: the usual hint)."""
    cause: BaseException | None = error
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, ssl.SSLCertVerificationError) or (
            "CERTIFICATE_VERIFY_FAILED" in str(cause)
        ):
            return (
                "the server's certificate did not verify: trust its CA with --ca-file PEM,"
                " or skip verification with --insecure."
            )
        if isinstance(cause, ssl.SSLError) or "WRONG_VERSION_NUMBER" in str(cause):
            return "the TLS handshake failed: does the server speak https at that --url?"
        cause = cause.__cause__ or cause.__context__
        seen += 1
    if isinstance(error, httpx.TimeoutException):
        return "the server did not answer in time: check --url, or retry later."
    return None


def _reveal(value: Any) -> Any:
    """Locations keep credentials as SecretStr; the request needs the real values."""
    if isinstance(value, dict):
        return {key: _reveal(item) for key, item in value.items()}
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return value
