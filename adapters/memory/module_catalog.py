"""A `ModuleCatalog` in a dict."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from bdbexport.domain.modules import CatalogModule


class InMemoryModuleCatalog:
    """Modules by name; adding a module with a known name replaces it (a new version)."""

    def __init__(self, modules: Iterable[CatalogModule] = ()) -> None:
        self._by_name: dict[str, CatalogModule] = {}
        self._lock = threading.Lock()
        for module in modules:
            self.add(module)

    def get(self, module_name: str) -> CatalogModule | None:
        return self._by_name.get(module_name)

    def list(self) -> Iterator[CatalogModule]:
        return iter(sorted(self._by_name.values(), key=lambda module: module.module_name))

    def add(self, module: CatalogModule) -> None:
        with self._lock:
            self._by_name[module.module_name] = module
