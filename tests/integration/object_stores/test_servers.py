"""The test servers are the real thing: each stores what a client sends with the right
credentials and refuses a client without them (what the adapters' failure tests rely on)."""

from __future__ import annotations

import asyncio
import uuid

import asyncssh
import botocore.exceptions
import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from tests.support.object_stores import AZURITE_ACCOUNT, Azurite, FakeGcs, MotoS3, OpenSshSftp


def test_moto_stores_an_object_for_the_provisioned_key(moto_s3: MotoS3) -> None:
    account = moto_s3.account
    s3 = moto_s3.client(account.access_key_id, account.secret_access_key)
    key = f"probe-{uuid.uuid4()}"
    s3.put_object(Bucket=account.bucket, Key=key, Body=b"payload")
    assert s3.get_object(Bucket=account.bucket, Key=key)["Body"].read() == b"payload"


def test_moto_refuses_a_wrong_secret(moto_s3: MotoS3) -> None:
    s3 = moto_s3.client(moto_s3.account.access_key_id, "not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.put_object(Bucket=moto_s3.account.bucket, Key="refused", Body=b"x")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_azurite_stores_a_blob_for_the_account_key(azurite: Azurite) -> None:
    container = azurite.service().get_container_client(azurite.account.container)
    name = f"probe-{uuid.uuid4()}"
    container.upload_blob(name, b"payload")
    assert container.download_blob(name).readall() == b"payload"


def test_azurite_refuses_a_wrong_account_key(azurite: Azurite) -> None:
    wrong = BlobServiceClient(
        azurite.account.endpoint,
        credential={"account_name": AZURITE_ACCOUNT, "account_key": "d3Jvbmcta2V5"},
    )
    with pytest.raises(HttpResponseError) as refused:
        wrong.get_container_client(azurite.account.container).upload_blob("refused", b"x")
    assert refused.value.status_code == 403


def test_fake_gcs_stores_an_object(fake_gcs: FakeGcs) -> None:
    base = fake_gcs.account.endpoint
    name = f"probe-{uuid.uuid4()}"
    uploaded = httpx.post(
        f"{base}/upload/storage/v1/b/{fake_gcs.account.bucket}/o",
        params={"uploadType": "media", "name": name},
        content=b"payload",
    )
    assert uploaded.status_code == 200
    downloaded = httpx.get(
        f"{base}/storage/v1/b/{fake_gcs.account.bucket}/o/{name}", params={"alt": "media"}
    )
    assert downloaded.content == b"payload"


def _sftp_write(server: OpenSshSftp, key: str, known_hosts: str | None, name: str) -> None:
    account = server.account

    async def write() -> None:
        async with (
            asyncssh.connect(
                account.host,
                account.port,
                username=account.user,
                client_keys=[key],
                known_hosts=known_hosts,
                agent_path=None,
                config=[],
            ) as connection,
            connection.start_sftp_client() as sftp,
            sftp.open(f"{account.root}/{name}", "wb") as remote,
        ):
            await remote.write(b"payload")

    asyncio.run(write())


def test_sshd_serves_sftp_to_the_authorized_key(sftp_server: OpenSshSftp) -> None:
    account = sftp_server.account
    _sftp_write(sftp_server, str(account.key_path), str(account.known_hosts), "probe")
    assert (account.root / "probe").read_bytes() == b"payload"


def test_sshd_refuses_another_key(sftp_server: OpenSshSftp) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    other_path = f"{sftp_server.directory}/other-{uuid.uuid4()}"
    other.write_private_key(other_path)
    with pytest.raises(asyncssh.PermissionDenied):
        _sftp_write(sftp_server, other_path, str(sftp_server.account.known_hosts), "refused")


def test_sshd_host_key_is_checked_against_known_hosts(sftp_server: OpenSshSftp) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    known = f"{sftp_server.directory}/stranger-known-hosts"
    with open(known, "w") as file:
        file.write(f"[127.0.0.1]:{sftp_server.port} {stranger}")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        _sftp_write(sftp_server, str(sftp_server.account.key_path), known, "refused")
