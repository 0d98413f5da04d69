"""The database as the content every process serves: sync bumps a version, a LiveContent rebuilds from it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from posts.catalog import Catalog, Update
from posts.content_sync import sync_catalog
from posts.db import session_scope
from posts.live import Content, LiveContent, catalog_from_db, content_builder, current_version
from posts.loader import default_content_dir, load_catalog
from posts.render import Renderer

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def pack() -> Catalog:
    catalog, problems = load_catalog(default_content_dir(None))
    assert problems == []
    return catalog


def with_new_update(catalog: Catalog) -> Catalog:
    nurown = catalog.therapies["nurown"]
    new = Update("nurown", "2025-11-30-new", date(2025, 11, 30), "新的更新", "正文[4]", "https://example.org/", (4,))
    therapies = {**catalog.therapies, "nurown": dataclasses.replace(nurown, updates=(new, *nurown.updates))}
    return dataclasses.replace(catalog, therapies=therapies)


def test_the_database_gives_back_the_catalog_it_was_synced_from(sessions: sessionmaker[Session]) -> None:
    catalog = pack()
    with session_scope(sessions) as session:
        sync_catalog(session, catalog, NOW)
    with sessions() as session:
        assert catalog_from_db(session) == catalog


def test_a_sync_bumps_the_version_only_when_the_pack_changed(sessions: sessionmaker[Session]) -> None:
    catalog = pack()
    with session_scope(sessions) as session:
        first = sync_catalog(session, catalog, NOW)
    with session_scope(sessions) as session:
        again = sync_catalog(session, catalog, NOW)
    with session_scope(sessions) as session:
        changed = sync_catalog(session, with_new_update(catalog), NOW)
    assert (first.version, first.version_changed) == (1, True)
    assert (again.version, again.version_changed) == (1, False)
    assert (changed.version, changed.version_changed) == (2, True)


def test_a_running_process_picks_up_a_reload(sessions: sessionmaker[Session]) -> None:
    catalog = pack()
    with session_scope(sessions) as session:
        sync_catalog(session, catalog, NOW)
    live = LiveContent(sessions, content_builder("https://wx.example"), Content(catalog, Renderer(catalog)))
    assert live.refresh() is False  # nothing new: no rebuild
    with session_scope(sessions) as session:
        sync_catalog(session, with_new_update(catalog), NOW)
    assert live.refresh() is True
    assert live.current.catalog.update("nurown", "2025-11-30-new") is not None
    assert live.current.catalog.therapies["nurown"].latest.key == "2025-11-30-new"  # type: ignore[union-attr]
    assert live.current.renderer.update_page("nurown", "2025-11-30-new")
    with sessions() as session:
        assert live.version == current_version(session) == 2
