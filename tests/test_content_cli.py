"""`wxbot content` commands and the catalog-to-database sync."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from posts.clock import system_clock
from posts.content_sync import sync_catalog
from posts.db import session_scope
from posts.loader import default_content_dir, load_catalog
from posts.models import ContentItem, QrScene, TherapyUpdate
from wxbot.cli import app

REAL = default_content_dir()


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("WXBOT_CONFIG", raising=False)
    monkeypatch.setenv("WXBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(ContentItem)) or 0,
        session.scalar(select(func.count()).select_from(TherapyUpdate)) or 0,
        session.scalar(select(func.count()).select_from(QrScene)) or 0,
    )


# ----- sync ---------------------------------------------------------------------------------------------------


def test_sync_is_idempotent(sessions: sessionmaker[Session]) -> None:
    catalog, problems = load_catalog(REAL)
    assert problems == []
    with session_scope(sessions) as session:
        first = sync_catalog(session, catalog, system_clock())
    with session_scope(sessions) as session:
        after_first = counts(session)
        second = sync_catalog(session, catalog, system_clock())
    with session_scope(sessions) as session:
        assert counts(session) == after_first
    assert first.inserted == sum(after_first)
    assert (second.inserted, second.changed, second.removed) == (0, 0, 0)
    assert first.items == second.items
    assert first.items["section"] == 20 and first.items["therapy"] == 4 and first.items["text"] == 2
    assert first.updates == 5 and first.scenes == len(catalog.scenes)
    assert after_first[1:] == (5, len(catalog.scenes))


def test_sync_rows_carry_the_content(sessions: sessionmaker[Session]) -> None:
    catalog, _ = load_catalog(REAL)
    with session_scope(sessions) as session:
        sync_catalog(session, catalog, system_clock())
    with session_scope(sessions) as session:
        row = session.scalars(select(ContentItem).filter_by(kind="section", key="clinical-nurown")).one()
        assert (row.position, row.path, len(row.checksum)) == (5, "review/05-clinical-nurown.md", 64)
        assert (
            row.data["therapy"] == "nurown" and row.data["sources"] == [4, 8, 9] and row.data["updated"] == "2026-12-01"
        )
        therapy = session.scalars(select(ContentItem).filter_by(kind="therapy", key="nurown")).one()
        assert therapy.data["developer"] == "BrainStorm Cell Therapeutics"
        update = session.scalars(
            select(TherapyUpdate).filter_by(therapy_key="xs228", key="2025-09-15-first-dosing")
        ).one()
        assert update.published_on.isoformat() == "2025-09-15" and update.source_url.startswith("https://")
        scene = session.get(QrScene, "therapy-nurown")
        assert scene is not None and (scene.welcome_key, scene.therapy_key) == ("nurown", "nurown")


def test_sync_updates_and_removes(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    pack = tmp_path / "content"
    shutil.copytree(REAL, pack)
    with session_scope(sessions) as session:
        sync_catalog(session, load_catalog(pack)[0], system_clock())
        session.get(QrScene, "clinic-poster").ticket = "TICKET"  # type: ignore[union-attr]
    (pack / "updates/xs228/2025-06-04-trial-clearances.md").unlink()
    path = pack / "welcome/default.md"
    path.write_text(path.read_text(encoding="utf-8").replace("欢迎关注！", "欢迎您关注！"), encoding="utf-8")
    catalog, problems = load_catalog(pack)
    assert problems == []
    with session_scope(sessions) as session:
        result = sync_catalog(session, catalog, system_clock())
    assert (result.inserted, result.changed, result.removed) == (0, 2, 1)  # welcome + xs228 therapy data; one update
    with session_scope(sessions) as session:
        assert session.scalars(select(TherapyUpdate).filter_by(key="2025-06-04-trial-clearances")).first() is None
        welcome = session.scalars(select(ContentItem).filter_by(kind="welcome", key="default")).one()
        assert "欢迎您关注" in welcome.body
        assert session.get(QrScene, "clinic-poster").ticket == "TICKET"  # type: ignore[union-attr]


# ----- commands -----------------------------------------------------------------------------------------------


def test_check_on_the_real_pack(run: CliRunner) -> None:
    result = run.invoke(app, ["content", "check"])
    assert result.exit_code == 0, result.output
    assert "content pack OK" in result.output and "20 sections, 4 therapies" in result.output


def test_check_reports_every_problem(run: CliRunner, tmp_path: Path) -> None:
    pack = tmp_path / "content"
    shutil.copytree(REAL, pack)
    path = pack / "review/10-outlook.md"
    path.write_text(path.read_text(encoding="utf-8").replace("order: 10", "order: ten"), encoding="utf-8")
    (pack / "help.md").unlink()
    result = run.invoke(app, ["content", "check", "--path", str(pack)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "review/10-outlook.md:3: field 'order' must be an integer, got str" in lines
    assert "help.md:1: missing required text: help.md" in lines
    assert lines[-1].startswith("2 problem(s), 0 warning(s) in ")


def test_check_refuses_a_passive_reply_of_several_articles(
    run: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack whose group menu items would answer one article per section (what followers lost) fails the check."""
    from bot.handlers import Context, menu
    from bot.replies import Article, News

    def one_article_per_section(ctx: Context, prefix: str) -> News:
        return News(tuple(Article(s.title, s.summary, f"/p/s/{s.key}") for s in ctx.catalog.group(prefix)))

    pack = tmp_path / "content"
    shutil.copytree(REAL, pack)
    assert run.invoke(app, ["content", "check", "--path", str(pack)]).exit_code == 0
    monkeypatch.setattr(menu, "group", one_article_per_section)
    result = run.invoke(app, ["content", "check", "--path", str(pack)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    limit = "WeChat shows only 1 of a passive reply (posts/limits.py NEWS_ARTICLES_PER_REPLY)"
    assert f"menu item '基础研究' (CLICK GROUP_RESEARCH) answers with a news reply of 3 articles; {limit}" in lines
    assert f"menu item '临床试验' (CLICK GROUP_CLINICAL) answers with a news reply of 5 articles; {limit}" in lines
    assert f"menu item '全部家属须知' (CLICK GROUP_GUIDE) answers with a news reply of 7 articles; {limit}" in lines
    assert lines[-1].startswith("3 problem(s), 0 warning(s) in ")


def test_preview_prints_the_text_and_its_size(run: CliRunner) -> None:
    result = run.invoke(app, ["content", "preview", "clinical-nurown"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("5. 美国NurOwn")
    assert " / 2048 bytes" in result.output and "page: /p/s/clinical-nurown" in result.output
    assert "will be sent as a link" not in result.output


@pytest.mark.parametrize(
    ("key", "start"),
    [
        ("nurown", "【NurOwn】"),
        ("help", "【使用帮助】"),
        ("toc", "【2025年渐冻症干细胞研究回顾·目录】"),
        ("welcome:default", "您好，欢迎关注！"),
        ("clinic-poster", "您好"),
        ("update:xs228/2025-09-15-first-dosing", "【XS228进展】"),
    ],
)
def test_preview_key_forms(run: CliRunner, key: str, start: str) -> None:
    result = run.invoke(app, ["content", "preview", key])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(start)


def test_preview_of_a_text_too_long(run: CliRunner, tmp_path: Path) -> None:
    pack = tmp_path / "content"
    shutil.copytree(REAL, pack)
    path = pack / "review/11-closing.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + "我们会继续跟进。" * 100 + "\n", encoding="utf-8")
    result = run.invoke(app, ["content", "preview", "closing", "--path", str(pack)])
    assert result.exit_code == 0, result.output
    assert "does not fit" in result.output
    assert "will be sent as a link to http://127.0.0.1:8080/p/s/closing" in result.output


def test_preview_unknown_key(run: CliRunner) -> None:
    result = run.invoke(app, ["content", "preview", "no-such-thing"])
    assert result.exit_code == 2
    assert "unknown content key 'no-such-thing'" in result.stderr
    assert "clinical-nurown" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_list_shows_sections_and_therapies(run: CliRunner) -> None:
    result = run.invoke(app, ["content", "list"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for text in ("clinical-nurown", "美国NurOwn", "Neuronata-R", "2025-09-15", "disclaimer"):
        assert text in result.output


def test_reload_syncs_to_the_database_twice(run: CliRunner) -> None:
    first = run.invoke(app, ["content", "reload"])
    assert first.exit_code == 0, first.output
    assert "section 20, therapy 4" in first.output and "therapy updates 5" in first.output
    second = run.invoke(app, ["content", "reload"])
    assert second.exit_code == 0
    assert "(inserted 0, changed 0, removed 0)" in second.output


def test_reload_refuses_a_pack_with_problems(run: CliRunner, tmp_path: Path) -> None:
    pack = tmp_path / "content"
    shutil.copytree(REAL, pack)
    (pack / "disclaimer.md").unlink()
    result = run.invoke(app, ["content", "reload", "--path", str(pack)])
    assert result.exit_code == 1
    assert "disclaimer.md:1: missing required text" in result.output
    forced = run.invoke(app, ["content", "reload", "--path", str(pack), "--force"])
    assert forced.exit_code == 0 and "text 1" in forced.output
