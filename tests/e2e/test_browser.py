"""The demo's phone page in real headless Chromium: follow through a scene, tap every top menu item."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.browser import ARTIFACTS, chromium
from wxbot.demo import Demo

pytestmark = pytest.mark.browser


def bubbles(browser: WebDriver) -> list[str]:
    return [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".row.bot .bubble, .row.bot .card")]


def wait_for_new_reply(browser: WebDriver, before: int, timeout: float = 10) -> str:
    WebDriverWait(browser, timeout).until(lambda b: len(bubbles(b)) > before)
    return bubbles(browser)[-1]


def test_phone_page_follow_scene_and_every_menu_item(demo: Demo, tmp_path: Path) -> None:
    browser = chromium(tmp_path / "chrome", "--window-size=900,900")
    try:
        browser.get(demo.phone_url)
        wait = WebDriverWait(browser, 10)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "button.scene[data-scene='clinic-poster']")))
        tops = browser.find_elements(By.CSS_SELECTOR, "button.menu-top")
        assert 1 <= len(tops) <= 3

        browser.find_element(By.CSS_SELECTOR, "button.scene[data-scene='clinic-poster']").click()
        welcome = wait_for_new_reply(browser, 0)
        assert "候诊" in welcome  # the clinic-poster welcome, not the default one
        assert "不构成诊断或治疗建议" in welcome

        for index in range(len(tops)):
            top = browser.find_elements(By.CSS_SELECTOR, "button.menu-top")[index]
            before = len(bubbles(browser))
            top.click()
            subs = browser.find_elements(By.CSS_SELECTOR, ".popup button.menu-sub")
            if subs:
                clickable = [s for s in subs if s.get_attribute("data-type") == "click"]
                assert clickable, f"top menu item {index} has no click sub-item"
                clickable[0].click()
            reply = wait_for_new_reply(browser, before)
            assert reply.strip(), f"empty reply for top menu item {index}"

        browser.find_element(By.ID, "keyboard").click()
        box = browser.find_element(By.ID, "text")
        before = len(bubbles(browser))
        box.send_keys("订阅 NurOwn\n")
        assert "NurOwn" in wait_for_new_reply(browser, before)

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "demo-phone.png"))
        assert (ARTIFACTS / "demo-phone.png").stat().st_size > 10_000
    finally:
        browser.quit()
