"""Sections, welcomes and keyword replies written in the console: the content list by kind with 新建/编辑, the checks
as the editor types (findings next to their fields, swapped in out of band), review by another, and going live."""

from __future__ import annotations

import html
import re

from posts.live import catalog_from_db
from tests.console.conftest import Site, csrf_of


def revision_id(location: str) -> int:
    found = re.search(r"/content/revisions/(\d+)", location)
    assert found, location
    return int(found.group(1))


def approve(site: Site, rid: int) -> None:
    reviewer = site.signed_in("reviewer1")
    page = reviewer.get(f"/content/revisions/{rid}")
    assert page.status_code == 200 and 'id="approve"' in page.text
    done = reviewer.post(f"/content/revisions/{rid}/approve", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303 and "done=content_live" in done.headers["location"]


def test_the_content_list_offers_each_kind(site: Site) -> None:
    page = site.signed_in("editor1").get("/content").text
    for name, words in (("update", "疗法进展"), ("section", "章节"), ("welcome", "欢迎语"), ("keyword", "关键词回复")):
        assert f'<h2 id="kind-{name}">{words}</h2>' in page
    assert 'id="new-section"' in page and 'id="new-keyword"' in page and 'id="new-update"' in page
    assert 'id="new-welcome"' not in page  # a welcome follows its QR scene: changed, not created here
    assert "/content/new?kind=welcome&amp;from=clinic-poster" in page
    assert "/content/new?kind=keyword&amp;from=exact%3A%E4%BD%A0%E5%A5%BD" in page  # exact:你好
    assert "/content/new?kind=section&amp;from=scams" in page
    assert "from=references" not in page  # a generated section is not written here


def test_a_keyword_reply_is_written_reviewed_and_live(site: Site) -> None:
    editor = site.signed_in("editor1")
    page = editor.get("/content/new?kind=keyword")
    assert page.status_code == 200 and 'name="patterns"' in page.text
    csrf = csrf_of(page.text)
    typed = {"csrf": csrf, "kind": "keyword", "match": "exact", "patterns": "失眠\n帮助", "reply": "失眠请告诉医生。"}
    checks = editor.post("/content/check", data={**typed, "source_rows": "0"})
    assert checks.status_code == 200
    text = html.unescape(checks.text)
    assert "关注者发“帮助”时，会先被另一条规则回答" in text  # the bot's help command takes it first
    assert 'id="err-patterns" hx-swap-oob="true"' in checks.text  # shown next to the keywords, as one types
    refused = editor.post("/content/new", data={**typed, "then": "submit"})
    assert refused.status_code == 400 and "帮助" in html.unescape(refused.text)

    good = {**typed, "patterns": "失眠\n睡不着", "then": "submit"}
    checks = editor.post("/content/check", data=good)
    assert "检查通过" in checks.text and "失眠请告诉医生。" in checks.text and "不构成诊断或治疗建议" in checks.text
    made = editor.post("/content/new", data=good)
    assert made.status_code == 303 and "done=content_submitted" in made.headers["location"]
    rid = revision_id(made.headers["location"])
    own = editor.get(f"/content/revisions/{rid}").text
    assert "需要另一位审核人批准" in own and 'id="approve"' not in own
    approve(site, rid)
    assert site.console.catalog.match_keyword("睡不着").reply == "失眠请告诉医生。"  # type: ignore[union-attr]
    with site.sessions() as db:
        rule = catalog_from_db(db).match_keyword("失眠")
        assert rule is not None and rule.key == "exact:失眠" and rule.reply == "失眠请告诉医生。"
    listed = editor.get("/content").text
    assert "失眠 / 睡不着" in listed and "后台撰写" in listed


def test_a_new_keyword_with_a_taken_first_word_is_sent_to_the_rule_that_has_it(site: Site) -> None:
    editor = site.signed_in("editor1")
    csrf = csrf_of(editor.get("/content/new?kind=keyword").text)
    made = editor.post("/content/new", data={"csrf": csrf, "kind": "keyword", "match": "exact", "patterns": "你好",
                                              "reply": "您好。", "then": "draft"})  # fmt: skip
    assert made.status_code == 400 and "已经有一条以“你好”开头的关键词回复了" in html.unescape(made.text)


def test_a_welcome_is_changed_and_its_scene_gets_it(site: Site) -> None:
    editor = site.signed_in("editor1")
    assert editor.get("/content/new?kind=welcome").status_code == 404  # no new welcomes
    page = editor.get("/content/new?kind=welcome&from=clinic-poster")
    assert page.status_code == 200 and "欢迎您，来自诊室的朋友" in page.text
    body = re.search(r'<textarea id="body" name="body"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert body
    values = dict(re.findall(r'<input (?:type="hidden" )?(?:id="[^"]+" )?name="([^"]+)" value="([^"]*)"', page.text))
    values.update(body=html.unescape(body.group(1)) + "\n\n候诊时有问题，也可以把它记下来带进诊室。", then="submit")
    cured = {**values, "body": values["body"] + "这种疗法包治百病。"}
    checks = editor.post("/content/check", data=cured)
    assert "包治百病" in html.unescape(checks.text) and "不能提交审核" in checks.text
    made = editor.post("/content/new", data=values)
    assert made.status_code == 303, made.text[:2000]
    approve(site, revision_id(made.headers["location"]))
    welcome = site.console.catalog.welcome_for("clinic-poster")
    assert welcome is not None and welcome.body.endswith("带进诊室。")


def test_a_new_guide_section_is_written_with_its_source_and_an_existing_one_changed(site: Site) -> None:
    editor = site.signed_in("editor1")
    page = editor.get("/content/new?kind=section&part=guide")
    assert page.status_code == 200 and 'value="21"' in page.text  # the next free number
    csrf = csrf_of(page.text)
    values = {
        "csrf": csrf, "kind": "section", "part": "guide", "order": "13", "key": "Home Care", "title": "居家照护",
        "summary": "在家里照顾渐冻症家人的要点。", "body": "翻身和防止压疮很重要[1]。", "updated": "2026-12-01",
        "source1_url": "https://www.example.org/als-home-care", "source1_title": "渐冻症居家照护指南",
        "source1_publisher": "示例病友组织", "source1_date": "2026-10", "source1_kind": "news",
        "reviewed_by": "本号编辑部", "reviewed_on": "2026-12-01", "next_review": "2027-03-01", "then": "submit",
    }  # fmt: skip
    refused = editor.post("/content/new", data=values)
    text = html.unescape(refused.text)
    assert refused.status_code == 400
    assert 'id="err-key"' in refused.text and "请填写名称" in text  # next to the field
    assert "序号 13 已经是" in text
    made = editor.post("/content/new", data={**values, "key": "home-care", "order": "21"})
    assert made.status_code == 303, html.unescape(made.text)[:3000]
    approve(site, revision_id(made.headers["location"]))
    catalog = site.console.catalog
    section = catalog.section("home-care")
    assert section is not None and section.part == "guide" and section.group == "guide"
    assert section.sources == (1001,) and "[1001]" in section.body
    assert catalog.references[1001].publisher == "示例病友组织"
    assert catalog.section_by_number(len(catalog.sections)) == section  # last in the table of contents

    page = editor.get("/content/new?kind=section&from=scams")
    assert page.status_code == 200 and "警惕骗局" in page.text and "readonly" in page.text
