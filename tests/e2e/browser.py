"""Real headless Chromium for the browser tests (Debian's chromium and chromium-driver), and where screenshots go."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from posts.settings import Settings, replace
from wxbot.demo import Demo

ARTIFACTS = Path(os.environ.get("WXBOT_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
"""Screenshots the tests write for people to look at (git-ignored)."""
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium(user_data: Path, *extra: str, experimental: dict[str, Any] | None = None) -> WebDriver:
    """A headless Chromium with its own profile folder; ``extra`` flags and ``experimental`` options on top."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail("chromium and chromedriver are required (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (*FLAGS, *extra, f"--user-data-dir={user_data}"):
        options.add_argument(arg)
    for name, value in (experimental or {}).items():
        options.add_experimental_option(name, value)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    browser.set_script_timeout(30)
    return browser


def console_demo(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Demo]:
    """A module's running demo with the operator console, awake all day (the test may run at night)."""
    folder = tmp_path_factory.mktemp(f"{name}-demo")
    base = replace(Settings(), scheduler={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"})
    running = Demo(base, port=0, database=folder / "demo.db", console=True, console_port=0).start()
    try:
        yield running
    finally:
        running.stop()


def console_browser(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[WebDriver]:
    """A module's headless Chromium, as wide as a staff member's screen."""
    found = chromium(tmp_path_factory.mktemp(f"chrome-{name}"), "--window-size=1280,1000")
    yield found
    found.quit()
