"""The typing indicator an operator sends from the console's inbox: one call to custom/typing, none of the
window's messages used; a closed window fails it once, never retried."""

from __future__ import annotations

from sqlalchemy import select

from posts import ledger, outbox
from posts.models import Outbox
from scheduler.outbox import send_outbox
from scheduler.wechat_api import CUSTOM_TYPING as TYPING_PATH
from tests.scheduler.conftest import World


def test_typing_is_sent_once_and_uses_none_of_the_window(world: World) -> None:
    (open_one,) = world.follow(1, interact="message", prefix="oOpen")
    (closed_one,) = world.follow(1, prefix="oShut")
    with world.sessions() as session:
        for openid in (open_one, closed_one):
            outbox.enqueue(session, outbox.TYPING, openid, {"command": "Typing"}, world.now(), f"typing:{openid}")
        session.commit()
    assert send_outbox(world.sessions, world.api, world.catalog, world.now) == 2
    assert send_outbox(world.sessions, world.api, world.catalog, world.now) == 0
    assert world.api.usage[TYPING_PATH] == 2
    with world.sessions() as session:
        rows = {row.openid: row for row in session.scalars(select(Outbox))}
        assert rows[open_one].status == "sent"
        assert rows[closed_one].status == "failed" and "45015" in (rows[closed_one].last_error or "")
        assert ledger.window_used(session, {open_one: world.now()}) == {}
