"""docs/operations.md: its ```sh blocks run as a reader would (`bdbexport serve` as the
README starts it, a real Redis, one real export, health and metrics over curl), every
metric the server exposes is in its table, and the Prometheus examples are valid YAML
naming only metrics that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (schemathesis brings it) ships no types

from bdbexport.adapters.http.metrics import ServerMetrics
from tests.docs.test_readme_walkthrough import stop_redis
from tests.support.doc_session import require_tools, run_session, wait_closed
from tests.support.server_process import free_port

PAGE = Path(__file__).parents[2] / "docs" / "operations.md"
SH = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)
YAML = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)
TEXT_AFTER_SH = re.compile(r"^```sh\n.*?^```\n\n```text\n(.*?)^```", re.DOTALL | re.MULTILINE)
METRIC_NAME = re.compile(r"\bbdbexport_[a-z_]+")


def exposed_names() -> set[str]:
    """Every sample name a fresh server's /metrics shows (counters as `_total`)."""
    names = set()
    for family in ServerMetrics().registry.collect():
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                names.add(sample.name)
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


def test_every_metric_is_in_the_table() -> None:
    text = PAGE.read_text(encoding="utf-8")
    families = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in ServerMetrics().registry.collect()
    }
    for name in families:
        assert f"| `{name}` |" in text, name


def test_the_prometheus_examples_are_yaml_naming_real_metrics() -> None:
    text = PAGE.read_text(encoding="utf-8")
    documents: list[Any] = [yaml.safe_load(block) for block in YAML.findall(text)]
    rules = next(doc for doc in documents if isinstance(doc, dict) and "groups" in doc)
    alerts = {rule["alert"]: rule["expr"] for rule in rules["groups"][0]["rules"]}
    assert {"BdbexportExportsFailing", "BdbexportLeaseExpiries", "BdbexportLockouts"} <= set(alerts)
    scrape = next(doc for doc in documents if isinstance(doc, dict) and "scrape_configs" in doc)
    assert scrape["scrape_configs"][0]["basic_auth"]["username"]
    known = exposed_names()
    for expr in [*alerts.values(), *re.findall(r"^(?:sum|histogram_quantile).*$", text, re.M)]:
        for name in METRIC_NAME.findall(expr):
            assert name in known, f"{name} in {expr!r}"


@pytest.mark.slow
def test_the_walkthrough_shows_health_and_an_exports_metrics(tmp_path: Path) -> None:
    require_tools("curl", "redis-server", "redis-cli")
    text = PAGE.read_text(encoding="utf-8")
    script = "".join(SH.findall(text))
    assert "$API_PORT" in script
    assert "$REDIS_PORT" in script
    assert "--exporter" not in script  # the real exporter, as the README starts the server
    assert "--export-root" not in script  # and its default export root
    port, redis_port = free_port(), free_port()

    def finished_and_stopped_its_servers(code: int, output: str) -> None:
        assert code == 0, output
        assert wait_closed(port), f"the server still answers\n{output}"
        assert wait_closed(redis_port), f"redis still answers\n{output}"

    _, output = run_session(
        script,
        tmp_path=tmp_path,
        drop=("BDBEXPORT_", "XDG_", "API_", "REDIS_"),
        variables={"API_PORT": str(port), "REDIS_PORT": str(redis_port)},
        check=finished_and_stopped_its_servers,
        cleanup=lambda: stop_redis(redis_port),
    )
    expected = TEXT_AFTER_SH.findall(text)
    assert len(expected) == 2
    for block in expected:
        for line in block.splitlines():
            assert line in output, f"{line!r} not in\n{output}"
