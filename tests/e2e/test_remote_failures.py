"""Each failure class of the remote location types through a real `bdbexport serve`:
Redis's failure reason, nothing left in the store, and no secret anywhere — not in a
response, the bdb, the action records, the server's output, the audit log or /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import obstore
import pytest

from bdbexport.adapters.object_stores.obstore_stores import s3_store
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.locations import S3Location
from tests.e2e.test_real_exports import SourceRedis, bdb_on, serve, write_dataset
from tests.e2e.test_serve import ADMIN
from tests.support.object_stores import MotoS3, OpenSshSftp
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
WRONG_SECRET = "wrong-secret-0123456789abcdef"


@pytest.fixture
def source(tmp_path: Path) -> Iterator[SourceRedis]:
    server = SourceRedis(tmp_path / "source").start()
    write_dataset(server.client())
    yield server
    server.stop()


def s3_location(moto: MotoS3, subdir: str, **changes: str) -> dict[str, Any]:
    account = moto.account
    return {
        "type": "s3",
        "bucket_name": account.bucket,
        "subdir": subdir,
        "region_name": account.region,
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
        **changes,
    }


def ended(server: ServerProcess, within: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        bdb: dict[str, Any] = httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).json()
        if bdb["export_status"] != "exporting":
            return bdb
        assert time.monotonic() < deadline, bdb
        time.sleep(0.1)


def everything_said(server: ServerProcess, tmp_path: Path, responses: list[str]) -> str:
    said = [
        *responses,
        httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).text,
        httpx.get(f"{server.url}/v1/actions", auth=ADMIN).text,
        httpx.get(f"{server.url}/metrics", auth=ADMIN).text,
        server.stdout_path.read_text(errors="replace"),
        server.stderr_path.read_text(errors="replace"),
        (tmp_path / "audit.jsonl").read_text(errors="replace"),
    ]
    return "\n".join(said)


def start(server: ServerProcess, location: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/bdbs/1/actions/export", json={"export_location": location}, auth=ADMIN
    )


def test_s3_failures_are_redis_reasons_leave_nothing_and_leak_no_secret(
    tmp_path: Path, source: SourceRedis, moto_s3: MotoS3
) -> None:
    account = moto_s3.account
    subdir = f"failures-{tmp_path.name}"
    audit = ["--audit-log", str(tmp_path / "audit.jsonl")]
    endpoint = ["--s3-url", account.endpoint]
    responses: list[str] = []
    with serve(
        tmp_path, [bdb_on(source.port)], "--allow-egress", "127.0.0.1", *endpoint, *audit
    ).start() as server:
        cases = [
            ({"secret_access_key": WRONG_SECRET}, "no-permission", "HTTP 403"),
            ({"bucket_name": "no-such-bucket"}, "wrong-file-path", "HTTP 404"),
        ]
        for changes, reason, answer in cases:
            started = start(server, s3_location(moto_s3, subdir, **changes))
            assert started.status_code == 200, started.text
            responses.append(started.text)
            bdb = ended(server)
            assert (bdb["export_status"], bdb["export_failure_reason"]) == ("failed", reason)
            assert answer in bdb["export_failure_detail"]
            reset = httpx.put(f"{server.url}/v1/bdbs/1/actions/export_reset_status", auth=ADMIN)
            assert reset.status_code == 200
        said = everything_said(server, tmp_path, responses)
    for secret in (account.secret_access_key, WRONG_SECRET):
        assert secret not in said
    store = s3_store(
        S3Location.model_validate(s3_location(moto_s3, subdir)),
        RemoteSettings(s3_url=account.endpoint),
    )
    assert obstore.list(store, prefix=subdir).collect() == []
    client = moto_s3.client(account.access_key_id, account.secret_access_key)
    assert not client.list_multipart_uploads(Bucket=account.bucket).get("Uploads")


def test_a_store_on_a_refused_address_is_refused_at_the_start(
    tmp_path: Path, source: SourceRedis, moto_s3: MotoS3, sftp_server: OpenSshSftp
) -> None:
    """Without --allow-egress, loopback is refused: 400 egress_not_allowed, nothing
    recorded, whatever the type; the cloud metadata address too."""
    account = sftp_server.account
    sftp = {
        "type": "sftp",
        "sftp_url": f"sftp://{account.user}@127.0.0.1:{account.port}{account.root}/",
        "key": account.key_path.read_text(),
    }
    metadata = {**sftp, "sftp_url": "sftp://root@169.254.169.254/"}
    audit = ["--audit-log", str(tmp_path / "audit.jsonl")]
    with serve(
        tmp_path, [bdb_on(source.port)], "--s3-url", moto_s3.account.endpoint, *audit
    ).start() as server:
        responses = []
        for location in (s3_location(moto_s3, "refused"), sftp, metadata):
            refused = start(server, location)
            assert refused.status_code == 400, refused.text
            assert refused.json()["error_code"] == "egress_not_allowed"
            responses.append(refused.text)
        assert httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).json()["export_status"] == "idle"
        said = everything_said(server, tmp_path, responses)
    assert moto_s3.account.secret_access_key not in said
    assert "PRIVATE KEY" not in said
