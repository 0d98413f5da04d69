"""What followers already received outside a post (a welcome's follow-up, a reply): a post of it skips them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from posts.models import ReceivedItem

WELCOME = "welcome"
REPLY = "reply"


def update_ref(therapy: str, key: str) -> str:
    """The content reference a post of this update carries (``wxbot post add --content``)."""
    return f"update:{therapy}/{key}"


def section_ref(key: str) -> str:
    """The content reference a post of this review section carries."""
    return f"section:{key}"


def record(session: Session, openid: str, content: str, via: str, now: datetime) -> None:
    """Note that ``openid`` received ``content``; the first time counts, a repeat changes nothing."""
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"openid": openid, "content": content, "via": via, "received_at": now}
    session.execute(insert(ReceivedItem).values(**values).on_conflict_do_nothing(index_elements=["openid", "content"]))


def already(session: Session, content: str, openids: Iterable[str]) -> set[str]:
    """Those of ``openids`` who already received ``content``."""
    wanted = set(openids)
    if not wanted:
        return set()
    rows = session.scalars(select(ReceivedItem.openid).where(ReceivedItem.content == content))
    return wanted.intersection(rows)
