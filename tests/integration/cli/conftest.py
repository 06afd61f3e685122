"""What the CLI tests share: a real SQLite store seeded with the demo dataset and one
user per role (known passwords)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdbexport.composition.bootstrap_file import BootstrapDocument, apply_bootstrap
from bdbexport.composition.demo_data import demo_document
from bdbexport.composition.stores import open_store
from tests.support.http import known_users


@pytest.fixture
def store(tmp_path: Path) -> str:
    """The URL of a fresh SQLite store file holding the demo bdbs and modules."""
    url = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    opened = open_store(url)
    demo, _ = demo_document()
    apply_bootstrap(
        BootstrapDocument(users=known_users(), modules=demo.modules, bdbs=demo.bdbs), opened
    )
    opened.close()
    return url
