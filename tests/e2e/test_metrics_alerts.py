"""Metrics as Prometheus users expect (issue 27, 7), against a real `bdbexport serve`:
the failure series known in advance exist at 0 from the start, the content type says the
text format actually served, and the alert rules of docs/operations.md, evaluated by
`promtool` (Debian's `prometheus` package) over two real scrapes — one before the first
failure, one after — fire on that first failure."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_operations import sample, serve
from tests.e2e.test_serve import ADMIN, MOUNT

pytestmark = pytest.mark.slow

OPERATIONS = Path(__file__).parents[2] / "docs" / "operations.md"
SCRAPE_EVERY = "1m"
REPEATS = 10
"""The second scrape's values are held for this many more intervals: past `for: 5m`."""


def alert_rules() -> str:
    """The docs' alert rules, exactly as published (the yaml block with `groups:`)."""
    blocks: list[str] = re.findall(r"```yaml\n(.*?)```", OPERATIONS.read_text(), re.DOTALL)
    (rules,) = [block for block in blocks if block.startswith("groups:")]
    return rules


def series_of(text: str) -> dict[str, float]:
    """Every sample of a scrape, by its series in PromQL spelling."""
    found = {}
    for family in text_string_to_metric_families(text):
        for one in family.samples:
            labels = ",".join(f'{name}="{value}"' for name, value in sorted(one.labels.items()))
            found[f"{one.name}{{{labels}}}"] = float(one.value)
    return found


def input_series(before: dict[str, float], after: dict[str, float]) -> list[dict[str, str]]:
    """The two scrapes as promtool input: a series absent from the first scrape is `_`
    (no sample) there, as Prometheus would have stored it."""
    wanted = re.compile(r"bdbexport_(actions_failed|store_errors|lease_expiries)_total")
    series = []
    for name in sorted(set(before) | set(after)):
        if not wanted.match(name) or name not in after:
            continue
        first = "_" if name not in before else f"{before[name]:g}"
        series.append({"series": name, "values": f"{first} {after[name]:g}x{REPEATS}"})
    return series


def failed_scrape(server: Any, client: httpx.Client) -> str:
    started = client.post("/v1/bdbs/1/actions/export", json=MOUNT)
    assert started.status_code == 200, started.text
    deadline = time.monotonic() + 60
    while client.get("/v1/bdbs/1").json()["export_status"] != "failed":
        assert time.monotonic() < deadline, "the export never failed"
        time.sleep(0.1)
    return client.get("/metrics").text


def test_the_docs_alerts_fire_on_the_first_failure(tmp_path: Path) -> None:
    with (
        serve(tmp_path, "--simulated-outcome", "general-error").start() as server,
        httpx.Client(base_url=server.url, auth=ADMIN, timeout=10) as client,
    ):
        first = client.get("/metrics")
        assert first.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        before = first.text
        # Known in advance, so present at 0 before anything happened.
        for kind in ("export", "import", "backup"):
            for reason in ("general-error", "no-permission", "wrong-file-path"):
                failed = sample(before, "bdbexport_actions_failed_total", kind=kind, reason=reason)
                assert failed == 0
        assert (
            sample(before, "bdbexport_actions_failed_total", kind="import", reason="download-error")
            == 0
        )
        store_zeros = [
            s for s in series_of(before) if s.startswith("bdbexport_store_errors_total{")
        ]
        assert any('error="store_unavailable"' in s for s in store_zeros), store_zeros
        after = failed_scrape(server, client)
    assert (
        sample(after, "bdbexport_actions_failed_total", kind="export", reason="general-error") == 1
    )

    (tmp_path / "rules.yml").write_text(alert_rules())
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": SCRAPE_EVERY,
        "tests": [
            {
                "interval": SCRAPE_EVERY,
                "input_series": input_series(series_of(before), series_of(after)),
                "alert_rule_test": [
                    {
                        "eval_time": "7m",  # pending from the second scrape, then `for: 5m`
                        "alertname": "BdbexportExportsFailing",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "kind": "export",
                                    "reason": "general-error",
                                },
                                "exp_annotations": {
                                    "summary": "exports failing with general-error",
                                    "description": "Read the failure detail on the dashboard"
                                    " or with `bdbexport export status`.",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(json.dumps(tests, indent=1))  # JSON is YAML
    checked = subprocess.run(
        ["promtool", "test", "rules", "tests.yml"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
