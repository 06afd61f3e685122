"""The installed `bdbexport` script in remote mode, against `bdbexport serve` as the
README starts it: the real exporter, the default export root, and database 1 pointed at
a real `redis-server` whose snapshot is slowed (`rdb-key-save-delay`) to last a few
seconds, so a running export can be watched and waited for."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from tests.e2e.test_serve import ADMIN, BOOTSTRAP, VIEWER
from tests.support.default_serve import DefaultServe, default_serve, filled_redis
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess, bdbexport_command, free_port

pytestmark = pytest.mark.slow
EXPORT_KEYS = 1000
KEY_SAVE_DELAY_US = 4000
"""1000 keys at 4 ms each: a real export of about 4 s, as the simulated one was."""


def bdbexport(
    url: str, *args: str, user: tuple[str, str] = ADMIN, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BDBEXPORT_PASSWORD": user[1]}
    env.pop("BDBEXPORT_STORE", None)
    return subprocess.run(
        [*bdbexport_command(), "--url", url, "--user", user[0], *extra, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Database 1's data: a real Redis whose snapshot takes about 4 s."""
    redis = filled_redis(
        tmp_path_factory.mktemp("cli-remote-redis"),
        keys=EXPORT_KEYS,
        key_save_delay_us=KEY_SAVE_DELAY_US,
    )
    yield redis
    redis.stop()


@pytest.fixture
def server(tmp_path: Path, source: RedisServer) -> Iterator[DefaultServe]:
    with default_serve(tmp_path, BOOTSTRAP) as serve:
        serve.point(1, source)
        yield serve


def test_a_full_session_start_watch_reset_and_errors(server: DefaultServe) -> None:
    listed = bdbexport(server.url, "db", "list")
    assert listed.returncode == 0, listed.stderr
    assert "orders" in listed.stdout
    root = str(server.export_root)
    started = bdbexport(server.url, "export", "start", "1", "--path", root, "--watch")
    assert started.returncode == 0, started.stderr
    assert "export of bdb:1 completed, 100%" in started.stdout  # the action, followed
    shown = json.loads(bdbexport(server.url, "--json", "db", "show", "1").stdout)
    assert shown["export_progress"] == 100
    reset = bdbexport(server.url, "export", "reset", "1")
    assert reset.returncode == 0
    assert "reset to idle" in reset.stdout
    assert bdbexport(server.url, "export", "reset", "3").returncode == 5
    assert bdbexport(server.url, "export", "reset", "4").returncode == 6
    assert bdbexport(server.url, "export", "reset", "999").returncode == 4
    assert bdbexport(server.url, "export", "reset", "2", user=VIEWER).returncode == 3


def test_status_watch_follows_a_running_export_to_its_end(server: DefaultServe) -> None:
    root = str(server.export_root)
    started = bdbexport(server.url, "--json", "export", "start", "1", "--path", root)
    assert json.loads(started.stdout)["export_status"] == "exporting"
    watched = bdbexport(
        server.url, "--json", "export", "status", "1", "--watch", "--interval", "0.1"
    )
    assert watched.returncode == 0, watched.stderr
    final = json.loads(watched.stdout)
    assert final["export_status"] == "succeeded"
    assert final["export_progress"] == 100


def test_retry_busy_waits_for_the_export_to_end(server: DefaultServe) -> None:
    refused = bdbexport(server.url, "export", "reset", "4")  # busy with another action
    assert refused.returncode == 6
    assert "hint:" in refused.stderr
    # Started over HTTP (no CLI start-up time) and about 4 s long, so the retry surely
    # meets the export even when a loaded machine takes seconds to start the CLI.
    mount = {"export_location": {"type": "mount_point", "path": str(server.export_root)}}
    assert httpx.post(f"{server.url}/v1/bdbs/1/actions/export", json=mount, auth=ADMIN).is_success
    retried = bdbexport(server.url, "--retry-busy", "8", "export", "reset", "1")
    assert retried.returncode == 0, retried.stderr
    assert "retrying in" in retried.stderr


def test_remote_and_local_mode_agree_on_exit_codes(server: DefaultServe) -> None:
    local_store = server.store_url
    for args in (["export", "reset", "3"], ["export", "reset", "999"], ["db", "show", "999"]):
        remote = bdbexport(server.url, *args)
        local = subprocess.run(
            [*bdbexport_command(), "--store", local_store, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert remote.returncode == local.returncode != 0
        assert remote.stderr.split(":")[1] == local.stderr.split(":")[1]


def test_a_wrong_password_and_an_unreachable_server(server: DefaultServe) -> None:
    wrong = bdbexport(server.url, "db", "list", user=(ADMIN[0], "nope"))
    assert wrong.returncode == 3
    assert wrong.stderr.startswith("error: unauthenticated: ")
    down = bdbexport(f"http://127.0.0.1:{free_port()}", "db", "list")
    assert down.returncode == 7
    assert "connection_error" in down.stderr
    assert "Traceback" not in down.stderr + wrong.stderr


def local(store: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("BDBEXPORT_URL", None)
    return subprocess.run(
        [*bdbexport_command(), "--store", store, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


EXPLAINED = [("1", "reset"), ("3", "reset"), ("4", "reset"), ("999", "reset"), ("3", "start")]


def test_remote_explain_prints_the_decision_local_explain_prints(server: DefaultServe) -> None:
    store = server.store_url
    as_admin = ("--as", ADMIN[0])
    codes = set()
    for uid, action in EXPLAINED:
        remote = bdbexport(server.url, "explain", uid, "--action", action)
        here = local(store, *as_admin, "explain", uid, "--action", action)
        assert remote.returncode == here.returncode, (uid, action, remote.stderr)
        assert remote.stdout == here.stdout
        assert remote.stderr == here.stderr == ""
        remote_json = bdbexport(server.url, "--json", "explain", uid, "--action", action)
        here_json = local(store, *as_admin, "--json", "explain", uid, "--action", action)
        assert remote_json.returncode == here_json.returncode
        assert json.loads(remote_json.stdout) == json.loads(here_json.stdout)
        codes.add(remote.returncode)
    assert codes == {0, 4, 5, 6}  # allowed, and refusals of three kinds
    assert (
        json.loads(bdbexport(server.url, "--json", "db", "show", "4").stdout)["action_uid"]
        == "resharding-4"
    )  # a dry run changes nothing


def test_remote_explain_asks_about_import_and_backup_as_local_explain(
    server: DefaultServe,
) -> None:
    """`--kind import|backup` asks the member's own routes (`.../actions/import`,
    `.../actions/backup_reset_status`, ...): the same decision as the local rules engine."""
    store = server.store_url
    as_admin = ("--as", ADMIN[0])
    actions = set()
    for uid, kind, verb in (
        ("1", "import", "start"),
        ("1", "backup", "start"),
        ("1", "import", "reset"),
        ("1", "backup", "reset"),
        ("3", "import", "start"),
        ("2", "backup", "start"),
        ("4", "backup", "start"),
    ):
        args = ("--json", "explain", uid, "--kind", kind, "--action", verb)
        remote = bdbexport(server.url, *args)
        here = local(store, *as_admin, *args)
        assert remote.returncode == here.returncode, (uid, kind, verb, remote.stderr)
        assert remote.stderr == here.stderr
        if not remote.stdout:  # not a decision: the same error on both sides
            continue
        assert json.loads(remote.stdout) == json.loads(here.stdout)
        actions.add(json.loads(remote.stdout)["action"])
        plain = ("explain", uid, "--kind", kind, "--action", verb)
        assert bdbexport(server.url, *plain).stdout == local(store, *as_admin, *plain).stdout
    assert actions == {"start_import", "reset_import", "reset_backup"}
    # With a backup_location in both sides' roots, the backup's start is a decision too.
    root = str(server.export_root)
    assert local(store, "db", "set", "1", "--backup-path", root).returncode == 0
    args = ("--json", "explain", "1", "--kind", "backup", "--action", "start")
    remote = bdbexport(server.url, *args)
    here = local(store, *as_admin, "--export-root", root, *args)
    assert remote.returncode == here.returncode == 0, remote.stderr
    assert json.loads(remote.stdout) == json.loads(here.stdout)
    assert json.loads(remote.stdout)["action"] == "start_backup"
    viewer = bdbexport(server.url, "explain", "1", "--kind", "backup", user=VIEWER)
    assert viewer.returncode == 3
    assert viewer.stdout.startswith(f"reset_backup on database 1 as {VIEWER[0]}")


def test_remote_explain_refusals_and_errors(server: DefaultServe) -> None:
    allowed = bdbexport(server.url, "explain", "2")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith(f"reset on database 2 as {ADMIN[0]} (admin): allowed")
    assert (
        json.loads(bdbexport(server.url, "--json", "db", "show", "2").stdout)["export_status"]
        == "failed"
    )  # a dry run changes nothing
    forbidden = bdbexport(server.url, "--json", "explain", "2", user=VIEWER)
    assert forbidden.returncode == 3
    decision = json.loads(forbidden.stdout)
    assert (decision["allowed"], decision["error"]["error_code"]) == (False, "forbidden")
    assert [check["outcome"] for check in decision["checks"]][:2] == ["passed", "failed"]
    wrong = bdbexport(server.url, "explain", "2", user=(ADMIN[0], "nope"))
    assert wrong.returncode == 3
    assert wrong.stderr.startswith("error: unauthenticated: ")
    view = bdbexport(server.url, "explain", "1", "--action", "view")
    assert view.returncode == 2
    assert view.stderr.startswith("error: invalid_argument: only reset and start can be explained")


def test_set_password_on_the_store_of_a_running_server(server: DefaultServe) -> None:
    store = server.store_url
    changed = local(store, "user", "set-password", ADMIN[0], "--password-stdin", stdin="renewed\n")
    assert changed.returncode == 0, changed.stderr
    deadline = time.monotonic() + 5.0
    while True:
        fresh = bdbexport(server.url, "db", "list", user=(ADMIN[0], "renewed"))
        if fresh.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert fresh.returncode == 0, fresh.stderr
    old = bdbexport(server.url, "db", "list", user=ADMIN)
    assert old.returncode == 3
    assert old.stderr.startswith("error: unauthenticated: ")


def test_a_followed_remote_export_that_fails_says_why(tmp_path: Path) -> None:
    with default_serve(tmp_path, BOOTSTRAP) as server:  # database 1 has no data endpoint
        why = (
            "export of database 1 failed: general-error: no data endpoint"
            " (hint: set one with: bdbexport db set 1 --endpoint HOST:PORT)\n"
        )
        watched = bdbexport(
            server.url,
            "export",
            "start",
            "1",
            "--path",
            str(server.export_root),  # the server's default export root, next to its store
            "--watch",
            "--interval",
            "0.1",
        )
        assert watched.returncode == 9, watched.stderr
        assert watched.stdout == why
        status = bdbexport(server.url, "export", "status", "1", "--watch")
        assert (status.returncode, status.stdout) == (9, why)
        assert bdbexport(server.url, "export", "status", "1").stdout == why
        shown = json.loads(bdbexport(server.url, "--json", "db", "show", "1").stdout)
        assert shown["export_failure_detail"] == "no data endpoint"


def test_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    certfile, keyfile, cafile = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    authority.cert_pem.write_to_path(str(cafile))
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(BOOTSTRAP))
    trust = ssl.create_default_context(cafile=str(cafile))
    with ServerProcess(
        f"sqlite://{tmp_path / 's.sqlite3'}",
        args=["--bootstrap", str(bootstrap)],
        tls=(certfile, keyfile),
        workdir=tmp_path,
    ).start(verify=trust) as server:
        untrusted = bdbexport(server.url, "db", "list")
        assert untrusted.returncode == 7
        assert "--insecure" in untrusted.stderr
        insecure = bdbexport(server.url, "db", "list", extra=("--insecure",))
        assert insecure.returncode == 0, insecure.stderr
        pinned = bdbexport(server.url, "export", "reset", "2", extra=("--ca-file", str(cafile)))
        assert pinned.returncode == 0, pinned.stderr


def test_acting_as_another_user_is_refused_against_a_server(server: DefaultServe) -> None:
    """A server knows you by your credentials only: `--as` there would silently run the
    command with the --user's rights."""
    result = bdbexport(server.url, "export", "reset", "2", "--as", VIEWER[0])
    assert result.returncode == 2, result.stderr
    assert "error: invalid_argument: --as is local-only" in result.stderr
    shown = bdbexport(server.url, "db", "show", "2", "--json")
    assert json.loads(shown.stdout)["export_status"] == "failed"  # nothing was reset
