"""The console's analytics page, its CSV exports and `wxbot stats` show posts/analytics.py's figures."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from posts import analytics
from posts.analytics import Span
from posts.loader import default_content_dir, load_catalog
from posts.menu import load_menu
from tests.analytics import world
from tests.console.conftest import Site
from wxbot.cli import app
from wxbot.context import AppContext

RANGE = "from=2026-11-03&to=2026-11-30"
SPAN = Span.parse("2026-11-03", "2026-11-30", world.TZ, Span.ending(world.NOW.date(), 30, world.TZ))


def _csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_page_shows_follows_per_scene_and_each_push(site: Site) -> None:
    built = world.build(site.sessions)
    client = site.signed_in("editor1")  # every role may look
    page = client.get(f"/analytics?{RANGE}")
    assert page.status_code == 200
    with site.sessions() as session:
        found = analytics.report(session, SPAN, site.console.catalog)
    html = page.text
    assert 'href="/analytics" aria-current="page"' in html
    for scene in found.follows.scenes:
        assert f"<td>{scene.follows}</td><td>{scene.unfollows}</td><td>{scene.quick_unfollows}</td>" in html
    assert "不经二维码" in html and "clinic-poster" in html
    for post_id in built.post_ids:
        assert f'href="/posts/{post_id}/report"' in html
    assert "chart-4.6.1.umd.min.js" in html and 'id="analytics-data"' in html
    for name in analytics.TABLES:
        assert f'href="/analytics/{name}.csv?{RANGE.replace("&", "&amp;")}"' in html


def test_each_table_exports_as_csv_with_the_same_rows(site: Site) -> None:
    world.build(site.sessions)
    client = site.signed_in("sender1")
    with site.sessions() as session:
        for name in analytics.TABLES:
            response = client.get(f"/analytics/{name}.csv?{RANGE}")
            assert response.status_code == 200, name
            assert response.headers["content-type"].startswith("text/csv")
            assert f"{name}-2026-11-03-2026-11-30.csv" in response.headers["content-disposition"]
            want = analytics.table_rows(name, session, SPAN, site.console.catalog, load_menu(site.settings))
            assert _csv(response.text) == [[str(v) for v in row] for row in want], name
            assert len(want) > 1, name
    assert client.get("/analytics/nothing.csv").status_code == 404
    menu = _csv(client.get(f"/analytics/menu.csv?{RANGE}").text)
    assert next(row for row in menu if row[0] == "TOC")[:2] == ["TOC", "目录"]  # the button's name


def test_a_bad_range_is_told_in_plain_words(site: Site) -> None:
    client = site.signed_in("reviewer1")
    page = client.get("/analytics?from=2026-11-30&to=2026-11-01")
    assert page.status_code == 400 and "结束日期在开始日期之前" in page.text and "Traceback" not in page.text
    export = client.get("/analytics/scenes.csv?from=yesterday")
    assert export.status_code == 400 and "看不懂这个日期" in export.text


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "stats.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "stats.db"}"\n', encoding="utf-8")
    return path


def test_wxbot_stats_prints_the_same_figures(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from posts import db
    from wxbot import context

    monkeypatch.setattr(context.console, "width", 220)  # made at import: wide enough for whole cells

    engine = db.make_engine(f"sqlite:///{tmp_path / 'stats.db'}")
    db.upgrade(engine)
    sessions: sessionmaker[Session] = db.session_factory(engine)
    world.build(sessions)
    run = CliRunner(env={"COLUMNS": "220"})
    args = [
        "--config",
        str(config),
        "stats",
        "--from",
        "2026-11-03",
        "--to",
        "2026-11-30",
        "-t",
        "scenes",
        "-t",
        "pushes",
    ]
    result = run.invoke(app, args, obj=AppContext(clock=lambda: world.NOW))
    assert result.exit_code == 0, result.output
    catalog, _ = load_catalog(default_content_dir())
    with sessions() as session:
        want = [analytics.table_rows(name, session, SPAN, catalog) for name in ("scenes", "pushes")]
    out = result.output
    assert "Follows per QR scene" in out and "Deliveries per post and channel" in out and "Menu taps" not in out
    lines = [line.replace("┃", "│") for line in out.splitlines() if line[:1] in ("│", "┃")]
    shown = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines]
    assert shown == [[str(v) for v in row] for table in want for row in table]  # headers and rows, both tables
    bad = run.invoke(app, ["--config", str(config), "stats", "--from", "2026-11-30", "--to", "2026-11-01"],
                     obj=AppContext(clock=lambda: world.NOW))  # fmt: skip
    assert bad.exit_code == 2 and "--to is before --from" in bad.output and "Traceback" not in bad.output
    rolled = run.invoke(app, [*args, "--rollup"], obj=AppContext(clock=lambda: world.NOW))
    assert rolled.exit_code == 0, rolled.output
    assert "summarised: " in rolled.output and " 0 log rows" not in rolled.output  # closed days summarised
    again = [line.replace("┃", "│") for line in rolled.output.splitlines() if line[:1] in ("│", "┃")]
    assert again == lines  # the same figures from the summaries
    engine.dispose()
