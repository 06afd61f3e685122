"""A failure's hint names what the member works on (issue 27, 4): an import's missing
file is not "the export location"."""

from __future__ import annotations

from bdbexport.adapters.cli.failures import failure_hint


def test_each_member_names_its_own_location() -> None:
    imported = failure_hint("import", 2, "wrong-file-path", "file out/x.rdb does not exist")
    assert imported == "the file to import does not exist: check the path or URL"
    backed_up = failure_hint("backup", 2, "wrong-file-path", "directory /mnt/x does not exist")
    assert backed_up == "the backup location does not exist: check the path or URL"
    exported = failure_hint("export", 2, "wrong-file-path", "directory /mnt/x does not exist")
    assert exported == "the export location does not exist: check the path or URL"
    refused = failure_hint("backup", 2, "no-permission", "permission denied")
    assert refused == "the exporter may not write to the backup location: check its permissions"
