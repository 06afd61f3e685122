"""The dashboard in a real browser (headless Chromium) against `bdbexport serve` as the
README starts it (the real exporter, the default export root) with real `redis-server`s
as the databases: sign in, leave the page idle without a refusal, start an export once
a directory in the export root is typed, watch it run and find its file, cancel a
running one, reset a failed one, and see that a viewer's buttons are disabled because
the rules engine says so."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.browser import chromium, screenshot
from tests.support.default_serve import DefaultServe, default_serve, filled_redis
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.slow

ADMIN = ("ops@example.com", "ops-password")
VIEWER = ("viewer@example.com", "viewer-password")
KEYS = 2000
QUICK_DELAY_US = 4000
"""2000 keys at 4 ms each: a snapshot of about 8 s, long enough to see its progress move."""
SLOW_DELAY_US = 30000
"""About a minute: still running when the test cancels it."""
EXPORT_SECONDS = 60
WAIT = 20.0
IDLE_POLLS = 35
"""Seconds of polling: past the page's 30 s re-ask of the decisions that were yeses."""
DOCS_SCREENSHOT_ENV = "BDBEXPORT_DOCS_SCREENSHOT"
"""When set to a path, the admin's view with a running export is also saved there
(how docs/dashboard.png is made: see docs/operations.md)."""

BOOTSTRAP: dict[str, Any] = {
    "users": [
        {"email": ADMIN[0], "password": ADMIN[1], "role": "admin"},
        {"email": VIEWER[0], "password": VIEWER[1], "role": "db_viewer"},
    ],
    "modules": [
        {"module_name": "search", "semantic_version": "2.8.4", "capabilities": ["backup_restore"]},
        {"module_name": "graph", "semantic_version": "2.10.12", "capabilities": ["types"]},
    ],
    "bdbs": [
        {"uid": 1, "name": "orders", "module_list": [{"module_name": "search"}]},
        {
            "uid": 2,
            "name": "sessions",
            "export_status": "failed",
            "export_failure_reason": "wrong-file-path",
            "export_failure_detail": "directory /mnt/gone does not exist",
            "export_progress": 42,
        },
        {"uid": 3, "name": "social", "module_list": [{"module_name": "graph"}]},
        {"uid": 4, "name": "cache", "action_uid": "resharding-4"},
        {"uid": 5, "name": "events"},
    ],
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, RedisServer]]:
    """The data of database 1 (a snapshot of seconds) and of database 5 (a minute)."""
    folder = tmp_path_factory.mktemp("dashboard-redis")
    quick = filled_redis(folder / "quick", keys=KEYS, key_save_delay_us=QUICK_DELAY_US)
    slow = filled_redis(folder / "slow", keys=KEYS, key_save_delay_us=SLOW_DELAY_US)
    try:
        yield {1: quick, 5: slow}
    finally:
        quick.stop()
        slow.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, sources: dict[int, RedisServer]
) -> Iterator[DefaultServe]:
    home = tmp_path_factory.mktemp("dashboard-server")
    with default_serve(
        home, BOOTSTRAP, args=["--access-log", "off", "--audit-log", "off"]
    ) as serve:
        for uid, source in sources.items():
            serve.point(uid, source)
        yield serve


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    with chromium(tmp_path) as session:
        yield session


def wait_for(browser: WebDriver, what: str, condition: Any, timeout: float = WAIT) -> Any:
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition, message=what)


def sign_in(browser: WebDriver, server: DefaultServe, who: tuple[str, str]) -> None:
    browser.get(f"{server.url}/dashboard")
    wait_for(
        browser, "the sign-in form", lambda b: b.find_element(By.ID, "login-form").is_displayed()
    )
    browser.find_element(By.ID, "login-email").send_keys(who[0])
    browser.find_element(By.ID, "login-password").send_keys(who[1])
    browser.find_element(By.ID, "login-submit").click()
    wait_for(browser, "every row decided", lambda b: all_rows_decided(b, len(BOOTSTRAP["bdbs"])))


def all_rows_decided(browser: WebDriver, count: int) -> bool:
    rows = browser.find_elements(By.CSS_SELECTOR, "#bdbs tbody tr")
    return len(rows) == count and all(row.get_attribute("data-decided") for row in rows)


def answered(server: DefaultServe, status: str, route: str = "") -> float:
    """How many requests the server has answered with a status matching `status` (a
    regular expression), on routes containing `route`, so far (its /metrics)."""
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    sample = re.compile(r"^bdbexport_http_requests_total\{(.*)\} (\S+)$", re.M)
    return sum(
        float(value)
        for labels, value in sample.findall(text)
        if re.search(f'status="{status}"', labels) and route in labels
    )


def polls(browser: WebDriver) -> int:
    return int(browser.execute_script("return document.body.dataset.polls || '0'"))


def type_path(browser: WebDriver, path: str) -> None:
    """Type a directory at the top and wait until every row has been decided for it."""
    box = browser.find_element(By.ID, "export-path")
    box.clear()
    box.send_keys(path)
    wait_for(
        browser,
        f"every row decided for {path!r}",
        lambda b: all(
            row.get_attribute("data-decided-path") == path
            for row in b.find_elements(By.CSS_SELECTOR, "#bdbs tbody tr")
        ),
    )


def start_button(browser: WebDriver, uid: int) -> tuple[bool, str]:
    button = browser.find_element(By.ID, f"start-{uid}")
    return button.is_enabled(), button.get_attribute("title") or ""


def export_cell(browser: WebDriver, uid: int) -> dict[str, str | None]:
    cell = browser.find_element(By.CSS_SELECTOR, f"#bdb-{uid} td.export")
    return {
        "status": cell.get_attribute("data-status"),
        "progress": cell.get_attribute("data-progress"),
    }


def test_a_page_left_idle_asks_nothing_the_server_refuses(
    server: DefaultServe, browser: WebDriver
) -> None:
    """Signed in as admin on databases some of whose actions the rules refuse (a busy
    one, a module without backup_restore), the page polls for over 30 s: the server
    answers no 4xx, and the decisions that were yeses are asked again (and still 200)."""
    sign_in(browser, server, ADMIN)
    refused = answered(server, r"4\d\d")
    asked = answered(server, "200", "/actions/export")
    first_poll = polls(browser)
    wait_for(
        browser,
        f"{IDLE_POLLS} idle polls",
        lambda b: polls(b) >= first_poll + IDLE_POLLS,
        timeout=IDLE_POLLS * 3,
    )
    assert answered(server, r"4\d\d") == refused
    assert answered(server, "200", "/actions/export") > asked
    assert start_button(browser, 1) == (False, "Type the directory to export to first.")


def test_an_admin_signs_in_and_watches_an_export_progress(
    server: DefaultServe, browser: WebDriver, tmp_path: Path
) -> None:
    browser.get(f"{server.url}/dashboard")
    wait_for(
        browser, "the sign-in form", lambda b: b.find_element(By.ID, "login-form").is_displayed()
    )
    screenshot(browser, tmp_path / "1-sign-in.png")
    assert ADMIN[1] not in browser.page_source

    sign_in(browser, server, ADMIN)
    assert "ops@example.com (admin)" in browser.find_element(By.ID, "principal").text
    token = browser.execute_script("return sessionStorage.getItem('bdbexport.token')")
    assert token
    assert token not in browser.current_url
    failures = browser.find_element(By.ID, "failures").text
    assert "sessions (uid 2) export failed: wrong-file-path" in failures
    assert "directory /mnt/gone does not exist" in failures

    # No directory typed yet: Start waits for one (the rules would allow it).
    assert start_button(browser, 1) == (False, "Type the directory to export to first.")

    # A directory outside the export root: refused with the server's own reason.
    type_path(browser, str(tmp_path))
    enabled, title = start_button(browser, 1)
    assert not enabled
    assert title.startswith("The path is not inside an export root of this server")
    # The default export root: allowed.
    type_path(browser, str(server.export_root))
    assert start_button(browser, 1) == (True, "")
    browser.find_element(By.ID, "start-1").click()
    wait_for(browser, "exporting", lambda b: export_cell(b, 1)["status"] == "exporting")
    first = int(export_cell(browser, 1)["progress"] or 0)
    wait_for(
        browser,
        "progress to move",
        lambda b: int(export_cell(b, 1)["progress"] or 0) > first,
        timeout=EXPORT_SECONDS,
    )
    bar = browser.find_element(By.CSS_SELECTOR, "#bdb-1 progress.export-progress")
    assert int(bar.get_attribute("value") or 0) > first
    # While it runs, neither a reset nor a second start is allowed: the rules engine says so.
    wait_for(
        browser,
        "start disabled while exporting",
        lambda b: not b.find_element(By.ID, "start-1").is_enabled(),
    )
    assert not browser.find_element(By.ID, "reset-1").is_enabled()
    # The screenshot shows a relative directory (under the server's first export root)
    # rather than this test's temporary path.
    (server.export_root / "nightly").mkdir(exist_ok=True)
    type_path(browser, "nightly")
    shot = screenshot(browser, tmp_path / "2-export-running.png")
    target = os.environ.get(DOCS_SCREENSHOT_ENV)
    if target:
        shutil.copyfile(shot, target)
    wait_for(
        browser,
        "the export to finish",
        lambda b: export_cell(b, 1)["status"] == "succeeded",
        timeout=EXPORT_SECONDS,
    )
    files = list(server.export_root.glob("orders-*-db1-*.rdb"))
    assert len(files) == 1, files
    assert files[0].read_bytes()[:5] == b"REDIS"


def test_an_admin_resets_a_failed_export(
    server: DefaultServe, browser: WebDriver, tmp_path: Path
) -> None:
    sign_in(browser, server, ADMIN)
    assert export_cell(browser, 2)["status"] == "failed"
    reset = browser.find_element(By.ID, "reset-2")
    assert reset.is_enabled()
    screenshot(browser, tmp_path / "3-before-reset.png")
    reset.click()
    wait_for(browser, "idle after reset", lambda b: export_cell(b, 2)["status"] == "idle")
    assert "Export status reset: sessions (uid 2)." in browser.find_element(By.ID, "message").text
    assert "sessions (uid 2)" not in browser.find_element(By.ID, "failures").text
    screenshot(browser, tmp_path / "4-after-reset.png")
    answer = httpx.get(f"{server.url}/v1/bdbs/2", auth=ADMIN, timeout=5).json()
    assert answer["export_status"] == "idle"


def test_an_admin_cancels_a_running_export(
    server: DefaultServe, browser: WebDriver, tmp_path: Path
) -> None:
    started = httpx.post(
        f"{server.url}/v1/bdbs/5/actions/export",
        json={"export_location": {"type": "mount_point", "path": str(server.export_root)}},
        auth=ADMIN,
        timeout=5,
    )
    assert started.status_code == 200, started.text
    sign_in(browser, server, ADMIN)
    cancel = browser.find_element(By.ID, "cancel-5")
    wait_for(browser, "cancel enabled", lambda b: cancel.is_enabled())
    assert not browser.find_element(By.ID, "reset-5").is_enabled()
    cancel.click()
    wait_for(browser, "failed after cancel", lambda b: export_cell(b, 5)["status"] == "failed")
    assert "cancelled by ops@example.com" in browser.find_element(By.ID, "failures").text
    screenshot(browser, tmp_path / "5-cancelled.png")


def test_a_viewers_buttons_are_disabled_with_the_rules_engines_reason(
    server: DefaultServe, browser: WebDriver, tmp_path: Path
) -> None:
    sign_in(browser, server, VIEWER)
    assert "viewer@example.com (db_viewer)" in browser.find_element(By.ID, "principal").text
    buttons = browser.find_elements(By.CSS_SELECTOR, "#bdbs button")
    assert len(buttons) == 3 * len(BOOTSTRAP["bdbs"])
    assert not any(button.is_enabled() for button in buttons)
    reset_title = browser.find_element(By.ID, "reset-1").get_attribute("title") or ""
    assert "db_viewer" in reset_title
    assert "reset_bdb_current_export_status" in reset_title
    screenshot(browser, tmp_path / "6-viewer.png")


def test_a_wrong_password_is_refused_on_the_form(
    server: DefaultServe, browser: WebDriver, tmp_path: Path
) -> None:
    browser.get(f"{server.url}/dashboard")
    wait_for(
        browser, "the sign-in form", lambda b: b.find_element(By.ID, "login-form").is_displayed()
    )
    browser.find_element(By.ID, "login-email").send_keys(VIEWER[0])
    browser.find_element(By.ID, "login-password").send_keys("not the password")
    browser.find_element(By.ID, "login-submit").click()
    message = browser.find_element(By.ID, "message")
    wait_for(browser, "the refusal", lambda b: "error" in (message.get_attribute("class") or ""))
    assert "Signing in" not in message.text
    assert "session has ended" not in message.text
    assert browser.find_element(By.ID, "login-form").is_displayed()
    assert browser.find_element(By.ID, "login-password").get_attribute("value") == ""
    assert browser.execute_script("return sessionStorage.getItem('bdbexport.token')") is None
    screenshot(browser, tmp_path / "8-refused.png")


def test_signing_out_forgets_the_token(
    server: DefaultServe, browser: WebDriver, tmp_path: Path
) -> None:
    sign_in(browser, server, VIEWER)
    browser.find_element(By.ID, "sign-out").click()
    wait_for(
        browser,
        "the sign-in form again",
        lambda b: b.find_element(By.ID, "login-form").is_displayed(),
    )
    assert browser.execute_script("return sessionStorage.getItem('bdbexport.token')") is None
    assert browser.find_elements(By.CSS_SELECTOR, "#bdbs tbody tr") == []
    screenshot(browser, tmp_path / "7-signed-out.png")
