"""`sftp` locations through asyncssh: exports and backups written under a temporary
name and renamed once complete, imports read as they stream, both beside a SHA-256
sidecar.

The TCP connection is made by the egress policy (`Egress.connect`) and handed to
asyncssh, so the address checked is the address connected to. The host key is checked
against `--sftp-known-hosts` or, without it, the server user's `~/.ssh/known_hosts`
(OpenSSH's own default): an unknown or changed key is `no-permission`, and no key is
ever trusted on first use. Without a `key` in the location, the server user's own SSH
keys are offered (Redis Software's "the cluster's own key"); ssh-agent and the user's
ssh config are never consulted.

asyncssh is asynchronous; the exporter's sinks are called from a worker thread, so each
transfer runs its own event loop on a thread of its own and every call waits for it
within the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import posixpath
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import unquote, urlsplit

from bdbexport.domain.errors import EgressNotAllowedError
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import SftpLocation
from bdbexport.domain.statuses import ImportFailureReason

from .checksum import digest_in, sidecar_body, sidecar_name
from .failures import Failure, Kind, classify
from .settings import Egress, RemoteSettings

if TYPE_CHECKING:
    import asyncssh

T = TypeVar("T")
CHUNK = 1024 * 1024
PROVIDER = "SFTP"


def parts_of(location: SftpLocation) -> tuple[str, int, str, str | None, str]:
    """host, port, user, password, path (`/` by default), all unquoted."""
    url = urlsplit(location.sftp_url.get_secret_value())
    user = unquote(url.username or "")
    password = None if url.password is None else unquote(url.password)
    return url.hostname or "", url.port or 22, user, password, unquote(url.path) or "/"


def _classified(error: BaseException) -> Failure:
    try:
        import asyncssh
    except ImportError:
        return classify(PROVIDER, error)

    if isinstance(error, asyncssh.PermissionDenied | asyncssh.HostKeyNotVerifiable):
        return Failure(Kind.PERMISSION, f"{PROVIDER}: {type(error).__name__}")
    if isinstance(error, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
        return Failure(Kind.PATH, f"{PROVIDER}: no such file or directory")
    if isinstance(error, asyncssh.SFTPPermissionDenied):
        return Failure(Kind.PERMISSION, f"{PROVIDER}: permission denied")
    if isinstance(error, asyncssh.SFTPFailure):
        return Failure(Kind.GENERAL, f"{PROVIDER}: the server refused the operation")
    if isinstance(error, asyncssh.DisconnectError | asyncssh.ConnectionLost):
        return Failure(Kind.TRANSFER, f"{PROVIDER}: the connection broke")
    if isinstance(error, EgressNotAllowedError):
        return classify(PROVIDER, error)
    if isinstance(error, TimeoutError):
        return Failure(Kind.TRANSFER, f"{PROVIDER}: no answer within the timeout")
    if isinstance(error, OSError):
        return Failure(Kind.TRANSFER, f"{PROVIDER}: could not connect, or the connection broke")
    return Failure(Kind.GENERAL, f"{PROVIDER}: {type(error).__name__}")


class _Session:
    """One SSH connection and its SFTP client, on an event loop of its own."""

    def __init__(self, location: SftpLocation, settings: RemoteSettings, egress: Egress) -> None:
        self.timeout = settings.timeout
        self.host, self.port, user, password, self.path = parts_of(location)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp", daemon=True)
        self._thread.start()
        self._connection: asyncssh.SSHClientConnection | None = None
        self.sftp: asyncssh.SFTPClient | None = None
        try:
            sock = egress.connect(self.host, self.port, self.timeout)
            sock.settimeout(None)
            self.run(self._open(location, settings, user, password, sock))
        except BaseException:
            self.close()
            raise

    async def _open(
        self,
        location: SftpLocation,
        settings: RemoteSettings,
        user: str,
        password: str | None,
        sock: Any,
    ) -> None:
        import asyncssh

        keys: Any = ()
        if location.key is not None:
            keys = [asyncssh.import_private_key(location.key.get_secret_value())]
        elif password is None:
            keys = None  # the server user's own keys (~/.ssh/id_*)
        known_hosts = (
            str(settings.sftp_known_hosts) if settings.sftp_known_hosts is not None else ()
        )
        self._connection = await asyncssh.connect(
            sock=sock,
            username=user,
            password=password,
            client_keys=keys,
            known_hosts=known_hosts,
            host_key_alias=self.host,
            agent_path=None,
            config=None,
            connect_timeout=self.timeout,
            login_timeout=self.timeout,
        )
        self.sftp = await self._connection.start_sftp_client()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(work, self.timeout), self._loop
        ).result()

    def close(self) -> None:
        async def shut() -> None:
            if self.sftp is not None:
                self.sftp.exit()
            if self._connection is not None:
                self._connection.close()
                await self._connection.wait_closed()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(asyncio.wait_for(shut(), 5), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()


class SftpSink:
    """`<path>/<final_name>` written as `<path>/.<final_name>.partial`, renamed when
    complete (SFTP's rename never replaces a file), then its sidecar the same way."""

    def __init__(
        self, location: SftpLocation, final_name: str, settings: RemoteSettings, egress: Egress
    ) -> None:
        self.final_name = final_name
        self._hash = hashlib.sha256()
        self._file: asyncssh.SFTPClientFile | None = None
        self._done = False
        try:
            self._session = _Session(location, settings, egress)
            self._directory = self._session.path
            self._temp = posixpath.join(self._directory, f".{final_name}.partial")
            self._file = self._call(_opened(self._sftp(), self._temp, "xb"))
        except Exception as error:
            raise _classified(error).for_export() from None

    def _sftp(self) -> asyncssh.SFTPClient:
        assert self._session.sftp is not None
        return self._session.sftp

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return self._session.run(work)

    def write(self, data: bytes | memoryview) -> None:
        assert self._file is not None
        self._hash.update(data)
        try:
            self._call(self._file.write(bytes(data)))
        except Exception as error:
            raise _classified(error).for_export() from None

    def _publish(self, temp: str, final: str) -> None:
        self._call(self._sftp().rename(temp, final))

    def commit(self) -> None:
        assert self._file is not None
        final = posixpath.join(self._directory, self.final_name)
        try:
            self._call(self._file.close())
            self._file = None
            self._publish(self._temp, final)
            self._done = True
            side_temp = posixpath.join(self._directory, f".{sidecar_name(self.final_name)}.partial")
            self._call(self._write_whole(side_temp, sidecar_body(self._hash.hexdigest(), final)))
            self._publish(side_temp, sidecar_name(final))
        except Exception as error:
            failure = _classified(error)
            with contextlib.suppress(Exception):
                self._call(self._sftp().remove(final if self._done else self._temp))
            self._session.close()
            raise failure.for_export() from None
        self._session.close()

    async def _write_whole(self, path: str, body: bytes) -> None:
        async with self._sftp().open(path, "xb") as file:
            await file.write(body)

    def abort(self) -> None:
        """Close and remove the temporary file; nothing is left. Idempotent."""
        if self._done or self._file is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._file.close())
        with contextlib.suppress(Exception):
            self._call(self._sftp().remove(self._temp))
        self._file = None
        self._session.close()


def sftp_download(
    location: SftpLocation,
    writer: BinaryIO,
    settings: RemoteSettings,
    egress: Egress,
    fraction: Callable[[float], None] = lambda _: None,
) -> int:
    """The file the URL names into `writer`, checked against its sidecar if present."""
    try:
        session = _Session(location, settings, egress)
    except Exception as error:
        raise _classified(error).for_import() from None
    try:
        return _download(session, writer, fraction)
    except ImportFailedError:
        raise
    except Exception as error:
        raise _classified(error).for_import() from None
    finally:
        session.close()


def _download(session: _Session, writer: BinaryIO, fraction: Callable[[float], None]) -> int:
    import asyncssh

    assert session.sftp is not None
    sftp = session.sftp
    expected: str | None = None
    try:
        sidecar = session.run(_read_small(sftp, sidecar_name(session.path)))
        expected = digest_in(sidecar)
        if expected is None:
            raise ImportFailedError(
                ImportFailureReason.FILE_CORRUPTED, "the .sha256 sidecar holds no SHA-256"
            )
    except asyncssh.SFTPNoSuchFile:
        expected = None
    size = session.run(sftp.stat(session.path)).size or 1
    digest = hashlib.sha256()
    copied = 0
    remote = session.run(_opened(sftp, session.path, "rb"))
    try:
        while True:
            chunk = session.run(_read(remote, CHUNK))
            if not chunk:
                break
            digest.update(chunk)
            writer.write(chunk)
            copied += len(chunk)
            fraction(min(copied / size, 1.0))
    finally:
        with contextlib.suppress(Exception):
            session.run(remote.close())
    if expected is not None and digest.hexdigest() != expected:
        raise ImportFailedError(
            ImportFailureReason.FILE_CORRUPTED, "its SHA-256 differs from its .sha256 sidecar"
        )
    return copied


async def _read_small(sftp: asyncssh.SFTPClient, path: str) -> bytes:
    async with sftp.open(path, "rb") as file:
        data: bytes = await file.read(4096)
    return data


async def _read(file: asyncssh.SFTPClientFile, size: int) -> bytes:
    data: bytes = await file.read(size)
    return data


async def _opened(sftp: asyncssh.SFTPClient, path: str, mode: str) -> asyncssh.SFTPClientFile:
    return await sftp.open(path, mode)
