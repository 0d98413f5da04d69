"""Writing content in the console, in real headless Chromium on a running demo (stand-in, bot, scheduler,
console): an editor writes a new STR03 update with its sources (the linter blocks a "一针见效" body as they type),
a reviewer approves it, and a follower who types "最新 STR03" on the demo's phone page receives it; an editor
changes the keyword reply to "你好" (a keyword another rule answers first is refused next to the field as they
type), a reviewer approves it, and the phone page's "你好" gets the new reply with the disclaimer; axe-core finds
no serious or critical violation on the editor's pages, those of sections, welcomes and keyword replies included."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.browser import console_browser, console_demo
from tests.e2e.test_console import AXE, RUN_AXE, shot, signed_in
from wxbot.demo import Demo

pytestmark = pytest.mark.browser

TITLE = "STR03 II期试验完成首批入组"
GOOD = "**发生了什么：** 尼普洛公司在新闻稿中说，STR03 II期试验完成了首批入组[1]。\n\n**这不意味着：** 已有疗效结论。"
BAD = "STR03一针见效[1]。"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from console_demo(tmp_path_factory, "editor")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    yield from console_browser(tmp_path_factory, "editor")


def typed(browser: WebDriver, field: str, text: str) -> None:
    element = browser.find_element(By.ID, field)
    element.clear()
    element.send_keys(text)


def settled(browser: WebDriver, seconds: float = 15) -> WebDriverWait[WebDriver]:
    """A wait that looks again when htmx swapped the element being read (the checks, a field's findings)."""
    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))


def checks_say(browser: WebDriver, words: str) -> None:
    settled(browser).until(lambda b: words in b.find_element(By.ID, "checks").text)


def bot_bubbles(browser: WebDriver) -> list[str]:
    return [x.text for x in browser.find_elements(By.CSS_SELECTOR, ".row.bot .bubble, .row.bot .card")]


def test_an_editor_writes_a_str03_update_a_reviewer_approves_and_a_follower_receives_it(
    demo: Demo, browser: WebDriver
) -> None:
    signed_in(browser, demo, "editor")
    browser.get(demo.console_url + "/content")
    browser.find_element(By.ID, "new-update").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "content-form")))
    Select(browser.find_element(By.ID, "therapy")).select_by_value("str03")
    typed(browser, "date", "2026-11-20")
    typed(browser, "slug", "first-enrolment")
    typed(browser, "title", TITLE)
    typed(browser, "source1_url", "https://www.nipro.co.jp/news/2026-11-20-str03-enrolment")
    typed(browser, "source1_title", "尼普洛新闻稿：STR03 II期试验入组")
    typed(browser, "source1_publisher", "尼普洛株式会社")
    typed(browser, "source1_date", "2026-11-20")
    Select(browser.find_element(By.ID, "source1_kind")).select_by_value("company")
    typed(browser, "body", BAD)
    checks_say(browser, "一针见效")  # the linter, as the editor types
    assert "不能提交审核" in browser.find_element(By.ID, "checks").text
    browser.find_element(By.ID, "submit-review").click()
    settled(browser, 10).until(lambda b: "一针见效" in b.find_element(By.ID, "checks").text)
    assert "/content/new" in browser.current_url  # refused: still the form, nothing sent to review

    typed(browser, "body", GOOD)
    checks_say(browser, "检查通过")
    assert TITLE in browser.find_element(By.ID, "preview-text").text
    assert "不构成诊断或治疗建议" in browser.find_element(By.ID, "preview-text").text
    shot(browser, "content-editor")
    browser.find_element(By.ID, "submit-review").click()
    WebDriverWait(browser, 10).until(lambda b: "done=content_submitted" in b.current_url)
    revision = re.search(r"/content/revisions/(\d+)", browser.current_url).group(1)  # type: ignore[union-attr]
    assert "需要另一位审核人批准" in browser.page_source

    signed_in(browser, demo, "reviewer")
    browser.get(f"{demo.console_url}/content/revisions/{revision}")
    browser.find_element(By.ID, "approve-comment").send_keys("来源已核对")
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, 10).until(lambda b: "done=content_live" in b.current_url)
    assert browser.find_element(By.ID, "revision-state").text == "已上线"

    browser.get(demo.phone_url)  # a follower, on the phone
    wait = WebDriverWait(browser, 15)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button.scene[data-scene='clinic-poster']"))).click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble"))
    browser.find_element(By.ID, "keyboard").click()
    browser.find_element(By.ID, "text").send_keys("最新 STR03\n")
    wait.until(lambda b: any(TITLE in text for text in bot_bubbles(b)))


NEW_REPLY = "您好，我在。回复“目录”看年度回顾，回复“订阅 疗法名”接收新进展。"


def test_an_editor_changes_a_keyword_reply_a_reviewer_approves_and_the_phone_gets_it(
    demo: Demo, browser: WebDriver
) -> None:
    signed_in(browser, demo, "editor")
    browser.get(demo.console_url + "/content")
    browser.find_element(By.CSS_SELECTOR, "a[aria-label='编辑：你好 / 您好 / 在吗 / 在么']").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "content-form")))
    patterns = browser.find_element(By.ID, "patterns")
    assert patterns.get_attribute("value").splitlines() == ["你好", "您好", "在吗", "在么"]
    patterns.send_keys("\n帮助")  # the bot's help command answers 帮助 first
    settled(browser).until(lambda b: "先被另一条规则回答" in b.find_element(By.ID, "err-patterns").text)
    assert "不能提交审核" in browser.find_element(By.ID, "checks").text
    typed(browser, "patterns", "你好\n您好\n在吗\n在么")
    typed(browser, "reply", NEW_REPLY)
    settled(browser).until(lambda b: b.find_element(By.ID, "preview-text").text.startswith(NEW_REPLY))
    checks_say(browser, "检查通过")
    assert browser.find_element(By.ID, "err-patterns").text == ""
    preview = browser.find_element(By.ID, "preview-text").text
    assert preview.startswith(NEW_REPLY) and "不构成诊断或治疗建议" in preview
    assert browser.find_element(By.ID, "preview-asked").text == "你好"
    shot(browser, "keyword-editor")
    browser.find_element(By.ID, "submit-review").click()
    WebDriverWait(browser, 10).until(lambda b: "done=content_submitted" in b.current_url)
    revision = re.search(r"/content/revisions/(\d+)", browser.current_url).group(1)  # type: ignore[union-attr]

    signed_in(browser, demo, "reviewer")
    browser.get(f"{demo.console_url}/content/revisions/{revision}")
    assert "+reply: " + NEW_REPLY in browser.find_element(By.ID, "diff").text
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, 10).until(lambda b: "done=content_live_keyword" in b.current_url)
    assert browser.find_element(By.ID, "revision-state").text == "已上线"

    browser.get(demo.phone_url)  # a follower, on the phone
    wait = WebDriverWait(browser, 15)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button.scene[data-scene='article-link']"))).click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble"))
    browser.find_element(By.ID, "keyboard").click()
    browser.find_element(By.ID, "text").send_keys("你好\n")
    wait.until(lambda b: any(text.startswith(NEW_REPLY) for text in bot_bubbles(b)))
    answer = next(text for text in bot_bubbles(browser) if text.startswith(NEW_REPLY))
    assert "不构成诊断或治疗建议" in answer


def test_axe_finds_no_serious_or_critical_violation_on_the_editor_pages(demo: Demo, browser: WebDriver) -> None:
    signed_in(browser, demo, "editor")
    browser.get(demo.console_url + "/content/new?therapy=str03")
    typed(browser, "slug", "axe-check")
    typed(browser, "title", "无障碍检查用的草稿")
    typed(browser, "body", BAD)
    checks_say(browser, "不能提交审核")  # a page with its findings shown is checked too
    problems = []

    def axe(where: str) -> None:
        browser.execute_script(AXE.read_text(encoding="utf-8"))
        violations = browser.execute_async_script(RUN_AXE)
        blocking = [v for v in violations if v["impact"] in ("serious", "critical")]
        problems.extend(f"{where}: [{v['impact']}] {v['id']}: {v['help']} {v['nodes'][:3]}" for v in blocking)

    axe("/content/new")
    browser.find_element(By.CSS_SELECTOR, "button[name=then][value=draft]").click()
    WebDriverWait(browser, 10).until(lambda b: "done=content_saved" in b.current_url)
    axe("/content/revisions/<draft>")
    browser.get(demo.console_url + "/content")
    axe("/content")
    for path in ("/content/new?kind=section&part=guide", "/content/new?kind=section&from=scams",
                 "/content/new?kind=welcome&from=clinic-poster", "/content/new?kind=keyword"):  # fmt: skip
        browser.get(demo.console_url + path)
        WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "content-form")))
        axe(path)
    typed(browser, "patterns", "帮助")
    typed(browser, "reply", "一段回复")
    settled(browser).until(lambda b: b.find_element(By.ID, "err-patterns").text)  # a finding by its field
    axe("/content/new?kind=keyword (a finding next to a field)")
    browser.find_element(By.CSS_SELECTOR, "button[name=then][value=draft]").click()  # a draft keeps what was typed
    WebDriverWait(browser, 10).until(lambda b: "done=content_saved" in b.current_url)
    assert browser.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").get_attribute("disabled")
    axe("/content/revisions/<keyword draft with a finding>")
    assert problems == []
