"""The inbox in real headless Chromium, on a running demo (stand-in, bot, scheduler, console).

A follower's question no rule answers reaches the inbox, a sender answers it and the answer arrives on the demo's
phone page as a customer-service message closed by the disclaimer; an urgent word gets the safety reply at once and
its message is at the top of the inbox; axe-core finds no serious or critical violation on the inbox pages.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.browser import console_browser, console_demo
from tests.e2e.test_console import AXE, RUN_AXE, shot, signed_in
from wxbot.demo import Demo

pytestmark = pytest.mark.browser

QUESTION = "爸爸最近总是失眠，夜里醒好几次"
ANSWER = "您好，睡不好可能和呼吸肌无力有关，请尽快告诉主治的神经科医生，请他评估夜间呼吸。"
URGENT = "我真的不想活了"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from console_demo(tmp_path_factory, "inbox")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    yield from console_browser(tmp_path_factory, "inbox")


def bubbles(browser: WebDriver) -> list[str]:
    return [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".row.bot .bubble, .row.bot .card")]


def say_on_the_phone(browser: WebDriver, demo: Demo, text: str) -> str:
    """Type ``text`` on the phone page; the bot's answer to it."""
    browser.get(demo.phone_url)
    wait = WebDriverWait(browser, 15)
    if not bubbles(browser):
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button.scene[data-scene='clinic-poster']"))).click()
        wait.until(lambda b: bubbles(b))
    before = len(bubbles(browser))
    keyboard = browser.find_elements(By.ID, "keyboard")
    if keyboard and keyboard[0].is_displayed():
        keyboard[0].click()
    browser.find_element(By.ID, "text").send_keys(text + "\n")
    wait.until(lambda b: len(bubbles(b)) > before)
    return bubbles(browser)[-1]


def test_a_question_reaches_the_inbox_and_the_answer_reaches_the_phone(demo: Demo, browser: WebDriver) -> None:
    answer = say_on_the_phone(browser, demo, QUESTION)
    assert "没有找到" in answer

    signed_in(browser, demo, "sender")
    browser.get(demo.console_url + "/inbox")
    row = browser.find_element(By.XPATH, "//tr[contains(@class,'inbox-row')][.//a[contains(., '失眠')]]")
    row.find_element(By.TAG_NAME, "a").click()
    WebDriverWait(browser, 10).until(lambda b: re.search(r"/inbox/\d+$", b.current_url))
    assert QUESTION in browser.find_element(By.ID, "item-text").text
    assert "还能给对方发 5 条客服消息" in browser.find_element(By.ID, "window-left").text
    shot(browser, "inbox-conversation")
    browser.find_element(By.ID, "reply").send_keys(ANSWER)
    browser.find_element(By.CSS_SELECTOR, "form[action$='/answer'] button").click()
    WebDriverWait(browser, 10).until(lambda b: "done=inbox_answered" in b.current_url)
    assert "已回复" in browser.find_element(By.ID, "item-state").text
    assert "还能给对方发 4 条" in browser.find_element(By.ID, "window-left").text

    deadline = time.monotonic() + 90  # the scheduler's outbox pass sends it as a customer-service message
    while True:
        browser.get(demo.phone_url)
        time.sleep(1)
        found = [b for b in bubbles(browser) if "呼吸肌无力" in b]
        if found:
            break
        assert time.monotonic() < deadline, bubbles(browser)[-3:]
        time.sleep(2)
    assert "不构成诊断或治疗建议" in found[-1]  # the disclaimer closes the operator's answer


def test_an_urgent_word_gets_the_safety_reply_at_once_and_tops_the_inbox(demo: Demo, browser: WebDriver) -> None:
    answer = say_on_the_phone(browser, demo, URGENT)
    assert "12356" in answer and "120" in answer and "不构成诊断或治疗建议" in answer

    signed_in(browser, demo, "reviewer")
    browser.get(demo.console_url + "/inbox")
    first = browser.find_elements(By.CSS_SELECTOR, "#inbox-table tbody tr")[0]
    assert URGENT in first.text and "紧急" in first.text
    assert "urgent" in (first.get_attribute("class") or "")
    shot(browser, "inbox")
    first.find_element(By.TAG_NAME, "a").click()
    WebDriverWait(browser, 10).until(lambda b: re.search(r"/inbox/\d+$", b.current_url))
    assert "回复由发送人或管理员来做" in browser.page_source  # a reviewer reads only
    assert not browser.find_elements(By.ID, "reply")


def test_axe_finds_no_serious_or_critical_violation_on_the_inbox_pages(demo: Demo, browser: WebDriver) -> None:
    say_on_the_phone(browser, demo, "干细胞治疗在哪个医院能做")  # at least one open question and one group
    signed_in(browser, demo, "sender")
    browser.get(demo.console_url + "/inbox")
    item = browser.find_elements(By.CSS_SELECTOR, "#inbox-table tbody tr a")[0].get_attribute("href")
    problems = []
    for url in (demo.console_url + "/inbox", item, demo.console_url + "/inbox/groups",
                demo.console_url + "/inbox/recent", demo.console_url + "/inbox?state=all"):  # fmt: skip
        browser.get(url)
        browser.execute_script(AXE.read_text(encoding="utf-8"))
        violations = browser.execute_async_script(RUN_AXE)
        blocking = [v for v in violations if v["impact"] in ("serious", "critical")]
        problems += [f"{url}: [{v['impact']}] {v['id']}: {v['help']} {v['nodes'][:3]}" for v in blocking]
    assert problems == []
