"""The hint after a failed action speaks of that action: an import's no-permission is
about reading its source, not an exporter writing."""

from __future__ import annotations

from bdbexport.adapters.cli.failures import failure_hint, failure_line


def test_a_refused_import_source_gets_an_importers_hint() -> None:
    hint = failure_hint("import", 3, "no-permission", "The path is not inside an export root")
    assert hint is not None
    assert "importer may not read the source" in hint
    assert "exporter" not in hint
    assert "--export-root DIR" in hint


def test_an_export_keeps_its_writers_hint() -> None:
    assert failure_hint("export", 1, "no-permission", None) == (
        "the exporter may not write to the export location: check its permissions"
    )
    assert failure_hint("backup", 1, "no-permission", None) == (
        "the exporter may not write to the backup location: check its permissions"
    )


def test_a_stopped_import_names_the_importer() -> None:
    bdb = {
        "uid": 2,
        "import_status": "failed",
        "import_failure_reason": "general-error",
        "import_failure_detail": "server shutdown",
    }
    line = failure_line(bdb, "import")
    assert line is not None
    assert "the importer was stopped during the import" in line


def test_a_file_larger_than_the_memory_limit_gets_both_numbers_in_the_hint() -> None:
    bdb = {
        "uid": 2,
        "import_status": "failed",
        "import_failure_reason": "file-larger-than-mem-limit:3145728:1048576",
        "import_failure_detail": "the file has at least 3145728 bytes",
    }
    line = failure_line(bdb, "import")
    assert line is not None
    assert line.startswith(
        "import of database 2 failed: file-larger-than-mem-limit:3145728:1048576: the file"
    )
    assert "the file (3145728 bytes) is larger than the database's memory limit" in line
    assert "(1048576 bytes)" in line
