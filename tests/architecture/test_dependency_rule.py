"""The hexagon's dependency rule, checked on the source rather than trusted.

The rule itself is configuration: the import-linter contracts in pyproject.toml (layers
entrypoints > composition > adapters > domain, independent adapter packages, no cycles,
a pure domain, two bounded contexts), run by `lint-imports` (tox env `imports`) and by
the first test here. The other tests check what a contract cannot say: the domain's
*allow*-list, the packaging, the bare folder names, an import with frameworks missing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOMAIN_ALLOWED = {"pydantic", "transitions"}
FRAMEWORKS = ["starlette", "uvicorn", "typer", "click", "rich", "redis", "httpx", "sqlite3"]


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    package = ".".join(("bdbexport", *path.relative_to(ROOT).parent.parts))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield node.lineno, f"{base}.{node.module}" if node.module else base
            else:
                yield node.lineno, node.module or ""


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_import_contracts_hold() -> None:
    """pyproject.toml's contracts: dependencies point inward, adapter packages are
    independent, no cycle anywhere, the domain pure, its contexts apart."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", python_files("domain"), ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_imports_only_the_stdlib_pydantic_and_transitions(path: Path) -> None:
    for line, module in imported_modules(path):
        top = module.split(".")[0]
        allowed = (
            (top in sys.stdlib_module_names and top not in {"sqlite3"})
            or top in DOMAIN_ALLOWED
            or module.startswith("bdbexport.domain")
        )
        assert allowed, f"{path.name}:{line} imports {module}"


FOLDERS = ("domain", "adapters", "composition", "entrypoints")


def test_adapters_holds_only_adapter_packages() -> None:
    """No wiring module hides at the top of adapters/: each file there belongs to one
    adapter package (the composition root lives in composition/)."""
    loose = [p.name for p in (ROOT / "adapters").glob("*.py") if p.name != "__init__.py"]
    assert loose == []


@pytest.mark.parametrize(
    "path",
    [path for folder in (*FOLDERS, "tests") for path in python_files(folder)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_nothing_imports_the_bare_folder_names(path: Path) -> None:
    for line, module in imported_modules(path):
        assert module.split(".")[0] not in FOLDERS, f"{path}:{line}"


def test_every_package_folder_is_mapped_by_the_build_backend() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(("bdbexport", *init.parent.relative_to(ROOT).parts))
        for folder in FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert declared == on_disk
    assert set(config["tool"]["setuptools"]["package-dir"]) == {
        f"bdbexport.{folder}" for folder in FOLDERS
    }


BLOCKER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))
class Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Uninstalled())
import bdbexport.domain
from bdbexport.composition import build_service
from bdbexport.domain import Action, Principal
service = build_service()
assert service.evaluate(Principal("a", "admin"), Action.RESET, 1).error.code == "db_not_exist"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print("loaded:", loaded)
"""


def test_the_domain_imports_without_any_framework_installed() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, ",".join(FRAMEWORKS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded: []"


def test_the_public_api_names_only_what_exists() -> None:
    from bdbexport import domain

    missing = [name for name in domain.__all__ if not hasattr(domain, name)]
    assert missing == []
    assert sorted(domain.__all__) == sorted(set(domain.__all__))


CONTEXTS = ("auth-knows-no-lifecycle", "lifecycle-knows-no-auth", "kernel-knows-no-context")


def test_every_domain_module_belongs_to_one_context_or_the_kernel() -> None:
    """The contexts' contracts list modules by name: a new domain module must join one
    list (authentication, the lifecycle or the shared kernel), or no contract sees it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}
    auth, lifecycle, kernel = (contracts[name]["source_modules"] for name in CONTEXTS)
    assert auth == ["bdbexport.domain.auth"]
    listed = [*lifecycle, *kernel]
    assert len(listed) == len(set(listed))
    on_disk = {
        f"bdbexport.domain.{path.stem}"
        for path in (ROOT / "domain").glob("*.py")
        if path.name != "__init__.py"
    }
    assert set(listed) == on_disk
    assert {path.parent.name for path in (ROOT / "domain").glob("*/__init__.py")} == {"auth"}
