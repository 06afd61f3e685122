"""The remote location types `s3`, `abs`, `gs` and `sftp`: one sink (exports and backups)
and one source (imports) per type, written once for the family.

Every adapter here streams with bounded memory, publishes an object only once it is
complete, leaves nothing behind when it fails or is cancelled, stores a SHA-256 sidecar
beside each object it writes and checks it when importing. Their libraries and why are
in docs/exports.md. This package imports no other adapter: the egress policy and the
settings come in from the composition root (`settings.py`).
"""
