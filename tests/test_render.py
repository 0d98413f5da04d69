"""The renderer on the shipped pack: text bodies within budget and ending with the disclaimer, well-formed pages."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import pytest

from posts.catalog import Catalog, Reference, Section, Text
from posts.limits import TEXT_REPLY_MAX_BYTES, utf8_len
from posts.loader import default_content_dir, load_catalog
from posts.plaintext import markdown_to_text
from posts.render import SHORT_BODY_MAX_BYTES, Renderer, TextBody

BASE = "https://wx.example.org"
VOID = {"meta", "br", "img", "hr", "link", "input"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    found, problems = load_catalog(default_content_dir())
    assert problems == []
    return found


@pytest.fixture(scope="module")
def renderer(catalog: Catalog) -> Renderer:
    return Renderer(catalog, BASE + "/")


def all_text_bodies(catalog: Catalog, renderer: Renderer) -> dict[str, TextBody]:
    bodies = {f"section:{s.key}": renderer.section(s.key) for s in catalog.sections}
    for key, therapy in catalog.therapies.items():
        bodies[f"therapy:{key}"] = renderer.therapy(key)
        bodies[f"timeline:{key}"] = renderer.timeline(key)
        for update in therapy.updates:
            bodies[f"update:{key}/{update.key}"] = renderer.update(key, update.key)
    bodies |= {f"welcome:{key}": renderer.welcome(key) for key in catalog.welcomes}
    bodies["help"] = renderer.help()
    bodies["toc"] = renderer.toc()
    bodies["subscriptions"] = renderer.subscriptions(["nurown", "str03"])
    bodies["no-subscriptions"] = renderer.subscriptions([])
    return bodies


def all_pages(catalog: Catalog, renderer: Renderer) -> dict[str, str]:
    pages = {"index": renderer.index_page()}
    pages |= {f"section:{s.key}": renderer.section_page(s.key) for s in catalog.sections}
    pages |= {f"group:{g}": renderer.group_page(g) for g in ("research", "clinical")}
    for key, therapy in catalog.therapies.items():
        pages[f"therapy:{key}"] = renderer.therapy_page(key)
        pages |= {f"update:{key}/{u.key}": renderer.update_page(key, u.key) for u in therapy.updates}
    return pages


def test_every_text_body_ends_with_the_disclaimer(catalog: Catalog, renderer: Renderer) -> None:
    assert catalog.disclaimer is not None and catalog.disclaimer.short
    disclaimer = markdown_to_text(catalog.disclaimer.body)
    for name, body in all_text_bodies(catalog, renderer).items():
        closing = catalog.disclaimer.short
        if utf8_len(body.core.strip()) > SHORT_BODY_MAX_BYTES or name == "section:disclaimer":
            closing = disclaimer  # the disclaimer section is the full text itself
        assert body.text.rstrip().endswith(closing), name


def test_one_rule_picks_the_full_or_the_one_line_disclaimer(catalog: Catalog, renderer: Renderer) -> None:
    assert catalog.disclaimer is not None
    short, full = catalog.disclaimer.short, renderer.disclaimer_text
    assert "免责声明" in short and "\n" not in short and len(short) < len(full)
    small, large = "好" * (SHORT_BODY_MAX_BYTES // 3), "好" * (SHORT_BODY_MAX_BYTES // 3 + 1)
    assert renderer.close(small) == f"{small}\n\n——\n{short}"
    assert renderer.close(large) == f"{large}\n\n——\n{full}"
    assert renderer.subscriptions([]).text.rstrip().endswith(short)  # two lines of content: not seven of footer
    assert renderer.welcome("default").text.rstrip().endswith(full)
    extended = renderer.with_extra(renderer.subscriptions([]), "EXTRA")
    assert extended.text.index("EXTRA") < extended.text.index("——") and extended.text.rstrip().endswith(short)


OVERSIZE = {
    "section:references": "/p/s/references",
    **{f"section:{key}": f"/p/s/{key}" for key in ("trials", "care-now", "glossary", "procedure-risks")},
}
"""Bodies that cannot fit one passive reply: the sources' URLs alone exceed 1,600 bytes, so the list goes out
as a link to its page (which lists every source, see test_pages_link_their_sources); four of the family guide's
sections are each one H5 page (the other three, the answers to 费用, 骗局 and 关于我们, fit one reply)."""


def test_text_body_sizes(catalog: Catalog, renderer: Renderer) -> None:
    for name, body in all_text_bodies(catalog, renderer).items():
        assert body.size == utf8_len(body.text), name
        assert body.fits == (body.size <= TEXT_REPLY_MAX_BYTES), name
        if name in OVERSIZE:
            assert not body.fits and body.page_path == OVERSIZE[name], name
        else:  # the rest of the shipped pack fits one passive reply everywhere
            assert body.fits, f"{name} is {body.size} bytes"
        assert "**" not in body.text and "<" not in body.text, name


def test_page_paths_are_stable(catalog: Catalog, renderer: Renderer) -> None:
    assert renderer.section("clinical-nurown").page_path == "/p/s/clinical-nurown"
    assert renderer.therapy("nurown").page_path == "/p/t/nurown"
    assert renderer.timeline("nurown").page_path == "/p/t/nurown"
    assert renderer.update("nurown", "2025-04-10-ind-amendment").page_path == "/p/t/nurown/2025-04-10-ind-amendment"
    assert renderer.toc().page_path == "/p/"
    assert renderer.welcome("default").page_path is None
    assert renderer.page_url("/p/t/nurown") == BASE + "/p/t/nurown"


def test_section_text_keeps_citations_and_lists_sources(renderer: Renderer) -> None:
    text = renderer.section("clinical-nurown").text
    assert text.startswith("5. 美国NurOwn")
    assert "[4]" in text
    assert "[4] BrainStorm Cell Therapeutics（投资者关系新闻稿），2025-04-10" in text
    assert "• A部分（24周）：" in text


def test_numbered_list_kept(renderer: Renderer) -> None:
    text = renderer.section("research-protection").text
    assert "\n1. 释放神经营养因子" in text and "\n3. 改善线粒体功能" in text


def test_toc_numbers_are_section_orders(catalog: Catalog, renderer: Renderer) -> None:
    text = renderer.toc().text
    for section in catalog.sections:
        assert f"\n{section.order}. {section.title}\n" in text
    assert all(t.name in text for t in catalog.therapies.values())


def test_therapy_text_has_overview_and_latest_update(catalog: Catalog, renderer: Renderer) -> None:
    text = renderer.therapy("xs228").text
    latest = catalog.therapies["xs228"].latest
    assert latest is not None and latest.title in text and "2025-09-15" in text
    assert "士泽生物" in text


def test_timeline_lists_every_milestone(catalog: Catalog, renderer: Renderer) -> None:
    text = renderer.timeline("nurown").text
    for milestone in catalog.therapies["nurown"].milestones:
        assert milestone.date in text and milestone.event in text


def test_references_section_lists_all_sources(catalog: Catalog, renderer: Renderer) -> None:
    text = renderer.section("references").text
    for ref in catalog.references.values():
        assert f"[{ref.id}] {ref.publisher}" in text and ref.url in text


class _WellFormed(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.viewport = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta" and ("name", "viewport") in attrs:
            self.viewport = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "style" not in self.stack and "title" not in self.stack:
            self.text.append(data)


def test_pages_are_well_formed_and_end_with_the_disclaimer(catalog: Catalog, renderer: Renderer) -> None:
    assert catalog.disclaimer is not None
    disclaimer = markdown_to_text(catalog.disclaimer.body)
    for name, html in all_pages(catalog, renderer).items():
        assert html.startswith("<!DOCTYPE html>"), name
        parser = _WellFormed()
        parser.feed(html)
        parser.close()
        assert parser.errors == [] and parser.stack == [], name
        assert parser.viewport, name
        assert "".join(parser.text).strip().endswith(disclaimer), name
        assert "http" not in html.split("</style>")[0].split("<style>")[1], f"{name}: external asset in CSS"
        assert "<script" not in html and "<link" not in html, name


@pytest.mark.parametrize("group", ["research", "clinical"])
def test_group_page_lists_each_section_with_its_summary(catalog: Catalog, renderer: Renderer, group: str) -> None:
    sections = catalog.group(group)
    assert len(sections) > 1
    card = renderer.group(group)
    assert card.page_path == f"/p/g/{group}"
    assert card.title == f"年度回顾 第{sections[0].order}–{sections[-1].order}节（共{len(sections)}节）"
    html = renderer.group_page(group)
    assert f"<h1>{card.title}</h1>" in html
    items = html.split('<ol class="toc">')[1].split("</ol>")[0].split("<li ")[1:]
    assert len(items) == len(sections)
    for item, section in zip(items, sections, strict=True):
        assert f'value="{section.order}"><a href="/p/s/{section.key}">{section.title}</a>' in item
        assert section.summary in item
    for section in sections:
        assert f"{section.order}. {section.title}" in card.description


def test_unknown_group_is_a_key_error(renderer: Renderer) -> None:
    with pytest.raises(KeyError):
        renderer.group_page("nosuch")


def test_the_disclaimer_section_shows_the_whole_disclaimer_once(catalog: Catalog, renderer: Renderer) -> None:
    assert catalog.disclaimer is not None
    disclaimer = markdown_to_text(catalog.disclaimer.body)
    assert len(disclaimer) > 50
    section = catalog.section("disclaimer")
    assert section is not None and section.body_from == "disclaimer"
    assert renderer.section("disclaimer").text == f"{section.order}. {section.title}\n\n{disclaimer}\n"
    main = renderer.section_page("disclaimer").split("<main>")[1].split("</main>")[0]
    assert f"<p>{disclaimer}</p>" in main
    assert renderer.section_page("disclaimer").count(disclaimer) == 1


def test_pages_link_their_sources(catalog: Catalog, renderer: Renderer) -> None:
    html = renderer.section_page("clinical-nurown")
    ref = catalog.references[4]
    assert f'href="{ref.url}"' in html
    assert '<a class="cite" href="#ref-4">[4]</a>' in html
    therapy = renderer.therapy_page("nurown")
    assert "/p/t/nurown/2025-04-10-ind-amendment" in therapy
    assert all(m.source in therapy for m in catalog.therapies["nurown"].milestones)
    references = renderer.section_page("references")
    assert all(r.url in references for r in catalog.references.values())
    index = renderer.index_page()
    assert all(f'href="/p/s/{s.key}"' in index for s in catalog.sections)


def test_raw_html_in_content_is_escaped() -> None:
    section = Section(
        key="x",
        order=1,
        title="<b>t</b>",
        summary="s",
        body="hi <script>alert(1)</script> [javascript](javascript:alert(1))",
        sources=(),
        updated=date(2025, 1, 1),
    )
    catalog = Catalog(sections=(section,), disclaimer=Text("disclaimer", "免责声明", "仅供参考。"))
    renderer = Renderer(catalog, BASE)
    html = renderer.section_page("x")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;t&lt;/b&gt;" in html
    assert 'href="javascript:' not in html
    assert renderer.section("x").text.rstrip().endswith("仅供参考。")
    assert "<b>t</b>" in renderer.section("x").text  # text bodies are plain text, never escaped


def test_long_text_does_not_fit() -> None:
    section = Section(
        key="long",
        order=1,
        title="长",
        summary="s",
        body="很长的正文。" * 200,
        sources=(),
        updated=date(2025, 1, 1),
    )
    body = Renderer(Catalog(sections=(section,)), BASE).section("long")
    assert body.size > TEXT_REPLY_MAX_BYTES and not body.fits and body.page_path == "/p/s/long"


def test_unknown_keys_raise_key_error(renderer: Renderer) -> None:
    for call in (
        lambda: renderer.section("nope"),
        lambda: renderer.therapy("nope"),
        lambda: renderer.timeline("nope"),
        lambda: renderer.update("nurown", "nope"),
        lambda: renderer.welcome("nope"),
        lambda: renderer.section_page("nope"),
        lambda: renderer.therapy_page("nope"),
        lambda: renderer.update_page("nope", "x"),
    ):
        with pytest.raises(KeyError):
            call()


def test_render_text_for_free_posts(catalog: Catalog, renderer: Renderer) -> None:
    assert catalog.disclaimer is not None
    body = renderer.render_text("welcome.txt.j2", body="本周没有新进展。")
    assert body.text.startswith("本周没有新进展。") and body.page_path is None
    assert body.text.rstrip().endswith(catalog.disclaimer.short)  # a short body: the one-line form
    assert body.size == utf8_len(body.text)
    assert (
        renderer.render_text("text/welcome.txt.j2", body="x").text
        == renderer.render_text("welcome.txt.j2", body="x").text
    )


def test_reference_dataclass_is_used_for_sources(catalog: Catalog) -> None:
    assert all(isinstance(r, Reference) for r in catalog.references.values())


def test_therapy_and_update_pages_offer_the_notice_only_when_configured(catalog: Catalog) -> None:
    from posts.render import notice_offer

    assert notice_offer(None) is None
    real = Renderer(catalog, BASE, notice_offer=notice_offer("NOTICE_T1"))
    stand_in = Renderer(catalog, BASE, notice_offer=notice_offer("NOTICE_T1", "http://127.0.0.1:8765/"))
    plain = Renderer(catalog, BASE)
    assert catalog.disclaimer is not None
    disclaimer = markdown_to_text(catalog.disclaimer.body)
    pages = {
        "therapy": lambda r: r.therapy_page("nurown"),
        "update": lambda r: r.update_page("nurown", "2025-04-10-ind-amendment"),
    }
    for name, page in pages.items():
        assert "notice-offer" not in page(plain), name
        for renderer in (real, stand_in):
            html = page(renderer)
            parser = _WellFormed()
            parser.feed(html)
            parser.close()
            assert parser.errors == [] and parser.stack == [], name
            assert "".join(parser.text).strip().endswith(disclaimer), name
            assert '<wx-open-subscribe template="NOTICE_T1"' in html and "下次更新时通知我" in html
        assert "/sandbox/notice_popup" not in page(real)
        assert page(real).count("<script") == 1  # only wx-open-subscribe's inert template
        assert 'href="http://127.0.0.1:8765/sandbox/notice_popup?template_id=NOTICE_T1&amp;scene=1"' in page(stand_in)
    text = real.therapy("nurown").text
    assert f"打开 {BASE}/p/t/nurown ，点“下次更新时通知我”" in text
    assert text.strip().endswith(markdown_to_text(catalog.disclaimer.body).strip().splitlines()[-1])
    assert "下次更新时通知我" not in plain.therapy("nurown").text
