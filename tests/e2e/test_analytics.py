"""The analytics page in real headless Chromium, on a running demo: a follower comes through a QR poster and
receives a push; the page shows the follow under that poster and the push's deliveries; axe-core finds no serious
or critical violation on it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from posts import posting
from posts.clock import system_clock
from tests.e2e.browser import console_browser, console_demo
from tests.e2e.test_console import AXE, RUN_AXE, signed_in
from wxbot.demo import Demo

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from console_demo(tmp_path_factory, "analytics")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    yield from console_browser(tmp_path_factory, "analytics")


def test_the_page_shows_follows_per_scene_and_the_pushs_deliveries(demo: Demo, browser: WebDriver) -> None:
    browser.get(demo.phone_url)
    wait = WebDriverWait(browser, 15)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "button.scene[data-scene='clinic-poster']"))
    browser.find_element(By.CSS_SELECTOR, "button.scene[data-scene='clinic-poster']").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble"))
    browser.find_element(By.ID, "keyboard").click()
    browser.find_element(By.ID, "text").send_keys("订阅 NurOwn\n")
    wait.until(lambda b: any("NurOwn" in x.text for x in b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble")))
    assert demo.runtime is not None
    with demo.runtime.sessions() as session:
        post = posting.add_post(session, content="update:nurown/2025-04-10-ind-amendment", audience="therapy:nurown",
                                channel="auto", by="test", now=system_clock(),
                                scheduling=demo.runtime.settings.scheduler)  # fmt: skip
        session.commit()
        post_id = post.id
    browser.get(demo.bot_url + "/p/")  # an H5 page, counted by the page server
    signed_in(browser, demo, "admin")
    deadline = time.monotonic() + 150  # the scheduler's tick sends it
    while True:
        browser.get(demo.console_url + "/analytics")
        pushes = browser.find_element(By.ID, "pushes-table").text
        # planned first, delivered a moment later: wait for the delivery, not only for the row
        if any(f"#{post_id}" in line and "客服消息 1 1" in line for line in pushes.splitlines()):
            break
        assert time.monotonic() < deadline, pushes
        time.sleep(2)
    scenes = browser.find_element(By.ID, "scenes-table").text
    assert any(line.startswith("clinic-poster") and line.split()[-3] == "1" for line in scenes.splitlines()), scenes
    row = next(line for line in pushes.splitlines() if f"#{post_id}" in line)
    assert "客服消息 1 1" in row, row
    assert browser.execute_script("return typeof Chart") == "function"
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    violations = browser.execute_async_script(RUN_AXE)
    blocking = [f"[{v['impact']}] {v['id']}: {v['help']} {v['nodes'][:3]}" for v in violations
                if v["impact"] in ("serious", "critical")]  # fmt: skip
    assert blocking == []
