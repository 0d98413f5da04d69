"""Migrations produce exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from posts import db
from posts.schema import metadata


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_sqlite_migrations_match_models(engine: Engine) -> None:
    assert schema_diff(engine) == []
    assert db.current_revision(engine) is not None
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert {"follower", "subscription", "qr_scene", "seen_message", "inbound_event", "content_item"} <= set(
        inspect(engine).get_table_names()
    )


def test_upgrade_is_idempotent(engine: Engine) -> None:
    before = db.current_revision(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == before


def test_postgresql_migrations_match_models(pg_url: str) -> None:
    engine = db.make_engine(pg_url)
    try:
        db.upgrade(engine)
        assert engine.dialect.name == "postgresql"
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_0020_rewrites_recent_event_keys_time_first_and_back(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    try:
        db.upgrade(engine, "0010")
        now = datetime(2024, 3, 1, 12, 0)  # the newest row's time, whatever the date the migration runs on
        rows = {
            "evt:oUser1:1800000000:CLICK:TOC": now - timedelta(seconds=20),  # a redelivery may still come
            "evt:oUser2:1700000000:subscribe:qrscene_clinic": now - timedelta(days=3),  # never matched again
            "msg:1234567890": now,
        }
        with engine.begin() as conn:
            for key, at in rows.items():
                conn.execute(
                    text(
                        "INSERT INTO seen_message (dedup_key, received_at, reply_kind, reply_xml)"
                        " VALUES (:k, :t, '', '')"
                    ),
                    {"k": key, "t": at},
                )
        db.upgrade(engine)
        assert _keys(engine) == [
            "evt:1800000000:oUser1:CLICK:TOC",
            "evt:oUser2:1700000000:subscribe:qrscene_clinic",
            "msg:1234567890",
        ]
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("inbound_event")}
        assert indexes == {"ix_inbound_event_event_key"}  # 0047 added one for the analytics, 0051 dropped it
        with engine.connect() as conn:  # the QR counts and the ledger's lookups use it
            plan = conn.execute(
                text("EXPLAIN QUERY PLAN SELECT count(*) FROM inbound_event WHERE event = 'scan' AND key = 'x'")
            ).all()
        assert "ix_inbound_event_event_key" in " ".join(str(step) for step in plan)
        _downgrade(engine, "0010")
        assert _keys(engine)[0] == "evt:oUser1:1800000000:CLICK:TOC"
        assert {ix["name"] for ix in inspect(engine).get_indexes("inbound_event")} == {
            "ix_inbound_event_openid_received"
        }
    finally:
        engine.dispose()


def _keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT dedup_key FROM seen_message")).scalars())


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(db.alembic_config(engine), revision)


def test_0030_fills_the_window_times_from_the_last_interaction(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'windows.db'}")
    try:
        db.upgrade(engine, "0020")
        at = datetime(2026, 12, 1, 2, 0)
        with engine.begin() as conn:
            for openid, kind in [("oMsg", "message"), ("oClick", "click"), ("oView", "view"), ("oNone", None)]:
                conn.execute(
                    text(
                        "INSERT INTO follower (openid, subscribed, last_interaction_at, last_interaction_kind,"
                        " created_at) VALUES (:o, 1, :t, :k, :c)"
                    ),
                    {"o": openid, "t": at if kind else None, "k": kind, "c": at},
                )
        db.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT openid, last_message_at, last_event_at FROM follower")).all()
        stamp = str(at)
        found = {o: (m and str(m)[:19], e and str(e)[:19]) for o, m, e in rows}
        assert found == {"oMsg": (stamp, None), "oClick": (None, stamp), "oView": (None, None), "oNone": (None, None)}
        _downgrade(engine, "0020")
        assert "last_message_at" not in {c["name"] for c in inspect(engine).get_columns("follower")}
    finally:
        engine.dispose()
