"""The demo, whole: a follower accepts "notify me of the next update" on the NurOwn page, and the next NurOwn update
queued with ``auto`` reaches them by subscribe notice, the 48-hour follower by customer-service message, the rest by
a mass send, and nobody by template."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from posts import notices
from posts.models import NoticeConsent
from posts.posting import add_post
from posts.queue import Delivery, Post
from posts.settings import Settings
from scheduler.sender import Sender
from scheduler.wechat_api import make_api
from wxbot.demo import DEMO_NOTICE_ID, Demo

UPDATE = "update:nurown/2025-04-10-ind-amendment"


class MovableClock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def quiet_demo(settings: Settings, tmp_path: Path, clock: MovableClock) -> Iterator[Demo]:
    running = Demo(settings, port=0, database=tmp_path / "demo.db", scheduler=False, clock=clock).start()
    try:
        yield running
    finally:
        running.stop()


def _wait(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_nurown_update_reaches_a_consented_follower_by_notice_and_nobody_by_template(
    quiet_demo: Demo, clock: MovableClock
) -> None:
    demo = quiet_demo
    assert demo.sandbox is not None and demo.runtime is not None and demo.platform is not None
    pusher, rt = demo.sandbox.pusher, demo.runtime
    talked, agreed, *rest = (f"oE2ENotice{n:018d}" for n in range(4))
    for openid in (talked, agreed, *rest):
        assert pusher.follow(openid, "therapy-nurown").ok  # subscribes them to NurOwn
    assert pusher.send_text(talked, "帮助").ok  # opens the 48-hour window

    page = requests.get(f"{demo.bot_url}/p/t/nurown?openid={agreed}", timeout=10)
    assert page.status_code == 200
    assert f'<wx-open-subscribe template="{DEMO_NOTICE_ID}"' in page.text  # what a real account renders
    link = html.unescape(re.search(r'id="notice-offer-simulated" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    assert requests.get(f"{link}&openid={agreed}", timeout=10).json()["status"] == "delivered"  # the page's script
    with rt.sessions() as session:
        assert session.scalars(select(NoticeConsent.openid).where(NoticeConsent.state == "accepted")).all() == [agreed]
    asker = "oE2ENoticeAsker0000000000000"  # follows, but not NurOwn: outside the post's audience
    assert pusher.follow(asker).ok
    reply = pusher.send_text(asker, "NurOwn")  # the therapy card: too long for a text reply, so its page
    (card,) = reply.reply.payload["articles"]  # type: ignore[union-attr]
    assert "下次更新时通知我" in requests.get(card["url"], timeout=10).text  # the card's page offers the notice too
    clock.at += timedelta(minutes=5)  # the follows' 1-minute windows are closed; the 48-hour one is open

    with rt.sessions() as session:
        post = add_post(
            session,
            content=UPDATE,
            audience="therapy:nurown",
            channel="auto",
            by="王医生",
            now=clock(),
            scheduling=rt.settings.scheduler,
        )
        session.commit()
        post_id = post.id
    api = make_api(rt.settings, rt.sessions, clock)
    try:
        sender = Sender(rt.settings, rt.sessions, api, rt.catalog, rt.renderer, clock=clock, sleep=lambda _s: None)
        with rt.sessions() as session:
            plan, _ = sender.plan(session, session.get(Post, post_id), clock())
        assert plan.counts() == {"custom": 1, "notice": 1, "mass": 2}
        assert sender.run(post_id) == "sent"
    finally:
        api.close()
    kinds = {openid: [r.kind for r in demo.platform.inbox(openid) if r.kind != "reply"] for openid in (talked, agreed)}
    assert kinds == {talked: ["custom"], agreed: ["notice"]}
    assert all([r.kind for r in demo.platform.inbox(o) if r.kind != "reply"] == ["mass"] for o in rest)
    assert demo.platform.api_calls("/cgi-bin/message/template/send") == 0
    (notice,) = [r for r in demo.platform.inbox(agreed) if r.kind == "notice"]
    assert notice.payload["data"]["thing1"] == {"value": "NurOwn"}
    assert notice.payload["page"].endswith("/p/t/nurown/2025-04-10-ind-amendment")

    def confirmed() -> bool:  # subscribe_msg_sent_event, pushed back by the stand-in, recorded by the bot
        with rt.sessions() as session:
            notices.reconcile(session, clock() - timedelta(days=1))  # as each scheduler tick does
            session.commit()
            row = session.scalar(select(Delivery).where(Delivery.post_id == post_id, Delivery.openid == agreed))
            return row is not None and row.confirmed_at is not None

    assert _wait(confirmed)
    with rt.sessions() as session:
        assert session.scalar(select(NoticeConsent.state).where(NoticeConsent.openid == agreed)) == "used"
