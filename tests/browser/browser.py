"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium.

The system browser and driver are used as installed (`.ci/run` installs them):
nothing is downloaded, and a missing browser fails the tests rather than skipping them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
MIN_SCREENSHOT_BYTES = 8_000
"""A blank 1280x900 page is about 4 KB as PNG; the sign-in form is over 10 KB, a table more."""


def system_browser() -> tuple[str, str]:
    browser = shutil.which("chromium") or CHROMIUM
    driver = shutil.which("chromedriver") or CHROMEDRIVER
    assert Path(browser).exists(), "Debian's chromium is not installed (see .ci/run)"
    assert Path(driver).exists(), "Debian's chromium-driver is not installed (see .ci/run)"
    return browser, driver


@contextmanager
def chromium(log_dir: Path) -> Iterator[webdriver.Chrome]:
    browser, driver = system_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    service = Service(executable_path=driver, log_output=str(log_dir / "chromedriver.log"))
    session = webdriver.Chrome(options=options, service=service)
    try:
        session.set_page_load_timeout(30)
        session.set_script_timeout(30)
        yield session
    finally:
        session.quit()


def screenshot(session: webdriver.Chrome, path: Path) -> Path:
    """Save the page as PNG and check it holds more than a blank page would."""
    assert session.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > MIN_SCREENSHOT_BYTES, f"{path} looks blank"
    return path
