"""Content written in the console: revisions, approval by someone else, going live, surviving a sync of the pack,
and the export back to pack files (`wxbot content export`) that `wxbot content check` accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from posts import revisions
from posts.content_sync import sync_catalog
from posts.db import session_scope
from posts.live import catalog_from_db, current_version
from posts.loader import default_content_dir, load_catalog
from posts.models import ContentItem, TherapyUpdate
from posts.operators import AuditEntry
from posts.packwrite import export_pack
from posts.render import Renderer
from posts.revisions import Draft, RevisionError, Source
from wxbot.cli import app

REAL = default_content_dir()
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
NIPRO = "https://www.nipro.co.jp/news/2026-11-20-str03"
JRCT = "https://jrct.mhlw.go.jp/latest-detail/jRCT2033240715"


def str03_draft(body: str | None = None) -> Draft:
    return Draft(
        therapy="str03",
        date="2026-11-20",
        slug="enrolment-update",
        title="STR03 II期试验入组进展",
        body=body
        or (
            "**发生了什么：** 2026年11月20日，尼普洛公司在新闻稿中介绍了STR03 II期试验的入组情况[1]，"
            "登记信息见日本jRCT[2]。\n\n**这不意味着：** 已有疗效结论。试验尚无结果。"
        ),
        sources=[
            Source(NIPRO, "尼普洛新闻稿：STR03入组进展", "尼普洛株式会社", "2026-11-20", "company"),
            Source(JRCT, "jRCT登记信息", "日本临床试验登记", "2025-03-04", "registry"),
        ],
        phase="II期",
        status="II期试验入组中，尚无结果。",
        reviewed_by="本号编辑部",
        reviewed_on="2026-12-01",
        next_review="2027-03-01",
    )


@pytest.fixture
def loaded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    catalog, problems = load_catalog(REAL)
    assert problems == []
    with session_scope(sessions) as session:
        sync_catalog(session, catalog, NOW)
    return sessions


def live(sessions: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    with sessions() as session:
        return catalog_from_db(session)


def publish_str03(sessions: sessionmaker[Session]) -> None:
    catalog = live(sessions)
    with session_scope(sessions) as session:
        rev = revisions.save_draft(session, str03_draft(), "editor1", NOW)
        checked = revisions.check(Draft.from_data(rev.data), catalog, TODAY, REAL)
        revisions.submit(session, rev, "editor1", checked, NOW)
        revisions.approve(session, rev, "reviewer1", checked, NOW)


def test_a_clean_draft_passes_the_checks_and_cites_global_references(loaded: sessionmaker[Session]) -> None:
    checked = revisions.check(str03_draft(), live(loaded), TODAY, REAL)
    assert checked.errors == []
    assert checked.update is not None
    jrct = next(r.id for r in live(loaded).references.values() if r.url.endswith("jRCT2033240715"))
    assert [r.id for r in checked.references] == [1001]  # a source the pack already has keeps its number
    assert checked.update.sources == (1001, jrct)
    assert "[1001]" in checked.update.body and f"[{jrct}]" in checked.update.body
    text = Renderer(checked.catalog, "https://example.org").update("str03", checked.update.key).text  # type: ignore[arg-type]
    assert "入组进展" in text and "[1001]" in text and "2026-11-20" in text


def test_the_linter_blocks_a_cure_promise(loaded: sessionmaker[Session]) -> None:
    checked = revisions.check(str03_draft("这种干细胞一针见效[1]，请尽快参加[2]。"), live(loaded), TODAY, REAL)
    assert not checked.ok
    assert any("一针见效" in e.detail and e.code == "pack" for e in checked.errors), checked.errors
    with session_scope(loaded) as session:
        rev = revisions.save_draft(session, checked.draft, "editor1", NOW)
        with pytest.raises(RevisionError) as refused:
            revisions.submit(session, rev, "editor1", checked, NOW)
        assert refused.value.code == "checks_failed"


def test_form_problems_are_named(loaded: sessionmaker[Session]) -> None:
    draft = str03_draft("一句话引用了不存在的来源[3]。")
    draft.sources[1].kind = "blog"
    draft.slug = "Bad Slug"
    checked = revisions.check(draft, live(loaded), TODAY, REAL)
    joined = " | ".join(map(str, checked.errors))
    assert "slug" in joined and "source 2: pick what kind" in joined and "cites [3]" in joined


def test_nobody_approves_their_own_revision(loaded: sessionmaker[Session]) -> None:
    catalog = live(loaded)
    with session_scope(loaded) as session:
        rev = revisions.save_draft(session, str03_draft(), "editor1", NOW)
        checked = revisions.check(str03_draft(), catalog, TODAY, REAL)
        with pytest.raises(RevisionError):
            revisions.approve(session, rev, "reviewer1", checked, NOW)  # not yet in review
        revisions.submit(session, rev, "editor1", checked, NOW)
        with pytest.raises(RevisionError) as refused:
            revisions.approve(session, rev, "editor1", checked, NOW)
        assert refused.value.code == "own_revision"


def test_approval_makes_it_live_for_every_process(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        before = current_version(session)
    publish_str03(loaded)
    with loaded() as session:
        assert current_version(session) == before + 1
        row = session.scalar(select(ContentItem).where(ContentItem.kind == "update"))
        assert row is not None and row.origin == "operator" and row.key == "str03/2026-11-20-enrolment-update"
        assert session.scalar(select(TherapyUpdate).where(TherapyUpdate.key == "2026-11-20-enrolment-update"))
        actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions[-3:] == ["content-draft", "content-submit", "content-approve"]
    catalog = live(loaded)
    therapy = catalog.therapy("str03")
    assert therapy is not None and therapy.latest is not None
    assert therapy.latest.key == "2026-11-20-enrolment-update"
    assert therapy.phase == "II期" and therapy.status == "II期试验入组中，尚无结果。"
    assert catalog.references[1001].kind == "company"


def test_a_sync_or_reload_of_the_pack_keeps_what_operators_wrote(loaded: sessionmaker[Session]) -> None:
    publish_str03(loaded)
    catalog, _ = load_catalog(REAL)
    with session_scope(loaded) as session:
        result = sync_catalog(session, catalog, NOW)  # a restart, or `wxbot content reload`
    assert result.kept >= 3 and result.removed == 0
    after = live(loaded)
    therapy = after.therapy("str03")
    assert therapy is not None and therapy.latest is not None and therapy.latest.key == "2026-11-20-enrolment-update"
    assert 1001 in after.references
    with loaded() as session:
        assert session.scalar(select(TherapyUpdate).where(TherapyUpdate.key == "2026-11-20-enrolment-update"))


def test_a_restart_serves_what_operators_wrote(tmp_path: Path) -> None:
    from posts.settings import Settings, replace
    from wxbot import runtime

    settings = replace(Settings(), database={"url": f"sqlite:///{tmp_path / 'restart.db'}"})
    first = runtime.start(settings)
    try:
        publish_str03(first.sessions)
    finally:
        first.close()
    again = runtime.start(settings)  # the processes start again: sync the pack, serve the database's catalog
    try:
        therapy = again.catalog.therapy("str03")
        assert therapy is not None and therapy.latest is not None
        assert therapy.latest.key == "2026-11-20-enrolment-update"
        assert "入组进展" in again.renderer.update("str03", "2026-11-20-enrolment-update").text
    finally:
        again.close()


def test_history_diff_and_rollback(loaded: sessionmaker[Session]) -> None:
    publish_str03(loaded)
    catalog = live(loaded)
    second = str03_draft()
    second.title = "STR03 II期试验入组进展（更正）"
    with session_scope(loaded) as session:
        rev = revisions.save_draft(session, second, "editor2", NOW)
        checked = revisions.check(second, catalog, TODAY, REAL)
        revisions.submit(session, rev, "editor2", checked, NOW)
        revisions.approve(session, rev, "reviewer1", checked, NOW)
    with session_scope(loaded) as session:
        first, *_ = revisions.history(session, "update", second.item_key)[::-1]
        newest = revisions.history(session, "update", second.item_key)[0]
        assert [r.status for r in revisions.history(session, "update", second.item_key)] == ["live", "replaced"]
        lines = revisions.diff(first, newest)
        assert any(line.startswith("+title: STR03 II期试验入组进展（更正）") for line in lines)
        assert any(line.startswith("-title: STR03 II期试验入组进展") for line in lines)
        back = revisions.rollback(session, first, "editor1", NOW)
        assert back.status == "in_review" and back.based_on == first.id and back.title == first.title
        checked = revisions.check(Draft.from_data(back.data), live(loaded), TODAY, REAL)
        revisions.approve(session, back, "reviewer1", checked, NOW)
    therapy = live(loaded).therapy("str03")
    assert therapy is not None and therapy.latest is not None and therapy.latest.title == "STR03 II期试验入组进展"


def test_export_round_trip_is_checked_whole(loaded: sessionmaker[Session], tmp_path: Path) -> None:
    publish_str03(loaded)
    catalog = live(loaded)
    export_pack(catalog, tmp_path / "pack", menu_from=REAL)
    again, problems = load_catalog(tmp_path / "pack")
    assert problems == []
    assert again == catalog
    written = (tmp_path / "pack" / "updates/str03/2026-11-20-enrolment-update.md").read_text(encoding="utf-8")
    assert "[1001]" in written and "kind: company" in (tmp_path / "pack" / "references.yaml").read_text("utf-8")


def test_the_shipped_pack_round_trips(tmp_path: Path) -> None:
    catalog, _ = load_catalog(REAL)
    export_pack(catalog, tmp_path, menu_from=REAL)
    assert load_catalog(tmp_path) == (catalog, [])


def test_cli_export_then_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WXBOT_CONFIG", raising=False)
    monkeypatch.setenv("WXBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    empty = runner.invoke(app, ["content", "export", str(tmp_path / "none")])
    assert empty.exit_code != 0 and "no content yet" in empty.output + str(empty.stderr_bytes or b"", "utf-8")
    assert runner.invoke(app, ["content", "reload"]).exit_code == 0
    result = runner.invoke(app, ["content", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "exported content version" in result.output
    checked = runner.invoke(app, ["content", "check", "--path", str(tmp_path / "out"), "--today", "2026-12-01"])
    assert checked.exit_code == 0, checked.output
    assert "content pack OK" in checked.output
