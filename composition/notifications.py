"""The notifier `serve` hands to `bootstrap`: SMTP when an SMTP URL is configured, none
otherwise (a start that asks for `email_notification` then gets the audit line
`NotificationNotSent`, saying so). Part of the composition root: the entry point only
passes its flags."""

from __future__ import annotations

from collections.abc import Sequence

from bdbexport.adapters.notify import SmtpNotifier
from bdbexport.domain.ports import Notifier


def smtp_notifier(
    smtp_url: str | None, *, sender: str, recipients: Sequence[str]
) -> Notifier | None:
    """The SMTP notifier `smtp_url` names (None: no notifier); `ValueError` for a URL or
    recipient list it cannot use."""
    if smtp_url is None:
        return None
    return SmtpNotifier(smtp_url, sender=sender, recipients=list(recipients))
