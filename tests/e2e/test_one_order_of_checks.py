"""One order of checks, the same on every road, against `bdbexport serve` started as the
README starts it (the real exporter, the default export root) and the real CLI:

- a caller without the permission learns nothing about locations (403 whatever the
  path or host: issue 22's finding 7);
- a start's dry run with no body judges the permission and the rules only, and with a
  location judges it exactly as the real call would (what the dashboard asks);
- remote `explain --action start` works against a default server (it used to send a
  placeholder `/`, refused as outside the export roots);
- a location type the adapter cannot serve is refused at the start locally too (exit 2,
  nothing recorded), and the simulated exporter is judged like the real one;
- locally a relative `--path` is relative to the working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess, bdbexport_command

pytestmark = pytest.mark.slow

ADMIN = ("admin@example.com", "admin-password")
NOBODY = ("nobody@example.com", "nobody-password")
VIEWER = ("viewer@example.com", "viewer-password")
GS = {
    "type": "gs",
    "bucket_name": "backups",
    "client_id": "1",
    "client_email": "exporter@example.com",
    "private_key_id": "k1",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END PRIVATE KEY-----\n",
}
"""A location type no exporter serves yet (docs/exports.md)."""


def bootstrap(tmp_path: Path, *extra: dict[str, Any]) -> Path:
    document = {
        "users": [
            {"email": ADMIN[0], "password": ADMIN[1], "role": "admin"},
            {"email": NOBODY[0], "password": NOBODY[1], "role": "none"},
            {"email": VIEWER[0], "password": VIEWER[1], "role": "db_viewer"},
        ],
        "bdbs": [
            {"uid": 1, "name": "orders", "endpoints": [{"addr": ["127.0.0.1"], "port": 1}]},
            {
                "uid": 2,
                "name": "sessions",
                "backup_location": {"type": "mount_point", "path": "/etc"},
            },
            *extra,
        ],
    }
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(document))
    return path


def serving(tmp_path: Path, *args: str, bdbs: tuple[dict[str, Any], ...] = ()) -> ServerProcess:
    """`bdbexport serve` with a store and users, nothing else: the default exporter and
    the default export root (`exports` next to the store)."""
    return ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=["--bootstrap", str(bootstrap(tmp_path, *bdbs)), *args],
        workdir=tmp_path,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with serving(tmp_path) as process:
        yield process.start()


def post(
    server: ServerProcess, path: str, body: dict[str, Any] | None, auth: tuple[str, str]
) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, auth=auth, timeout=10)


def mount(path: str) -> dict[str, str]:
    return {"type": "mount_point", "path": path}


def ftp(host: str) -> dict[str, str]:
    return {"type": "url", "url": f"ftp://u:p@{host}:21/dumps/a.rdb"}


# --- permission before probing --------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("user", [NOBODY, VIEWER])
def test_a_caller_without_the_permission_learns_nothing_about_locations(
    server: ServerProcess, tmp_path: Path, dry_run: bool, user: tuple[str, str]
) -> None:
    (tmp_path / "exports" / "inside").mkdir(parents=True, exist_ok=True)
    query = "?dry_run=true" if dry_run else ""
    probes = [
        ("export", {"export_location": mount("/etc/passwd")}),
        ("export", {"export_location": mount(str(tmp_path / "exports" / "inside"))}),
        ("export", {"export_location": ftp("127.0.0.1")}),
        ("export", {"export_location": ftp("10.1.1.1")}),
        ("export", {"export_location": GS}),
        ("import", {"import_location": mount("/etc/passwd")}),
        ("import", {"import_location": mount(str(tmp_path / "exports" / "inside" / "a.rdb"))}),
        ("import", {"import_location": ftp("127.0.0.1")}),
        ("backup", {"backup_location": mount("/etc")}),
        ("backup", {"backup_location": mount("inside")}),
    ]
    answers = set()
    for kind, body in probes:
        refused = post(server, f"/v1/bdbs/1/actions/{kind}{query}", body, user)
        assert refused.status_code == 403, (kind, body, refused.text)
        assert refused.json()["error_code"] == "forbidden"
        answers.add((kind, refused.json()["description"]))
    assert len({description for _, description in answers if _ != "import"}) == 1, answers


# --- dry runs: the rules only without a body, the real call's checks with one -----------


def test_a_dry_run_without_a_body_judges_the_permission_and_the_rules_only(
    server: ServerProcess,
) -> None:
    for kind in ("export", "import"):
        asked = post(server, f"/v1/bdbs/1/actions/{kind}?dry_run=true", None, ADMIN)
        assert asked.status_code == 200, (kind, asked.text)
        assert asked.json()["dry_run"] is True
        assert asked.json()["allowed"] is True
    missing = post(server, "/v1/bdbs/9/actions/export?dry_run=true", None, ADMIN)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "db_not_exist"
    assert missing.json()["dry_run"] is True
    # A backup's location is the bdb's when the request names none: db 2's is /etc.
    backup = post(server, "/v1/bdbs/2/actions/backup?dry_run=true", None, ADMIN)
    assert backup.status_code == 400
    assert backup.json()["error_code"] == "export_path_not_allowed"
    no_location = post(server, "/v1/bdbs/1/actions/backup?dry_run=true", None, ADMIN)
    assert no_location.status_code == 400
    assert no_location.json()["error_code"] == "no_backup_location"
    bdb = httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).json()
    assert bdb["export_status"] == "idle"


def test_a_dry_run_with_a_location_judges_it_as_the_real_call(
    server: ServerProcess, tmp_path: Path
) -> None:
    inside = tmp_path / "exports" / "typed"
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"export_location": mount(str(inside))}, 200, None),
        ({"export_location": mount("typed")}, 200, None),  # relative to the first root
        ({"export_location": mount("/etc")}, 400, "export_path_not_allowed"),
        ({"export_location": mount("../..")}, 400, "export_path_not_allowed"),
        ({"export_location": ftp("127.0.0.1")}, 400, "egress_not_allowed"),
        ({"export_location": GS}, 400, "unsupported_location_type"),
        ({}, 400, "invalid_schema"),
    ]
    for body, status, code in cases:
        dry = post(server, "/v1/bdbs/1/actions/export?dry_run=true", body, ADMIN)
        assert dry.status_code == status, (body, dry.text)
        assert dry.json().get("error_code") == code
        if code is not None:
            real = post(server, "/v1/bdbs/1/actions/export", body, ADMIN)
            assert real.json() == dry.json()
    assert httpx.get(f"{server.url}/v2/actions", auth=ADMIN).json() == []


# --- remote explain ---------------------------------------------------------------------------


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    for name in ("BDBEXPORT_URL", "BDBEXPORT_USER", "BDBEXPORT_STORE"):
        if env is None or name not in env:
            environment.pop(name, None)
    return subprocess.run(
        [*bdbexport_command(), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_remote_explain_start_works_against_a_default_server(server: ServerProcess) -> None:
    password = {"BDBEXPORT_PASSWORD": ADMIN[1]}
    asked = cli(
        "--url", server.url, "--user", ADMIN[0], "explain", "1", "--action", "start", env=password
    )
    assert asked.returncode == 0, asked.stdout + asked.stderr
    as_json = cli(
        "--url",
        server.url,
        "--user",
        ADMIN[0],
        "-o",
        "json",
        "explain",
        "1",
        "--action",
        "start",
        env=password,
    )
    decision = json.loads(as_json.stdout)
    assert decision["allowed"] is True
    assert [check["check"] for check in decision["checks"]][:2] == ["authenticated", "permitted"]
    refused = cli(
        "--url",
        server.url,
        "--user",
        NOBODY[0],
        "explain",
        "1",
        "--action",
        "start",
        env={"BDBEXPORT_PASSWORD": NOBODY[1]},
    )
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "forbidden" in refused.stdout + refused.stderr


# --- the simulated exporter is judged like the real one ------------------------------------


def test_the_simulated_exporter_refuses_what_the_real_one_refuses(tmp_path: Path) -> None:
    with serving(tmp_path, "--exporter", "simulated", "--simulated-duration", "0.2") as process:
        process.start()
        for body, code in [
            ({"export_location": GS}, "unsupported_location_type"),
            ({"export_location": mount("/etc")}, "export_path_not_allowed"),
            ({"export_location": ftp("127.0.0.1")}, "egress_not_allowed"),
        ]:
            refused = post(process, "/v1/bdbs/1/actions/export", body, ADMIN)
            assert refused.status_code == 400, (body, refused.text)
            assert refused.json()["error_code"] == code
        accepted = post(
            process, "/v1/bdbs/1/actions/export", {"export_location": mount("x")}, ADMIN
        )
        assert accepted.status_code == 200, accepted.text


# --- the local CLI: gs refused at the start, relative paths from the working directory ------


@pytest.fixture
def local(tmp_path: Path) -> dict[str, str]:
    store = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    added = cli("--store", store, "db", "add", "1", "orders")
    assert added.returncode == 0, added.stderr
    return {"BDBEXPORT_STORE": store}


@pytest.mark.parametrize("exporter", ["rdb", "simulated"])
def test_a_local_gs_export_is_refused_at_the_start_and_records_nothing(
    local: dict[str, str], tmp_path: Path, exporter: str
) -> None:
    location = tmp_path / "gs.json"
    location.write_text(json.dumps(GS))
    started = cli(
        "export",
        "start",
        "1",
        "--location-file",
        str(location),
        "--exporter",
        exporter,
        env=local,
        cwd=tmp_path,
    )
    assert started.returncode == 2, started.stdout + started.stderr
    assert started.stderr.startswith("error: unsupported_location_type: ")
    assert "'gs'" in started.stderr
    shown = json.loads(cli("-o", "json", "db", "show", "1", env=local).stdout)
    assert shown["export_status"] == "idle"
    assert json.loads(cli("-o", "json", "action", "list", env=local).stdout) == []


def test_a_local_relative_path_is_relative_to_the_working_directory(
    local: dict[str, str], tmp_path: Path, redis_server: RedisServer
) -> None:
    endpoint = f"127.0.0.1:{redis_server.port}"
    assert cli("db", "set", "1", "--endpoint", endpoint, env=local).returncode == 0
    work = tmp_path / "work"
    (work / "rel").mkdir(parents=True)
    started = cli("export", "start", "1", "--path", "rel", env=local, cwd=work)
    assert started.returncode == 0, started.stdout + started.stderr
    written = list((work / "rel").iterdir())
    assert len(written) == 1, written
    assert written[0].read_bytes().startswith(b"REDIS")
    outside = cli("export", "start", "1", "--path", "../..", env=local, cwd=work)
    assert outside.returncode == 2, outside.stdout + outside.stderr
    assert outside.stderr.startswith("error: export_path_not_allowed: ")


def test_the_same_gs_export_is_refused_alike_by_a_default_server_and_locally(
    server: ServerProcess, tmp_path: Path
) -> None:
    location = tmp_path / "gs.json"
    location.write_text(json.dumps(GS))
    remote = cli(
        *("--url", server.url, "--user", ADMIN[0]),
        *("export", "start", "1", "--location-file", str(location)),
        env={"BDBEXPORT_PASSWORD": ADMIN[1]},
    )
    assert remote.returncode == 2, remote.stdout + remote.stderr
    assert remote.stderr.startswith("error: unsupported_location_type: ")
    assert httpx.get(f"{server.url}/v2/actions", auth=ADMIN).json() == []


def test_a_relative_path_on_a_default_server_is_relative_to_its_first_root(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    endpoint = {"addr": ["127.0.0.1"], "port": redis_server.port}
    source = {"uid": 5, "name": "live", "endpoints": [endpoint]}
    (tmp_path / "exports" / "rel").mkdir(parents=True)
    with serving(tmp_path, bdbs=(source,)) as process:
        process.start()
        watched = cli(
            *("--url", process.url, "--user", ADMIN[0]),
            *("export", "start", "5", "--path", "rel", "--watch", "--interval", "0.1"),
            env={"BDBEXPORT_PASSWORD": ADMIN[1]},
            cwd=tmp_path,
        )
        assert watched.returncode == 0, watched.stdout + watched.stderr
    written = list((tmp_path / "exports" / "rel").iterdir())
    assert len(written) == 1, written
    assert written[0].read_bytes().startswith(b"REDIS")
    assert not (tmp_path / "rel").exists()
