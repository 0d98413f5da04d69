"""The operator console in real headless Chromium, on a running demo (stand-in, bot, scheduler, console).

An editor drafts a NurOwn update, a reviewer approves it, a sender queues it, it arrives on the demo's phone
page and the report shows it; an editor cannot send; nobody approves their own push to everyone; a form without
its CSRF token is refused; the sixth wrong password is refused by the lockout; a signed-out visit to any route
lands on sign-in; axe-core finds no serious or critical violation on any console page. Screenshots of the
dashboard, the calendar and the preview go to the artifacts folder.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from posts import accounts
from posts.clock import system_clock
from tests.e2e.browser import ARTIFACTS, console_browser, console_demo
from wxbot import consoleapp
from wxbot.demo import Demo

pytestmark = pytest.mark.browser

UPDATE = "update:nurown/2025-04-10-ind-amendment"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SHOTS = ARTIFACTS / "console"
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' '))}))))
  .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
"""
POST_STATUS = """
const [url, fields] = [arguments[0], arguments[1]]; const done = arguments[arguments.length - 1];
fetch(url, {method: 'POST', body: new URLSearchParams(fields), redirect: 'manual'})
  .then(r => r.text().then(t => done([r.status, r.type, t]))).catch(e => done([0, String(e), '']));
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from console_demo(tmp_path_factory, "console")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    yield from console_browser(tmp_path_factory, "console")


def replaced(element: WebElement) -> Callable[[WebDriver], bool]:
    """A wait condition: ``element``'s page has gone. Like ``staleness_of``, but chromedriver may answer a question
    about an element of a page being replaced with an "inspector error" instead of a stale-element error: that also
    means the page went (what the caller checks next tells whether it went where it should)."""

    def gone(_: WebDriver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # StaleElementReferenceException included
            return True
        return False

    return gone


def sign_in(browser: WebDriver, demo: Demo, username: str, password: str | None = None) -> None:
    browser.delete_all_cookies()
    browser.get(demo.console_url + "/signin")
    browser.find_element(By.ID, "username").send_keys(username)
    field = browser.find_element(By.ID, "password")
    field.send_keys(password or demo.staff[username])
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 20).until(replaced(field))  # the answer page replaced the form


def signed_in(browser: WebDriver, demo: Demo, username: str) -> None:
    sign_in(browser, demo, username)
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, "form.who")))


def csrf(browser: WebDriver) -> str:
    return browser.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value") or ""


def post_status(browser: WebDriver, path: str, fields: dict[str, str]) -> list[Any]:
    return browser.execute_async_script(POST_STATUS, path, fields)


def shot(browser: WebDriver, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    return path


def compose(browser: WebDriver, demo: Demo, audience: str, at: datetime) -> int:
    browser.get(demo.console_url + "/compose")
    Select(browser.find_element(By.ID, "content")).select_by_value(UPDATE)
    Select(browser.find_element(By.ID, "audience")).select_by_value(audience)
    WebDriverWait(browser, 10).until(lambda b: "关注者" in b.find_element(By.ID, "audience-count").text)  # htmx
    local = at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    browser.execute_script("document.getElementById('send_at').value = arguments[0]", local)
    browser.find_element(By.CSS_SELECTOR, "button[name=then][value=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: re.search(r"/posts/\d+\?done=submitted", b.current_url))
    return int(re.search(r"/posts/(\d+)", browser.current_url).group(1))  # type: ignore[union-attr]


def test_an_update_goes_from_draft_to_the_phone_through_the_browser(demo: Demo, browser: WebDriver) -> None:
    browser.get(demo.phone_url)  # a follower: follows through a poster, writes, subscribes to NurOwn
    wait = WebDriverWait(browser, 15)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button.scene[data-scene='clinic-poster']"))).click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble"))
    browser.find_element(By.ID, "keyboard").click()
    browser.find_element(By.ID, "text").send_keys("订阅 NurOwn\n")
    wait.until(lambda b: any("NurOwn" in x.text for x in b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble")))

    signed_in(browser, demo, "editor")
    at = datetime.now(UTC) + timedelta(minutes=1)
    post_id = compose(browser, demo, "therapy:nurown", at)
    page = browser.page_source
    assert "待审核" in page and f"/posts/{post_id}/queue" not in page and f"/posts/{post_id}/approve" not in page
    status, _, body = post_status(browser, f"/posts/{post_id}/queue", {"csrf": csrf(browser)})
    assert status == 403 and "您的角色不能做这件事" in body  # an editor cannot send

    browser.get(f"{demo.console_url}/posts/{post_id}/preview")
    text = browser.find_element(By.ID, "preview-text").text
    assert "提交3b期" in text and "不构成诊断或治疗建议" in text
    assert "消息末尾带有免责声明" in browser.find_element(By.ID, "disclaimer-check").text
    assert "客服消息" in browser.page_source and "/cgi-bin" not in browser.page_source
    shot(browser, "preview")

    signed_in(browser, demo, "reviewer")
    browser.get(f"{demo.console_url}/posts/{post_id}")
    browser.find_element(By.ID, "approve-comment").send_keys("来源和日期已核对")
    browser.find_element(By.CSS_SELECTOR, f"form[action='/posts/{post_id}/approve'] button").click()
    WebDriverWait(browser, 10).until(lambda b: "done=approved" in b.current_url)
    assert browser.find_element(By.ID, "post-state").text == "已批准"

    signed_in(browser, demo, "sender")
    browser.get(f"{demo.console_url}/posts/{post_id}")
    browser.find_element(By.CSS_SELECTOR, f"form[action='/posts/{post_id}/queue'] button").click()
    WebDriverWait(browser, 10).until(lambda b: "done=queued" in b.current_url)
    browser.get(demo.console_url + "/")
    shot(browser, "dashboard")
    browser.get(demo.console_url + "/calendar")
    assert f"/posts/{post_id}" in browser.page_source
    shot(browser, "calendar-week")
    browser.get(demo.console_url + "/calendar?view=month")
    shot(browser, "calendar-month")

    deadline = time.monotonic() + 150  # the minute comes, the scheduler's tick sends it
    while True:
        browser.get(f"{demo.console_url}/posts/{post_id}/report")
        if browser.find_element(By.ID, "report-state").text == "已发送":
            break
        assert time.monotonic() < deadline, browser.find_element(By.ID, "report-table").text
        time.sleep(2)
    table = browser.find_element(By.ID, "report-table").text
    assert "客服消息 已送达 1" in table
    assert browser.execute_script("return typeof Chart") == "function"
    shot(browser, "report")

    browser.get(demo.phone_url)
    WebDriverWait(browser, 15).until(
        lambda b: any(
            "提交3b期" in x.text for x in b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble, .row.bot .card")
        )
    )


def test_a_push_to_everyone_needs_someone_elses_approval_even_an_admins(demo: Demo, browser: WebDriver) -> None:
    signed_in(browser, demo, "admin")
    post_id = compose(browser, demo, "all", datetime.now(UTC) + timedelta(hours=2))
    assert f"/posts/{post_id}/approve" not in browser.page_source
    assert "管理员也不能自己批准" in browser.page_source
    status, _, body = post_status(browser, f"/posts/{post_id}/approve", {"csrf": csrf(browser)})
    assert status == 403 and "必须由另一位审核人批准" in body


def test_a_form_without_its_csrf_token_is_refused(demo: Demo, browser: WebDriver) -> None:
    signed_in(browser, demo, "sender")
    status, _, body = post_status(browser, "/signout", {})
    assert status == 403 and "安全校验码" in body
    browser.get(demo.console_url + "/")
    assert browser.find_elements(By.CSS_SELECTOR, "form.who")  # still signed in


def test_a_signed_out_visit_to_any_route_lands_on_sign_in(demo: Demo, browser: WebDriver) -> None:
    assert demo.runtime is not None
    routes = consoleapp.build(demo.runtime.settings, demo.runtime.sessions, demo.runtime.catalog, system_clock).routes
    browser.delete_all_cookies()
    browser.get(demo.console_url + "/signin")
    for method, path in routes:
        concrete = re.sub(r"\{[a-z_]+:(int|str)\}", lambda m: "1" if m.group(1) == "int" else "editor", path)
        if method == "GET":
            browser.get(demo.console_url + concrete)
            assert urlpath(browser.current_url) == "/signin", concrete
            assert browser.find_elements(By.ID, "password"), concrete
        else:
            status, kind, _ = post_status(browser, concrete, {"csrf": "x"})
            assert kind == "opaqueredirect" or status == 303, (concrete, status, kind)


def text_of(browser: WebDriver, element_id: str) -> str:
    """An element's text read in the page, so an htmx swap between finding and reading it does not matter."""
    return str(browser.execute_script("const e = document.getElementById(arguments[0]); return e ? e.textContent : ''",
                                      element_id))  # fmt: skip


def urlpath(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]


def test_the_sixth_wrong_password_is_refused_by_the_lockout(demo: Demo, browser: WebDriver) -> None:
    assert demo.runtime is not None
    with demo.runtime.sessions() as session:
        accounts.add_user(session, "locktest", "editor", "the right password", by="test", now=system_clock())
        session.commit()
    for n in range(5):
        sign_in(browser, demo, "locktest", f"wrong password {n}")
        assert "用户名或密码不对" in browser.find_element(By.ID, "signin-error").text
    sign_in(browser, demo, "locktest", "the right password")
    message = browser.find_element(By.ID, "signin-error").text
    assert "已被锁定" in message and "之后再试" in message
    assert not browser.find_elements(By.CSS_SELECTOR, "form.who")


CONSOLE_PAGES = ("/", "/posts", "/calendar", "/calendar?view=month", "/compose", "/posts/1", "/posts/1/preview",
                 "/posts/1/report", "/posts/1/edit", "/me/wechat", "/users", "/settings", "/audit")  # fmt: skip


def test_axe_finds_no_serious_or_critical_violation_on_any_console_page(demo: Demo, browser: WebDriver) -> None:
    problems = []
    browser.delete_all_cookies()
    for path in ("/signin", *CONSOLE_PAGES):
        if path == "/posts/1/edit":
            signed_in(browser, demo, "editor")
        elif path == "/" or path == "/users":
            signed_in(browser, demo, "admin")
        browser.get(demo.console_url + path)
        browser.execute_script(AXE.read_text(encoding="utf-8"))
        violations = browser.execute_async_script(RUN_AXE)
        blocking = [v for v in violations if v["impact"] in ("serious", "critical")]
        problems += [f"{path}: [{v['impact']}] {v['id']}: {v['help']} {v['nodes'][:3]}" for v in blocking]
    assert problems == []


def test_an_operator_binds_their_phone_and_sends_an_update_to_it(demo: Demo, browser: WebDriver) -> None:
    """Send to me: the editor asks for a bind QR code, the demo phone scans it, the page says bound; "发送给我" on a
    NurOwn update's preview, and the message arrives on that phone with the disclaimer."""
    signed_in(browser, demo, "editor")
    browser.get(demo.console_url + "/me/wechat")
    browser.find_element(By.ID, "wechat-code").click()
    wait = WebDriverWait(browser, 30)
    wait.until(ec.presence_of_element_located((By.ID, "wechat-qr")))  # the scheduler made it; htmx showed it
    assert browser.find_element(By.ID, "wechat-qr").get_attribute("src").startswith("data:image/png")  # type: ignore[union-attr]
    console_tab = browser.current_window_handle

    browser.switch_to.new_window("tab")  # the operator's own phone: the demo's phone page scans the code
    browser.get(demo.phone_url)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button.scene[data-scene^='opbind:']"))).click()
    wait.until(lambda b: any("已绑定" in x.text for x in b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble")))
    phone_tab = browser.current_window_handle

    browser.switch_to.window(console_tab)
    wait.until(lambda b: "已绑定" in text_of(b, "wechat-status"))  # htmx asked again
    shot(browser, "wechat-bound")
    post_id = compose(browser, demo, "all", datetime.now(UTC) + timedelta(hours=3))
    browser.get(f"{demo.console_url}/posts/{post_id}/preview")
    browser.find_element(By.ID, "send-to-me-button").click()
    wait.until(lambda b: "已发到您的微信" in text_of(b, "send-to-me"))
    assert "/cgi-bin" not in browser.page_source

    browser.switch_to.window(phone_tab)
    wait.until(
        lambda b: any(
            "提交3b期" in x.text and "不构成诊断或治疗建议" in x.text
            for x in b.find_elements(By.CSS_SELECTOR, ".row.bot .bubble")
        )
    )
    browser.close()
    browser.switch_to.window(console_tab)
    browser.get(f"{demo.console_url}/posts/{post_id}/report")
    assert "已送达" not in browser.find_element(By.ID, "report-table").text  # a test send is no delivery
