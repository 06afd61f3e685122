"""The SHA-256 sidecar stored beside every object we write: `<object>.sha256`, holding
`<hex digest>  <object's base name>\n` as `sha256sum` writes it, so a user can check a
downloaded export with `sha256sum -c`.

A sidecar rather than object metadata: the digest is known only after the last byte,
when a multipart upload's metadata is already fixed, and the same file works for every
location type. Objects written by others (Redis Software's own backups) have none; their
RDB's own CRC64, which Redis's loader checks, is then the only check.
"""

from __future__ import annotations

import re

SUFFIX = ".sha256"
_LINE = re.compile(r"^(?P<digest>[0-9a-f]{64}) [ *](?P<name>[^\r\n]+)\r?\n?$")


def sidecar_name(object_name: str) -> str:
    return object_name + SUFFIX


def sidecar_body(digest: str, object_name: str) -> bytes:
    return f"{digest}  {object_name.rpartition('/')[2]}\n".encode()


def digest_in(body: bytes) -> str | None:
    """The digest a sidecar holds, or `None` if it is not one we can read."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    match = _LINE.match(text)
    return None if match is None else match.group("digest")
