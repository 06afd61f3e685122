"""Only public APIs of other packages (the developers' guide; issue 24), checked on the
source of the product (domain, adapters, composition, entrypoints).

The import-linter contract `public-apis-only` (pyproject.toml) forbids uvicorn and the
HTTP parsers as whole packages; it cannot name a package's private module or an
underscore name. This test does, on the syntax tree of every product module:

- no import of another package's private module (`x._y`) or underscore name
  (`from x import _y`), and no `alias._name` on a module imported from another package;
- no class of ours subclassing a server's classes (their hooks are not an API);
- no assignment to an attribute of another package's module (monkeypatching);
- and, as text, none of the markers of the edge that lived inside uvicorn.

A helper check runs the detector on snippets of what it must catch, so a green run
never means a detector that sees nothing.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PRODUCT = ("domain", "adapters", "composition", "entrypoints")
OURS = "bdbexport"
SERVERS = {"uvicorn", "granian", "hypercorn", "daphne"}
MARKERS = (
    "uvicorn.protocols",
    "_unset_keepalive",
    "next_event =",
    "floatToGoString",
    # Another package's log, filtered by its text: its wording is not an API.
    'getLogger("uvicorn',
    'getLogger("granian',
)


def product_files() -> list[Path]:
    return sorted(path for folder in PRODUCT for path in (ROOT / folder).rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _foreign(module: str) -> bool:
    """Another package's: not ours, and not the standard library (whose few underscore
    names, such as `os._exit`, are documented API)."""
    top = module.split(".", maxsplit=1)[0]
    return bool(top) and top != OURS and top not in sys.stdlib_module_names


def _imports(tree: ast.AST, aliases: dict[str, str]) -> Iterator[str]:
    """Private modules and names imported; fills `aliases` (local name -> foreign origin)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _foreign(alias.name):
                    if any(_private(part) for part in alias.name.split(".")):
                        yield f"line {node.lineno}: import {alias.name}"
                    aliases[alias.asname or alias.name.split(".", maxsplit=1)[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not _foreign(node.module):
                continue
            if any(_private(part) for part in node.module.split(".")):
                yield f"line {node.lineno}: from {node.module} import ..."
            for alias in node.names:
                if _private(alias.name):
                    yield f"line {node.lineno}: from {node.module} import {alias.name}"
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def _uses(tree: ast.AST, aliases: dict[str, str]) -> Iterator[str]:
    """Underscore attributes of foreign modules, servers' classes subclassed, monkeypatches."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module is not None and _private(node.attr):
                yield f"line {node.lineno}: {node.value.id}.{node.attr} ({module})"
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                root = _root(base)
                origin = aliases.get(root.id, "") if isinstance(root, ast.Name) else ""
                if origin.split(".", maxsplit=1)[0] in SERVERS:
                    yield f"line {node.lineno}: class {node.name} subclasses {origin}"
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                root = _root(target)
                if root is not target and isinstance(root, ast.Name) and root.id in aliases:
                    yield f"line {node.lineno}: assigns to {ast.unparse(target)} (monkeypatch)"


def violations(source: str) -> Iterator[str]:
    """What in `source` uses another package's private surface, one line each."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    yield from _imports(tree, aliases)
    yield from _uses(tree, aliases)
    for number, line in enumerate(source.splitlines(), start=1):
        for marker in MARKERS:
            if marker in line:
                yield f"line {number}: {marker!r}"


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_product_code_uses_only_public_apis_of_other_packages(path: Path) -> None:
    found = list(violations(path.read_text(encoding="utf-8")))
    assert not found, f"{path.relative_to(ROOT)}: " + "; ".join(found)


CAUGHT = {
    "a private module": "from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol",
    "a private module, imported whole": "import granian._granian",
    "an underscore name": "from starlette.routing import _wrap",
    "an underscore attribute of a module": "import uvicorn\nuvicorn._x",
    "a server's class subclassed": "import uvicorn\nclass S(uvicorn.Server): pass",
    "a server's class subclassed by name": "from granian.server.embed import Server\n"
    "class S(Server): pass",
    "monkeypatching": "import h11\nh11.Connection.next_event = None",
    "a marker": "from prometheus_client.utils import floatToGoString",
    "another package's log filtered": 'import logging\nlogging.getLogger("uvicorn.error")',
}


@pytest.mark.parametrize("source", CAUGHT.values(), ids=CAUGHT.keys())
def test_the_detector_catches_what_it_is_for(source: str) -> None:
    assert list(violations(source))


def test_our_own_and_the_stdlibs_documented_names_and_public_hooks_are_fine() -> None:
    source = (
        "import os\n"
        "os._exit(1)\n"
        "from bdbexport.adapters.http.errors import _x\n"
        "from starlette.responses import StreamingResponse\n"
        "class R(StreamingResponse):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__(iter(()))\n"
        "        self.init_headers(None)\n"
    )
    assert list(violations(source)) == []


def test_the_product_has_files_to_check() -> None:
    assert len(product_files()) > 100
    assert sys.version_info >= (3, 11)
