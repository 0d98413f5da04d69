"""Sections, welcomes and keyword replies written in the console (posts/content_kinds.py): each kind's checks,
going live as operator items, surviving a sync of the pack, history and rollback, and the export back to pack files
that `wxbot content check` accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from posts import revisions
from posts.catalog import Catalog
from posts.content_kinds import KeywordDraft, SectionDraft
from posts.content_sync import sync_catalog
from posts.db import session_scope
from posts.live import catalog_from_db
from posts.loader import default_content_dir, load_catalog
from posts.models import ContentItem
from posts.packwrite import export_pack
from posts.revisions import RevisionError, Source
from wxbot.cli import app
from wxbot.consoleapp import router

REAL = default_content_dir()
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
HOME_CARE_URL = "https://www.example.org/als-home-care"


@pytest.fixture
def loaded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    catalog, problems = load_catalog(REAL)
    assert problems == []
    with session_scope(sessions) as session:
        sync_catalog(session, catalog, NOW)
    return sessions


def live(sessions: sessionmaker[Session]) -> Catalog:
    with sessions() as session:
        return catalog_from_db(session)


def go_live(sessions: sessionmaker[Session], draft: Any, author: str = "editor1") -> revisions.ContentRevision:
    catalog = live(sessions)
    with session_scope(sessions) as session:
        rev = revisions.save_draft(session, draft, author, NOW)
        checked = revisions.check(revisions.draft_from(rev), catalog, TODAY, REAL, router)
        assert checked.errors == []
        revisions.submit(session, rev, author, checked, NOW)
        revisions.approve(session, rev, "reviewer1", checked, NOW)
        session.expunge(rev)
    return rev


def home_care(**changes: str) -> SectionDraft:
    draft = SectionDraft(
        key="home-care",
        part="guide",
        order="21",
        title="居家照护：翻身、吞咽和呼吸",
        summary="在家照顾渐冻症家人的几件要紧事，以及什么时候该去医院。",
        body="**翻身：** 每两小时帮家人翻一次身，可以减少压疮[1]。\n\n**吞咽：** 呛咳变多时，请告诉医生[1]。",
        sources=[Source(HOME_CARE_URL, "渐冻症居家照护指南", "示例病友组织", "2026-10", "news")],
        updated="2026-12-01",
        reviewed_by="本号编辑部",
        reviewed_on="2026-12-01",
        next_review="2027-03-01",
    )
    for name, value in changes.items():
        setattr(draft, name, value)
    return draft


# -- sections ---------------------------------------------------------------------------------------------------


def test_a_live_section_round_trips_through_its_form(loaded: sessionmaker[Session]) -> None:
    catalog = live(loaded)
    kind = revisions.kind_of("section")
    for section in catalog.sections:
        draft = kind.of(catalog, section.key)
        if section.body_from:
            assert draft is None  # the references and the disclaimer are generated, not written here
            continue
        checked = kind.build(draft, catalog)
        assert checked.errors == [] and checked.item == section, section.key


def test_a_new_section_is_checked_field_by_field(loaded: sessionmaker[Session]) -> None:
    catalog = live(loaded)
    checked = revisions.check(home_care(key="Home Care", order="16", summary=""), catalog, TODAY, REAL)
    fields = {f.field: f.code for f in checked.errors}
    assert fields == {"key": "key", "order": "order_taken", "summary": "summary"}
    cure = revisions.check(home_care(body="干细胞可以根治渐冻症[1]。"), catalog, TODAY, REAL)
    assert any(f.code == "pack" and "cure" in f.detail for f in cure.errors), cure.errors
    taken = revisions.check(home_care(key="scams", order="21"), catalog, TODAY, REAL)
    assert [f.code for f in taken.errors] == ["key_taken"]
    assert revisions.check(home_care(), catalog, TODAY, REAL).errors == []


def test_a_new_section_goes_live_and_a_sync_keeps_it(loaded: sessionmaker[Session]) -> None:
    go_live(loaded, home_care())
    catalog = live(loaded)
    section = catalog.section("home-care")
    assert section is not None and section.group == "guide" and catalog.sections[-1] == section
    assert section.sources == (1001,) and catalog.references[1001].url == "https://www.example.org/als-home-care"
    pack, _ = load_catalog(REAL)
    with session_scope(loaded) as session:
        result = sync_catalog(session, pack, NOW)
    assert result.removed == 0 and live(loaded).section("home-care") == section
    with loaded() as session:
        row = session.scalar(select(ContentItem).where(ContentItem.kind == "section", ContentItem.key == "home-care"))
        assert row is not None and row.origin == "operator" and row.path == "guide/21-home-care.md"


def test_a_shipped_section_changed_keeps_its_references_and_its_place(loaded: sessionmaker[Session]) -> None:
    draft = revisions.kind_of("section").of(live(loaded), "scams")
    assert draft is not None and draft.body.count("[1]") >= 1 and len(draft.sources) == 2
    draft.body += "\n\n遇到可疑的“治疗”，先别交钱，和主治医生商量[2]。"
    go_live(loaded, draft)
    section = live(loaded).section("scams")
    assert section is not None and section.order == 16 and section.sources == (18, 19)
    assert section.body.endswith("和主治医生商量[19]。")


# -- welcomes ---------------------------------------------------------------------------------------------------


def test_a_welcome_is_checked_and_only_an_existing_one_is_written(loaded: sessionmaker[Session]) -> None:
    catalog = live(loaded)
    kind = revisions.kind_of("welcome")
    assert not kind.can_create
    draft = kind.blank(catalog, TODAY, "编辑一", {"key": "no-such-scene"})
    draft.title, draft.body = "欢迎", "您好。"
    assert [f.code for f in revisions.check(draft, catalog, TODAY, REAL).errors] == ["key"]
    nurown = kind.of(catalog, "nurown")
    assert nurown is not None
    nurown.body += "\n\nNurOwn 一针见效。"
    assert any("一针见效" in f.detail for f in revisions.check(nurown, catalog, TODAY, REAL).errors)
    nurown.body = nurown.body.replace("NurOwn 一针见效。", "有新进展时我们会第一时间告诉您。")
    nurown.next_review = nurown.reviewed_on
    assert [f.field for f in revisions.check(nurown, catalog, TODAY, REAL).errors] == ["review"]


# -- keyword replies --------------------------------------------------------------------------------------------


def test_a_keyword_must_reach_its_reply(loaded: sessionmaker[Session]) -> None:
    catalog = live(loaded)
    draft = KeywordDraft(match="exact", patterns="失眠、帮助\n喘不上气\n费用\n3", reply="睡不好请告诉医生。")
    checked = revisions.check(draft, catalog, TODAY, REAL, router)
    taken = {f.text: f.detail for f in checked.errors if f.code == "taken"}
    assert set(taken) == {"帮助", "喘不上气", "费用", "3"}  # a command, an urgent word, a guide keyword, a number
    assert "urgent:" in taken["喘不上气"] and "section:cost-and-access" in taken["费用"]
    without = revisions.check(draft, catalog, TODAY, REAL)  # no router: the urgent words and the rules' order
    assert {f.text for f in without.errors if f.code == "taken"} >= {"帮助", "喘不上气", "费用"}
    long = revisions.check(KeywordDraft(match="exact", patterns="失眠", reply="长" * 700), catalog, TODAY, REAL)
    assert [f.code for f in long.errors] == ["reply_long"]
    exists = revisions.check(KeywordDraft(match="contains", patterns="联系", reply="请留言"), catalog, TODAY, REAL)
    assert [f.code for f in exists.errors] == ["keyword_exists"]
    pointing = KeywordDraft(key="exact:费用", match="exact", patterns="费用", reply="x")
    assert [f.code for f in revisions.check(pointing, catalog, TODAY, REAL).errors] == ["not_reply"]


def test_dropping_a_keyword_an_intent_relies_on_is_caught_in_questions_yaml(loaded: sessionmaker[Session]) -> None:
    catalog = live(loaded)
    draft = revisions.kind_of("keyword").of(catalog, "contains:治愈")
    assert draft is not None
    draft.patterns = "根治"  # questions.yaml's intent answers as the keyword 治愈 does
    checked = revisions.check(draft, catalog, TODAY, REAL, router)
    assert any(f.code == "pack" and "治愈" in f.detail for f in checked.errors), checked.errors


def test_keyword_history_diff_and_rollback(loaded: sessionmaker[Session]) -> None:
    first = go_live(loaded, KeywordDraft(match="exact", patterns="失眠", reply="睡不好请告诉医生。"))
    second = KeywordDraft(key="exact:失眠", match="exact", patterns="失眠\n睡不着", reply="睡不好请告诉神经科医生。")
    go_live(loaded, second, author="editor2")
    assert live(loaded).match_keyword("睡不着").reply == "睡不好请告诉神经科医生。"  # type: ignore[union-attr]
    with session_scope(loaded) as session:
        newest, older = revisions.history(session, "keyword", "exact:失眠")
        assert (newest.status, older.status) == ("live", "replaced")
        lines = revisions.diff(older, newest)
        assert "+reply: 睡不好请告诉神经科医生。" in lines and "-reply: 睡不好请告诉医生。" in lines
        back = revisions.rollback(session, older, "editor2", NOW)
        assert back.status == "in_review" and back.based_on == first.id
        with pytest.raises(RevisionError):
            revisions.save_draft(session, KeywordDraft(key="exact:别的", patterns="别的", reply="x"), "editor2",
                                 NOW, back)  # fmt: skip
        checked = revisions.check(revisions.draft_from(back), live(loaded), TODAY, REAL, router)
        revisions.approve(session, back, "reviewer1", checked, NOW)
    catalog = live(loaded)
    assert catalog.match_keyword("失眠").reply == "睡不好请告诉医生。"  # type: ignore[union-attr]
    assert catalog.match_keyword("睡不着") is None


# -- all of them, written back as pack files --------------------------------------------------------------------


def test_export_then_check_reads_every_kind(loaded: sessionmaker[Session], tmp_path: Path) -> None:
    go_live(loaded, home_care())
    welcome = revisions.kind_of("welcome").of(live(loaded), "default")
    assert welcome is not None
    welcome.body = welcome.body.replace("欢迎关注！", "欢迎关注，很高兴认识您！")
    go_live(loaded, welcome)
    go_live(loaded, KeywordDraft(match="contains", patterns="失眠", reply="睡不好请告诉医生。"))
    catalog = live(loaded)
    export_pack(catalog, tmp_path / "pack", menu_from=REAL)
    again, problems = load_catalog(tmp_path / "pack")
    assert problems == [] and again == catalog
    assert (tmp_path / "pack/guide/21-home-care.md").is_file()
    assert "key: contains:失眠" in (tmp_path / "pack/keywords.yaml").read_text(encoding="utf-8")
    assert "很高兴认识您" in (tmp_path / "pack/welcome/default.md").read_text(encoding="utf-8")
    with session_scope(loaded) as session:
        result = sync_catalog(session, again, NOW)  # the exported files become the pack: nothing doubles
    assert result.removed == 0 and live(loaded) == catalog
    checked = CliRunner().invoke(app, ["content", "check", "--path", str(tmp_path / "pack"), "--today", "2026-12-01"])
    assert checked.exit_code == 0, checked.output
    assert "content pack OK" in checked.output and "21 sections" in checked.output
