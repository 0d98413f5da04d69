"""Every content page in headless Chromium at a phone's width, as a reader with ALS meets it.

For each page of the pack (table of contents, group, section, therapy, update) and the 404 page: axe-core 4
finds no serious or critical violation, every link and button is at least 44×44 CSS px, the text follows the
reader's default font size (no fixed pixel sizes, WeChat's font scaling not blocked) and at 200 % text size
nothing overflows sideways. Screenshots at both sizes go to the artifacts folder.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from posts.loader import default_content_dir, load_catalog
from posts.render import INDEX_PATH, Paths
from posts.settings import load_settings, replace
from tests.e2e.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.e2e.browser import chromium
from wxbot.demo import Demo

pytestmark = pytest.mark.browser

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
AXE_VERSION = "4.14.1"
ARTIFACTS = BROWSER_ARTIFACTS / "pages"
PHONE = {"width": 375, "height": 812, "pixelRatio": 1}
DEFAULT_FONT_PX, LARGE_FONT_PX = 16, 32  # Chromium's default, and the reader's setting at 200 %
MIN_TARGET_PX = 44
BLOCKING_IMPACTS = ("serious", "critical")
NOT_FOUND_PATH = "/p/no-such-page"


def page_paths() -> list[tuple[str, str]]:
    """(kind, path) of every page the content pack produces, plus the 404 page."""
    catalog, _ = load_catalog(default_content_dir())
    pages = [("index", INDEX_PATH)]
    pages += [("group", Paths.group(g)) for g in dict.fromkeys(s.group for s in catalog.sections)]
    pages += [("section", Paths.section(s.key)) for s in catalog.sections]
    pages += [("therapy", Paths.therapy(t.key)) for t in catalog.therapies.values()]
    pages += [("update", Paths.update(t.key, u.key)) for t in catalog.therapies.values() for u in t.updates]
    return [*pages, ("404", NOT_FOUND_PATH)]


PAGES = page_paths()


def phone(user_data: Path, default_font_px: int) -> WebDriver:
    """Headless Chromium emulating a 375 px wide phone whose reader set the default font size."""
    fonts = {"default_font_size": default_font_px, "default_fixed_font_size": round(default_font_px * 13 / 16)}
    return chromium(
        user_data,
        experimental={
            "mobileEmulation": {"deviceMetrics": PHONE},
            "prefs": {f"webkit.webprefs.{key}": px for key, px in fonts.items()},
        },
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bot serving the content pages (the demo without its scheduler); yields its base URL."""
    folder = tmp_path_factory.mktemp("pages")
    settings = replace(load_settings(env={}), database={"url": f"sqlite:///{folder / 'wxbot.db'}"})
    running = Demo(settings, port=0, database=folder / "demo.db", scheduler=False).start()
    try:
        yield running.bot_url
    finally:
        running.stop()


@pytest.fixture(scope="module")
def normal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    browser = phone(tmp_path_factory.mktemp("chrome-normal"), DEFAULT_FONT_PX)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    browser = phone(tmp_path_factory.mktemp("chrome-large"), LARGE_FONT_PX)
    yield browser
    browser.quit()


# ----- measurements in the page ---------------------------------------------------------------------------------

# WCAG AA asks 4.5:1 of normal text and 3:1 of large text; these pages ask 4.5:1 of all text.
RUN_AXE = """
const done = arguments[arguments.length - 1];
const contrast = axe._audit.checks['color-contrast'];
axe.configure({checks: [{id: 'color-contrast', options: {...contrast.options,
    contrastRatio: {normal: {expected: 4.5}, large: {expected: 4.5}}}}]});
axe.run(document, {resultTypes: ['violations']})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' '))}))))
  .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
"""

TARGETS = """
const label = el => (el.tagName.toLowerCase() + ' "' + (el.textContent || el.value || '').trim().slice(0, 30) + '"');
return [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [role=button], [onclick]')]
  .filter(el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
  .flatMap(el => [...el.getClientRects()].map(r => [label(el), Math.round(r.width * 10) / 10,
      Math.round(r.height * 10) / 10]));
"""

FONT_SIZES = """
return [...document.querySelectorAll('body, body *')]
  .filter(el => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(el => [el.tagName.toLowerCase() + ' "' + el.textContent.trim().slice(0, 20) + '"',
      parseFloat(getComputedStyle(el).fontSize)]);
"""

OVERFLOW = """
const view = document.documentElement.clientWidth;
const wide = [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > view + 0.5 || el.getBoundingClientRect().left < -0.5)
  .map(el => el.tagName.toLowerCase() + ' "' + el.textContent.trim().slice(0, 20) + '"');
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, wide: wide.slice(0, 5)};
"""


def load(browser: WebDriver, url: str) -> None:
    browser.get(url)
    browser.execute_script("window.scrollTo(0, 0)")


def axe_violations(browser: WebDriver) -> list[dict[str, Any]]:
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    assert browser.execute_script("return axe.version") == AXE_VERSION
    return browser.execute_async_script(RUN_AXE)


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  [{v['impact']}] {v['id']}: {v['help']}\n" + "\n".join(f"      {n}" for n in v["nodes"][:6])
        for v in violations
    )


def screenshot(browser: WebDriver, kind: str, path: str, size: str) -> None:
    """The whole page (not only the first screen) as a PNG in the artifacts folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.strip("/")) or "index"
    height = min(browser.execute_script("return document.documentElement.scrollHeight"), 16_000)
    clip = {"x": 0, "y": 0, "width": PHONE["width"], "height": height, "scale": 1}
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip})
    (ARTIFACTS / f"{kind}--{name}--{size}.png").write_bytes(base64.b64decode(shot["data"]))


# ----- the tests --------------------------------------------------------------------------------------------------


def test_the_vendored_axe_is_a_current_4x() -> None:
    head = AXE.read_text(encoding="utf-8")[:200]
    assert f"axe v{AXE_VERSION}" in head
    assert AXE_VERSION.startswith("4.")
    assert "Mozilla Public" in head  # its MPL-2.0 notice stays with the file


@pytest.mark.parametrize(("kind", "path"), PAGES, ids=[f"{k}:{p}" for k, p in PAGES])
def test_page_passes_axe_and_every_target_is_44px(site: str, normal: WebDriver, kind: str, path: str) -> None:
    load(normal, site + path)
    screenshot(normal, kind, path, "100")
    problems: list[str] = []

    violations = axe_violations(normal)
    if violations:
        print(f"axe {AXE_VERSION} on {path}:\n{describe(violations)}")
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        problems.append(f"serious or critical axe violations:\n{describe(blocking)}")

    targets = normal.execute_script(TARGETS)
    assert targets or kind == "404", f"{path} has no link at all"
    small = [f"  {label}: {w}×{h} px" for label, w, h in targets if w < MIN_TARGET_PX or h < MIN_TARGET_PX]
    if small:
        heading = f"{len(small)} of {len(targets)} targets under {MIN_TARGET_PX}×{MIN_TARGET_PX} px:"
        problems.append("\n".join([heading, *small]))

    raw = normal.page_source
    if re.search(r"text-size-adjust\s*:\s*(?!auto)", raw):
        problems.append("the page blocks WeChat's font scaling (text-size-adjust other than auto)")

    assert not problems, f"{kind} page {path}:\n" + "\n".join(problems)


@pytest.mark.parametrize(("kind", "path"), PAGES, ids=[f"{k}:{p}" for k, p in PAGES])
def test_page_reads_at_200_percent_text_without_overflow(
    site: str, normal: WebDriver, large: WebDriver, kind: str, path: str
) -> None:
    load(normal, site + path)
    load(large, site + path)
    screenshot(large, kind, path, "200")
    problems: list[str] = []

    for size, browser in (("100 %", normal), ("200 %", large)):
        overflow = browser.execute_script(OVERFLOW)
        assert overflow["innerWidth"] == PHONE["width"], overflow
        if overflow["scrollWidth"] > overflow["innerWidth"]:
            problems.append(f"at {size} text the page is {overflow['scrollWidth']} px wide: {overflow['wide']}")

    before, after = normal.execute_script(FONT_SIZES), large.execute_script(FONT_SIZES)
    assert before and len(before) == len(after)
    fixed = [
        f"  {label}: {small} px -> {big} px"
        for (label, small), (_, big) in zip(before, after, strict=True)
        if abs(big / small - LARGE_FONT_PX / DEFAULT_FONT_PX) > 0.05
    ]
    if fixed:
        problems.append(f"{len(fixed)} text elements ignore the reader's font size:\n" + "\n".join(fixed[:10]))

    assert not problems, f"{kind} page {path}:\n" + "\n".join(problems)
