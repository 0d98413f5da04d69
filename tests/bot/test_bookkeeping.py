"""One function builds the bookkeeping rows (inbound log, dedupe row with the reply) that both paths persist."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.message import Inbound
from bot.store import LOG_COLUMNS, SEEN_COLUMNS, bookkeeping_rows
from bot.store.sqlite import SQL_LOG, SQL_SEEN
from bot.xmlin import parse_fields
from posts.models import InboundEvent, SeenMessage
from tests.bot.wechat import event_push


def test_the_rows_name_real_columns_and_the_raw_sql_uses_them() -> None:
    assert set(LOG_COLUMNS) <= set(InboundEvent.__table__.columns.keys())
    assert set(SEEN_COLUMNS) <= set(SeenMessage.__table__.columns.keys())
    assert f"({', '.join(LOG_COLUMNS)})" in SQL_LOG and f"({', '.join(SEEN_COLUMNS)})" in SQL_SEEN


def test_one_push_gives_its_log_and_dedupe_rows() -> None:
    message = Inbound.from_fields(parse_fields(event_push("CLICK", "TOC", openid="o" * 80).encode()))
    at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    log_row, seen_row = bookkeeping_rows(message, at, "text", "<xml/>")
    log = dict(zip(LOG_COLUMNS, log_row, strict=True))
    assert log == {
        "openid": "o" * 64,
        "msg_type": "event",
        "event": "click",
        "key": message.log_key,
        "received_at": at,
        "reply_kind": "text",
        "dedup_key": message.dedup_key,
    }
    assert dict(zip(SEEN_COLUMNS, seen_row, strict=True)) == {
        "dedup_key": message.dedup_key,
        "received_at": at,
        "reply_kind": "text",
        "reply_xml": "<xml/>",
    }
