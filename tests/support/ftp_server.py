"""A real FTP server (pyftpdlib) on a free loopback port, serving one directory."""

from __future__ import annotations

import threading
from pathlib import Path

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from tests.support.server_process import free_port


class FtpServer:
    """Users: `reader` may list and download; `lister` may only list (no RETR)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        authorizer = DummyAuthorizer()
        authorizer.add_user("reader", "reader-password", str(root), perm="elr")
        authorizer.add_user("lister", "lister-password", str(root), perm="el")
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
        self.port = free_port()
        self._server = ThreadedFTPServer(("127.0.0.1", self.port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"timeout": 0.1}, daemon=True
        )

    def url(self, user: str, password: str, path: str) -> str:
        return f"ftp://{user}:{password}@127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> FtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close_all()
        self._thread.join(5)
