"""Writing content in the console: an editor drafts a STR03 update with its sources, the checks run as they type
(htmx) and block a cure promise, a reviewer other than the author approves it and it is live; history, diff and
rollback per item."""

from __future__ import annotations

import re

from sqlalchemy import select

from posts.live import catalog_from_db
from posts.models import ContentItem
from posts.revisions import ContentRevision
from tests.console.conftest import Site, csrf_of

BODY = (
    "**发生了什么：** 2026年11月20日，尼普洛公司在新闻稿中介绍了STR03 II期试验的入组情况[1]。\n\n"
    "**这不意味着：** 已有疗效结论。试验尚无结果。"
)


def form(csrf: str, body: str = BODY, **extra: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "therapy": "str03",
        "date": "2026-11-20",
        "slug": "enrolment-update",
        "title": "STR03 II期试验入组进展",
        "body": body,
        "source1_url": "https://www.nipro.co.jp/news/2026-11-20-str03",
        "source1_title": "尼普洛新闻稿：STR03入组进展",
        "source1_publisher": "尼普洛株式会社",
        "source1_date": "2026-11-20",
        "source1_kind": "company",
        "phase": "II期",
        "status": "",
        "reviewed_by": "本号编辑部",
        "reviewed_on": "2026-12-01",
        "next_review": "2027-03-01",
        **extra,
    }


def revision_id(location: str) -> int:
    found = re.search(r"/content/revisions/(\d+)", location)
    assert found, location
    return int(found.group(1))


def test_checks_run_as_the_editor_types_and_block_a_cure_promise(site: Site) -> None:
    editor = site.signed_in("editor1")
    page = editor.get("/content/new?therapy=str03")
    assert page.status_code == 200 and 'hx-post="/content/check"' in page.text
    csrf = csrf_of(page.text)
    good = editor.post("/content/check", data=form(csrf))
    assert good.status_code == 200 and "检查通过" in good.text and "STR03 II期试验入组进展" in good.text
    assert "本号内容仅供科普" in good.text  # the preview ends with the disclaimer
    bad = editor.post("/content/check", data=form(csrf, body="STR03一针见效[1]。"))
    assert "一针见效" in bad.text and "不能提交审核" in bad.text
    refused = editor.post("/content/new", data=form(csrf, body="STR03一针见效[1]。", then="submit"))
    assert refused.status_code == 400
    with site.sessions() as db:
        assert db.scalars(select(ContentRevision)).all() == []


def test_editor_drafts_reviewer_approves_and_it_is_live(site: Site) -> None:
    editor = site.signed_in("editor1")
    csrf = csrf_of(editor.get("/content/new").text)
    made = editor.post("/content/new", data=form(csrf, then="submit"))
    assert made.status_code == 303, made.text
    rid = revision_id(made.headers["location"])
    page = editor.get(f"/content/revisions/{rid}")
    assert "待审核" in page.text and "需要另一位审核人批准" in page.text
    own = editor.post(f"/content/revisions/{rid}/approve", data={"csrf": csrf})
    assert own.status_code == 403
    reviewer = site.signed_in("reviewer1")
    rcsrf = csrf_of(reviewer.get(f"/content/revisions/{rid}").text)
    approved = reviewer.post(f"/content/revisions/{rid}/approve", data={"csrf": rcsrf})
    assert approved.status_code == 303
    shown = editor.get(f"/content/revisions/{rid}")
    assert "已上线" in shown.text and "用它写一条推送" in shown.text
    with site.sessions() as db:
        therapy = catalog_from_db(db).therapy("str03")
        assert therapy is not None and therapy.latest is not None
        assert therapy.latest.key == "2026-11-20-enrolment-update"
        assert db.scalar(select(ContentItem).where(ContentItem.kind == "update")).origin == "operator"  # type: ignore[union-attr]
    compose = site.signed_in("editor2").get("/compose")
    assert "update:str03/2026-11-20-enrolment-update" in compose.text  # the console offers it at once
    listing = reviewer.get("/content")
    assert "后台撰写" in listing.text


def test_history_diff_return_and_rollback(site: Site) -> None:
    editor = site.signed_in("editor1")
    reviewer = site.signed_in("reviewer1")
    csrf = csrf_of(editor.get("/content/new").text)
    rcsrf = csrf_of(reviewer.get("/content").text)
    first = revision_id(editor.post("/content/new", data=form(csrf, then="submit")).headers["location"])
    reviewer.post(f"/content/revisions/{first}/approve", data={"csrf": rcsrf})
    second = revision_id(
        editor.post("/content/new", data=form(csrf, title="STR03 II期试验入组进展（更正）", then="submit")).headers[
            "location"
        ]
    )
    no_reason = reviewer.post(f"/content/revisions/{second}/return", data={"csrf": rcsrf})
    assert no_reason.status_code == 409
    assert (
        reviewer.post(f"/content/revisions/{second}/return", data={"csrf": rcsrf, "comment": "标题再短些"}).status_code
        == 303
    )
    page = editor.get(f"/content/revisions/{second}")
    assert "已退回" in page.text and "标题再短些" in page.text
    assert "+title: STR03 II期试验入组进展（更正）" in page.text and "-title: STR03 II期试验入组进展" in page.text
    assert editor.post(f"/content/revisions/{second}/submit", data={"csrf": csrf}).status_code == 303
    reviewer.post(f"/content/revisions/{second}/approve", data={"csrf": rcsrf})
    back = editor.post(f"/content/revisions/{first}/rollback", data={"csrf": csrf})
    assert back.status_code == 303
    third = revision_id(back.headers["location"])
    assert reviewer.post(f"/content/revisions/{third}/approve", data={"csrf": rcsrf}).status_code == 303
    with site.sessions() as db:
        therapy = catalog_from_db(db).therapy("str03")
        assert therapy is not None and therapy.latest is not None
        assert therapy.latest.title == "STR03 II期试验入组进展"
        states = [r.status for r in db.scalars(select(ContentRevision).order_by(ContentRevision.number))]
        assert states == ["replaced", "replaced", "live"]


def test_a_sender_cannot_write_and_a_form_without_csrf_is_refused(site: Site) -> None:
    sender = site.signed_in("sender1")
    assert sender.get("/content/new").status_code == 403
    csrf = csrf_of(sender.get("/content").text)
    assert sender.post("/content/new", data=form(csrf)).status_code == 403
    editor = site.signed_in("editor1")
    assert editor.post("/content/new", data={k: v for k, v in form("x").items() if k != "csrf"}).status_code == 403


def test_a_shipped_update_is_changed_in_the_browser_and_a_sync_keeps_the_change(site: Site) -> None:
    from posts.content_sync import sync_catalog
    from posts.loader import default_content_dir, load_catalog

    editor = site.signed_in("editor1")
    assert "/content/new?kind=update&amp;from=str03/2025-07-24-phase2-news" in editor.get("/content").text
    page = editor.get("/content/new?from=str03/2025-07-24-phase2-news")
    assert "STR03 II期安慰剂对照试验进展" in page.text and 'value="phase2-news"' in page.text
    values = dict(re.findall(r'<input id="[^"]+" name="([^"]+)" value="([^"]*)"', page.text))
    body = re.search(r'<textarea id="body" name="body"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert body and "[1]" in body.group(1)  # the shipped [7] is the form's source 1
    values.update(
        csrf=csrf_of(page.text),
        therapy="str03",
        title="STR03 II期安慰剂对照试验进展（已核对）",
        body=body.group(1).replace("&#34;", '"'),
        source1_kind="company",
        then="submit",
    )
    made = editor.post("/content/new", data=values)
    assert made.status_code == 303, made.text[made.text.find("<main") :][:1500]
    rid = revision_id(made.headers["location"])
    reviewer = site.signed_in("reviewer1")
    rcsrf = csrf_of(reviewer.get(f"/content/revisions/{rid}").text)
    assert reviewer.post(f"/content/revisions/{rid}/approve", data={"csrf": rcsrf}).status_code == 303
    catalog, _ = load_catalog(default_content_dir())
    with site.sessions() as db:
        sync_catalog(db, catalog, site.clock())  # `wxbot content reload` of the shipped pack
        db.commit()
        update = catalog_from_db(db).update("str03", "2025-07-24-phase2-news")
        assert update is not None and update.title == "STR03 II期安慰剂对照试验进展（已核对）"
        assert "[7]" in update.body and update.sources == (7,)
