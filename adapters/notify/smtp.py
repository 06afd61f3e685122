"""E-mail through an SMTP server (stdlib `smtplib`).

`smtp://[user:password@]host:port` (plain, or STARTTLS when the server offers it and
`?starttls=1`), `smtps://...` (implicit TLS). One connection per message: exports end
rarely, and a connection held open would only go stale.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qsl, unquote, urlsplit


class SmtpNotifier:
    def __init__(
        self, url: str, *, sender: str, recipients: list[str], timeout: float = 10.0
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError(f"SMTP URL {url!r} must be smtp://host:port or smtps://host:port")
        if not recipients:
            raise ValueError("an SMTP notifier needs at least one recipient")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._starttls = dict(parse_qsl(parts.query)).get("starttls") == "1"
        self._sender = sender
        self.recipients = list(recipients)
        self._timeout = timeout

    def notify(self, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(self.recipients)
        message["Subject"] = subject
        message.set_content(body)
        context = ssl.create_default_context()
        try:
            if self._scheme == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=self._timeout, context=context
                )
            else:
                client = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            with client:
                if self._starttls:
                    client.starttls(context=context)
                if self._user is not None:
                    client.login(self._user, self._password or "")
                client.send_message(message)
        except smtplib.SMTPException as error:
            raise OSError(f"SMTP {self._host}:{self._port} refused the message: {error}") from error
