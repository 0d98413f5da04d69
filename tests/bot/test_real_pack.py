"""The bot on the real content pack and renderer: every scene, every menu key, the menu file, scene stats."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.routes import build_routes
from posts import db
from posts.addresses import GUIDE_PART, REVIEW_PART
from posts.catalog import Catalog, Section
from posts.followers import scene_counts
from posts.limits import utf8_len
from posts.loader import default_content_dir, load_catalog
from posts.menu import load_menu, menu_body, menu_path, validate
from posts.render import Renderer
from posts.script import converter
from posts.settings import Settings
from tests.bot.conftest import BASE_URL, LiveBot, serve_with
from tests.bot.wechat import Reply, event_push, text_push


@pytest.fixture(scope="module")
def pack() -> Catalog:
    catalog, _problems = load_catalog(default_content_dir())
    return catalog


@pytest.fixture
def real(settings: Settings, sessions: sessionmaker[Session], pack: Catalog) -> Iterator[LiveBot]:
    with serve_with(settings, sessions, pack, "safe", renderer=Renderer(pack, BASE_URL)) as bot:
        yield bot


def test_menu_file_is_valid_and_every_click_is_routed(pack: Catalog) -> None:
    menu = load_menu(menu_path(default_content_dir()))
    assert validate(menu, build_routes(pack).click_keys, BASE_URL) == []
    body = menu_body(menu, BASE_URL)
    assert len(body["button"]) == 3
    assert body["button"][0]["sub_button"][3] == {"type": "view", "name": "网页版目录", "url": f"{BASE_URL}/p/"}
    assert body["button"][1]["name"] == "家属须知"


def test_menu_validation_catches_wechat_rule_breaks(pack: Catalog) -> None:
    menu = load_menu(menu_path(default_content_dir()))
    problems = validate(menu, {"TOC"}, "")
    assert any("has no route" in p for p in problems)
    assert any("not absolute" in p for p in problems)


def test_every_menu_key_answers_on_the_real_pack(real: LiveBot) -> None:
    menu = load_menu(menu_path(default_content_dir()))
    for leaf in menu.leaves():
        if leaf.kind != "click":
            continue
        reply = real.wechat.push(event_push("CLICK", leaf.key))
        assert reply.msg_type in ("text", "news"), leaf.key
        if reply.msg_type == "text":
            assert utf8_len(reply.content) <= 2048
        else:
            assert all(a["Url"].startswith(BASE_URL + "/p/") for a in reply.articles)


def test_every_routed_click_key_answers(real: LiveBot, pack: Catalog) -> None:
    for key in sorted(build_routes(pack).click_keys):
        assert not real.wechat.push(event_push("CLICK", key)).empty, key


def test_every_scene_welcomes_and_counts(real: LiveBot, pack: Catalog, engine: object) -> None:
    for i, scene in enumerate(pack.scenes.values()):
        openid = f"oScene{i:022d}"
        reply = real.wechat.push(event_push("subscribe", f"qrscene_{scene.key}", openid=openid))
        assert reply.msg_type in ("text", "news") and reply.fields["ToUserName"] == openid
        real.wechat.push(event_push("SCAN", scene.key, openid=openid))
    real.wechat.push(event_push("unsubscribe", openid="oScene0000000000000000000000"))
    with db.session_scope(real.sessions) as session:
        counts = scene_counts(session)
    first = next(iter(pack.scenes))
    assert (counts[first].follows, counts[first].scans, counts[first].following) == (1, 1, 0)
    for key in list(pack.scenes)[1:]:
        assert (counts[key].follows, counts[key].scans, counts[key].following) == (1, 1, 1)


@pytest.mark.parametrize(
    "typed", ["目录", "帮助", "1", "13", "订阅", "订阅 XS228", "我的订阅", "NurOwn", "你好", "治愈"]
)
def test_typed_text_on_the_real_pack(real: LiveBot, typed: str) -> None:
    reply = real.wechat.push(text_push(typed))
    assert reply.msg_type in ("text", "news")


# ----- the family guide (guide/): what families ask first, each reachable by menu and by keyword ------------------

GUIDE = {
    "trials": ["试验", "报名", "临床试验", "招募", "登记号", "有没有临床试验可以报名"],
    "cost-and-access": ["费用", "多少钱", "医保", "台湾", "香港", "价格", "报销", "NurOwn多少钱", "哪里可以打干细胞"],
    "scams": ["骗局", "骗子", "诈骗", "被骗", "举报", "是不是骗局"],
    "care-now": ["现在能做什么", "标准治疗", "利鲁唑", "依达拉奉", "托夫生", "基因检测", "要不要做基因检测"],
    "glossary": ["名词", "术语", "名词解释", "缩写", "ALSFRS-R", "SVC", "IND", "SPA", "BLA", "post hoc", "sham"],
    "about-us": ["关于我们", "谁在运营", "你们是谁", "利益冲突"],
    "procedure-risks": ["风险", "副作用", "骨穿", "腰穿", "骨髓穿刺", "腰椎穿刺", "做骨穿危险吗"],
}
"""Each of the seven guide sections and words a family types that must reach it (exact rules, then contains)."""


def section_answer(reply: Reply, section: Section) -> bool:
    """``reply`` is ``section``: its text (when it fits one reply), or one article linking to its page."""
    if reply.msg_type == "text":
        return reply.content.startswith(f"{section.order}. {section.title}\n")
    return [a["Url"] for a in reply.articles] == [f"{BASE_URL}/p/s/{section.key}"]


def test_the_guide_is_its_own_part_after_the_review(pack: Catalog) -> None:
    assert [s.key for s in pack.guide] == list(GUIDE)
    review = pack.part(REVIEW_PART)
    assert all(s.part == GUIDE_PART and s.group == GUIDE_PART for s in pack.guide)
    assert min(s.order for s in pack.guide) == max(s.order for s in review) + 1
    assert [s.order for s in pack.sections] == list(range(1, len(pack.sections) + 1))
    assert pack.group(GUIDE_PART) == pack.guide


@pytest.mark.parametrize("key", list(GUIDE))
def test_each_guide_section_carries_sources_dates_and_review(pack: Catalog, key: str) -> None:
    section = pack.section(key)
    assert section is not None and section.review is not None
    assert section.review.reviewed_by and section.review.reviewed_on <= section.updated
    assert section.review.next_review > section.review.reviewed_on
    if key != "about-us":  # who we are is about the account itself, not a sourced fact
        assert section.sources and all(ref in pack.references for ref in section.sources)
    renderer = Renderer(pack, BASE_URL)
    body = renderer.section(key)
    assert body.fits or body.page_path == f"/p/s/{key}"
    if body.fits:
        assert f"（更新于{section.updated.isoformat()}；{section.review.reviewed_on.isoformat()}核对" in body.text
        assert all(f"[{ref}] {pack.references[ref].publisher}" in body.text for ref in section.sources)
    page = renderer.section_page(key)
    assert section.review.reviewed_by in page and f"下次复核 {section.review.next_review.isoformat()}" in page
    assert all(f'id="ref-{ref}"' in page for ref in section.sources)


def test_the_family_questions_fit_one_text_reply(pack: Catalog) -> None:
    """The three answers to 费用, 骗局 and 关于我们 go out as text, not as a link to tap."""
    renderer = Renderer(pack, BASE_URL)
    for key in ("cost-and-access", "scams", "about-us"):
        assert renderer.section(key).fits, key


def test_every_guide_section_is_reachable_from_the_menu(real: LiveBot, pack: Catalog) -> None:
    menu = load_menu(menu_path(default_content_dir()))
    guide_button = next(b for b in menu.buttons if b.name == "家属须知")
    keys = [leaf.key for leaf in guide_button.subs]
    assert keys[-1] == f"GROUP_{GUIDE_PART.upper()}"
    listed = real.wechat.push(event_push("CLICK", keys[-1]))
    assert [a["Url"] for a in listed.articles] == [f"{BASE_URL}/p/g/{GUIDE_PART}"]
    assert listed.articles[0]["Title"] == f"家属须知 第{pack.guide[0].order}–{pack.guide[-1].order}节（共7节）"
    page = Renderer(pack, BASE_URL).group_page(GUIDE_PART)
    for section in pack.guide:
        assert f'<a href="/p/s/{section.key}">{section.title}</a>' in page
    for key in keys[:-1]:
        section = next(s for s in pack.guide if f"SECTION_{s.key.upper().replace('-', '_')}" == key)
        assert section_answer(real.wechat.push(event_push("CLICK", key)), section), key


@pytest.mark.parametrize(("key", "typed"), [(k, t) for k, words in GUIDE.items() for t in words])
def test_every_guide_section_is_reachable_by_keyword(real: LiveBot, pack: Catalog, key: str, typed: str) -> None:
    section = pack.section(key)
    assert section is not None
    reply = real.wechat.push(text_push(typed))
    assert section_answer(reply, section), (typed, reply.content[:40] or reply.articles)


@pytest.mark.parametrize("key", list(GUIDE))
def test_every_guide_section_is_reachable_in_traditional_too(real: LiveBot, pack: Catalog, key: str) -> None:
    """Each guide word typed in Traditional reaches the same section, and a follower who chose Traditional (繁體)
    reads the section in Traditional."""
    section = pack.section(key)
    assert section is not None
    convert = converter(pack.script).to_traditional
    reader = f"oHantGuide{key.replace('-', '')[:10]:0<18}"
    assert real.wechat.push(text_push("繁體", openid=reader)).msg_type == "text"
    for typed in GUIDE[key]:
        simplified = real.wechat.push(text_push(typed))
        assert section_answer(simplified, section), typed
        traditional = real.wechat.push(text_push(convert(typed), openid=reader))
        if simplified.msg_type == "text":
            assert traditional.content == convert(simplified.content), typed
        else:
            assert [a["Url"] for a in traditional.articles] == [f"{BASE_URL}/p/s/{section.key}?script=t"], typed


def test_the_table_of_contents_and_index_show_the_guide(pack: Catalog) -> None:
    renderer = Renderer(pack, BASE_URL)
    toc = renderer.toc()
    assert toc.fits
    head, guide = toc.text.split("【家属须知】\n")
    assert all(f"\n{s.order}. {s.title}\n" in head for s in pack.part(REVIEW_PART))
    assert all(f"{s.order}. {s.title}\n" in guide for s in pack.guide)
    index = renderer.index_page()
    listed = index.split("<h2>家属须知</h2>")[1].split("</ol>")[0]
    assert all(f'<a href="/p/s/{s.key}">{s.title}</a>' in listed for s in pack.guide)
