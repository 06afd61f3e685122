"""Every ```python block in README.md and docs/ runs, in order, one namespace per page.

A page is a tutorial: later blocks may use names defined by earlier ones. Blocks that
are not meant to run use another language tag (```console, ```text).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def pages_with_examples() -> list[Path]:
    return [page for page in PAGES if PYTHON_BLOCK.search(page.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("page", pages_with_examples(), ids=lambda p: p.name)
def test_python_examples_run(page: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    text = page.read_text(encoding="utf-8")
    for number, match in enumerate(PYTHON_BLOCK.finditer(text), start=1):
        line = text[: match.start()].count("\n") + 1
        code = compile(match.group(1), f"{page.name}:block{number}@line{line}", "exec")
        exec(code, namespace)


def test_the_pages_that_must_have_examples_have_them() -> None:
    with_examples = {page.name for page in pages_with_examples()}
    assert {"README.md", "domain.md", "embedding.md"} <= with_examples
