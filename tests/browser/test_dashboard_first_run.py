"""What a new user meets first on the dashboard (issue 27, 1 and 10), in a real browser
against a real `bdbexport serve`: the sign-in boxes line up and the page says which user
the demo signs in with; the export-path box holds a real path; an export whose source
has not started its snapshot says it is waiting for Redis, not a bar stuck at 0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.browser import chromium
from tests.browser.test_dashboard import all_rows_decided, wait_for
from tests.support.default_serve import DefaultServe, default_serve

pytestmark = pytest.mark.slow

ADMIN = ("ops@example.com", "ops-password")
BOOTSTRAP: dict[str, Any] = {
    "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
    "bdbs": [
        {"uid": 1, "name": "orders"},
        {
            "uid": 2,
            "name": "waiting",
            "export_status": "exporting",
            "export_progress": 0,
            "action_uid": "waiting-2",
            "action_lease_expires": "2099-01-01T00:00:00Z",
        },
        {
            "uid": 3,
            "name": "moving",
            "export_status": "exporting",
            "export_progress": 40,
            "action_uid": "moving-3",
            "action_lease_expires": "2099-01-01T00:00:00Z",
        },
    ],
}
REAL_PATH = "/var/backups/redis/nightly/2026-12-07/orders-db1"
"""48 characters: the box must show all of it."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DefaultServe]:
    home = tmp_path_factory.mktemp("first-run-server")
    with default_serve(
        home, BOOTSTRAP, args=["--access-log", "off", "--audit-log", "off"]
    ) as serve:
        yield serve


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    with chromium(tmp_path) as session:
        yield session


def test_the_sign_in_boxes_line_up_and_the_demo_user_is_named(
    server: DefaultServe, browser: WebDriver
) -> None:
    browser.get(f"{server.url}/dashboard")
    wait_for(
        browser, "the sign-in form", lambda b: b.find_element(By.ID, "login-form").is_displayed()
    )
    email = browser.find_element(By.ID, "login-email").rect
    password = browser.find_element(By.ID, "login-password").rect
    assert email["x"] == password["x"]
    assert email["width"] == password["width"]
    assert password["y"] > email["y"]
    hint = browser.find_element(By.ID, "login-hint")
    assert hint.is_displayed()
    assert "admin@example.com" in hint.text
    assert "BDBEXPORT_ADMIN_PASSWORD" in hint.text


def test_the_path_box_holds_a_real_path_and_a_waiting_export_says_so(
    server: DefaultServe, browser: WebDriver
) -> None:
    browser.get(f"{server.url}/dashboard")
    wait_for(
        browser, "the sign-in form", lambda b: b.find_element(By.ID, "login-form").is_displayed()
    )
    browser.find_element(By.ID, "login-email").send_keys(ADMIN[0])
    browser.find_element(By.ID, "login-password").send_keys(ADMIN[1])
    browser.find_element(By.ID, "login-submit").click()
    wait_for(browser, "every row decided", lambda b: all_rows_decided(b, 3))

    box = browser.find_element(By.ID, "export-path")
    box.send_keys(REAL_PATH)
    fits = browser.execute_script(
        "const box = arguments[0]; return box.scrollWidth <= box.clientWidth;", box
    )
    assert fits, "the path does not fit in the box"

    waiting = browser.find_element(By.CSS_SELECTOR, "#bdb-2 td.export")
    assert "waiting for Redis to start the snapshot" in waiting.text
    assert not waiting.find_elements(By.TAG_NAME, "progress")
    moving = browser.find_element(By.CSS_SELECTOR, "#bdb-3 td.export")
    assert "waiting" not in moving.text
    assert moving.find_elements(By.TAG_NAME, "progress")
