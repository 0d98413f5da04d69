"""The group commit's statements find their rows by key however the tables were when they were planned.

psycopg prepares each statement once per connection and PostgreSQL soon keeps one generic plan for it, made with
the tables as they were then. A plan made on a new, empty database scans ``follower`` and ``seen_message``, and
keeps scanning them in every batch as they grow; so the store's connections run with ``enable_seqscan`` off
(bot.store.postgres.SQL_KEYS_ONLY, SQL_KEYS_ONLY_HERE). These tests plan every statement on empty tables, fill
them, and read the cached plan again.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from bot.message import Inbound
from bot.store import Job
from bot.store import postgres as store_module
from bot.store.postgres import SQL_KEYS_ONLY, SQL_KEYS_ONLY_HERE, PgGroupCommit
from bot.xmlin import parse_fields
from tests.bot.wechat import event_push, text_push

pytestmark = pytest.mark.postgres

STATEMENTS = {
    name: value
    for name, value in vars(store_module).items()
    if name.startswith("SQL_") and not value.startswith("SET ")
}
ON_THE_LOOP = ("SQL_BATCH", "SQL_STORED", "SQL_FILL")
"""The statements of the loop's own connection (bot.store.postgres._batch_async); the rest run on writer threads."""


def _placeholders(sql: str) -> tuple[str, int]:
    """``sql`` with psycopg's ``%s``/``%b`` as ``$1``, ``$2``, … (for PREPARE), and how many there are."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"%[sb]", number, sql), count


def _scans_after_growth(pg: Engine, *, keys_only: bool) -> dict[str, list[str]]:
    """Each statement planned (generic) on empty tables, as the store's connections run it (``keys_only``) or
    not; the tables then filled with 20,000 rows each; the lines of each cached plan that scan a table."""
    conninfo = pg.url.set(drivername="postgresql").render_as_string(hide_password=False)
    found: dict[str, list[str]] = {}
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")

        def explain(name: str, count: int) -> list[str]:
            with conn.transaction():
                if keys_only:
                    conn.execute(SQL_KEYS_ONLY if name in ON_THE_LOOP else SQL_KEYS_ONLY_HERE)
                return [row[0] for row in conn.execute(f"EXPLAIN EXECUTE {name}({', '.join(['NULL'] * count)})")]

        counts = {}
        for name, statement in STATEMENTS.items():
            sql, counts[name] = _placeholders(statement)
            conn.execute(f"PREPARE {name} AS {sql}")
            explain(name, counts[name])  # the generic plan is made now, on empty tables, and kept
        conn.execute(
            "INSERT INTO follower (openid, subscribed, created_at) SELECT 'o' || n, true, now()"
            " FROM generate_series(1, 20000) n"
        )
        conn.execute(
            "INSERT INTO seen_message (dedup_key, received_at, reply_kind, reply_xml)"
            " SELECT 'k' || n, now(), 'text', '' FROM generate_series(1, 20000) n"
        )
        conn.commit()
        for name in STATEMENTS:
            scans = [line.strip() for line in explain(name, counts[name]) if "Seq Scan" in line]
            if scans:
                found[name] = scans
    return found


def test_plans_made_on_empty_tables_still_find_rows_by_key_once_they_grew(pg: Engine) -> None:
    assert set(ON_THE_LOOP) <= set(STATEMENTS) and {"SQL_CLAIM", "SQL_TOUCH", "SQL_LOG"} <= set(STATEMENTS)
    assert _scans_after_growth(pg, keys_only=True) == {}


def test_without_the_setting_those_plans_scan_the_tables(pg: Engine) -> None:
    """What the setting prevents (so the test above can fail): the cached plans scan the grown tables."""
    scans = _scans_after_growth(pg, keys_only=False)
    assert {"SQL_BATCH", "SQL_STORED", "SQL_TOUCH"} <= set(scans)


@pytest.fixture
def store(pg_store: PgGroupCommit) -> PgGroupCommit:
    return pg_store


def _job(push: str, run: Any = None) -> Job:
    message = Inbound.from_fields(parse_fields(push.encode("utf-8")))
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    if run is not None:
        return Job(message, now, run=run)
    return Job(message, now, rendered=("<xml>reply</xml>", "text"))


def test_the_stores_connections_run_with_table_scans_off(store: PgGroupCommit) -> None:
    seen: list[str] = []

    def handler(session: Any) -> tuple[str, str]:
        seen.append(session.execute(text("SHOW enable_seqscan")).scalar_one())
        return "", "empty"

    assert store.answer(_job(event_push("subscribe", openid="oWriter"), run=handler)).kind == "empty"
    assert seen == ["off"]  # in the writer thread's transaction

    async def on_the_loop() -> str:
        await store.answer_async(_job(text_push("你好", openid="oLoop", msg_id=1)))
        (lane,) = store._lanes.values()
        (conn,) = lane.idle
        cursor = await conn.execute("SHOW enable_seqscan")
        row = await cursor.fetchone()
        return str(row[0])

    assert asyncio.run(on_the_loop()) == "off"
