"""The group commit's statements find their rows by index whatever PostgreSQL's statistics say.

psycopg prepares each statement once per connection and PostgreSQL soon keeps one generic plan for it, planned
with the statistics of that moment. Right after a burst of new followers, before autovacuum's next ANALYZE, the
tables look small; a plan that scans ``follower`` then costs a full scan per batch (24 ms at 100,000 followers,
benchmarks.pg_batch), on every batch the connection runs.
"""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy import Engine

from bot.store import postgres

pytestmark = pytest.mark.postgres

STATEMENTS = {name: value for name, value in vars(postgres).items() if name.startswith("SQL_")}


def _placeholders(sql: str) -> tuple[str, int]:
    """``sql`` with psycopg's ``%s``/``%b`` as ``$1``, ``$2``, … (for PREPARE), and how many there are."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"%[sb]", number, sql), count


def test_every_statement_is_checked() -> None:
    assert {"SQL_BATCH", "SQL_CLAIM", "SQL_STORED", "SQL_FILL", "SQL_LOG", "SQL_TOUCH"} <= set(STATEMENTS)


def test_a_generic_plan_on_unanalyzed_tables_scans_no_table(pg: Engine) -> None:
    conninfo = pg.url.set(drivername="postgresql").render_as_string(hide_password=False)
    scans: dict[str, list[str]] = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO follower (openid, subscribed, created_at) SELECT 'o' || n, true, now()"
            " FROM generate_series(1, 20000) n"
        )
        conn.execute(
            "INSERT INTO seen_message (dedup_key, received_at, reply_kind, reply_xml)"
            " SELECT 'k' || n, now(), 'text', '' FROM generate_series(1, 20000) n"
        )
        conn.execute("SET plan_cache_mode = force_generic_plan")
        for name, statement in STATEMENTS.items():
            sql, count = _placeholders(statement)
            conn.execute(f"PREPARE {name} AS {sql}")
            plan = [row[0] for row in conn.execute(f"EXPLAIN EXECUTE {name}({', '.join(['NULL'] * count)})")]
            if any("Seq Scan" in line for line in plan):
                scans[name] = plan
    assert not scans, scans
