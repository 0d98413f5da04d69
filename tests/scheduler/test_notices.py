"""Subscribe notices: the auto policy's order, one consent per send (under concurrency and retries), 43101."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts import db, notices
from posts.audience import Recipient
from posts.models import NoticeConsent
from posts.queue import Delivery, Post
from posts.settings import NoticeSettings, replace
from scheduler import planner
from scheduler.wechat_api import NOTICE_SEND, make_api
from tests.scheduler.conftest import World
from tests.scheduler.test_send import queue, rows

NOTICE_ID = "tmplNoticeTherapyUpdate00000000000000000001"
NUROWN = "update:nurown/2025-04-10-ind-amendment"
NOTICES = NoticeSettings(
    purposes={"therapy_update": {"template_id": NOTICE_ID, "serves": "update", "thing1": "therapy", "time2": "time"}}
)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def with_notices(world: World, notice_settings: NoticeSettings = NOTICES) -> World:
    world.platform.add_notice_template(NOTICE_ID, "疗法进展通知", ("thing1", "time2"))
    return dataclasses.replace(world, settings=replace(world.settings, wechat={"notices": notice_settings}))


def consent(world: World, openid: str, times: int = 1) -> None:
    """The follower accepts the notice popup: WeChat (the stand-in) learns it, the bot records it."""
    with world.sessions() as session:
        for n in range(times):
            world.platform.grant_notice(openid, NOTICE_ID)
            notices.record_popup(session, openid, NOTICE_ID, "accept", 1, f"test:{openid}:{n}", world.now())
        session.commit()


def states(world: World, openid: str) -> list[str]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(NoticeConsent.state).where(NoticeConsent.openid == openid).order_by(NoticeConsent.id)
            )
        )


# -- the planner's order ------------------------------------------------------------------------------------------
def _r(openid: str, *, message_at: datetime | None = None) -> Recipient:
    return Recipient(openid=openid, follower_id=1, subscribed=True, last_message_at=message_at, last_event_at=None)


def test_auto_is_window_then_consented_notice_then_mass_within_quota_then_unreachable() -> None:
    people = [_r("oTalked", message_at=NOW - timedelta(hours=1)), _r("oConsented"), _r("oA"), _r("oB"), _r("oFull")]
    account = planner.Account(notice_template_id=NOTICE_ID)
    both = {"oTalked", "oConsented"}  # the one in the window needs no notice: it keeps its consent
    result = planner.plan(people, "auto", account, NOW, mass_month={"oFull": 4}, notice_consents=both)
    got = {a.openid: a for a in result.assignments}
    assert {o: a.channel for o, a in got.items()} == {
        "oTalked": "custom",
        "oConsented": "notice",
        "oA": "mass",
        "oB": "mass",
        "oFull": "none",
    }
    assert result.calls[planner.NOTICE] == 1 and planner.TEMPLATE not in result.calls
    assert result.unreachable() == 1
    assert "on 2027-01-01 (Asia/Shanghai; the month's mass sends renew)" in (got["oFull"].reason or "")


def test_without_a_configured_notice_consents_change_nothing() -> None:
    people = [_r("oConsented"), _r("oA")]
    result = planner.plan(people, "auto", planner.Account(), NOW, notice_consents={"oConsented"})
    assert result.counts() == {"mass": 2}


def test_custom_only_and_mass_policies_never_send_notices() -> None:
    account = planner.Account(notice_template_id=NOTICE_ID)
    for policy in ("custom_only", "mass"):
        result = planner.plan([_r("oC"), _r("oD")], policy, account, NOW, notice_consents={"oC", "oD"})
        assert "notice" not in result.counts(), policy


# -- sending through the stand-in ---------------------------------------------------------------------------------
def test_a_nurown_update_reaches_the_consented_follower_by_notice_and_nobody_by_template(world: World) -> None:
    world = with_notices(world)
    (talked,) = world.follow(1, interact="message", prefix="oMsg")
    (agreed,) = world.follow(1, prefix="oYes")
    others = world.follow(2, prefix="oSil")
    consent(world, agreed)
    post_id = queue(world, audience="all", content=NUROWN)
    sender = world.sender()
    with world.sessions() as session:
        preview, _ = sender.plan(session, session.get(Post, post_id), world.now())
    assert preview.notice is not None and preview.notice["fields"] == {
        "thing1": "NurOwn",
        "time2": "2026年12月1日 10:00",
    }
    assert sender.run(post_id) == "sent"
    got = rows(world, post_id)
    assert (got[talked].channel, got[agreed].channel) == ("custom", "notice")
    assert {got[o].channel for o in others} == {"mass"}
    (record,) = world.received(agreed)
    assert record.kind == "notice" and record.payload["template_id"] == NOTICE_ID
    assert record.payload["data"] == {"thing1": {"value": "NurOwn"}, "time2": {"value": "2026年12月1日 10:00"}}
    assert record.payload["page"] == "https://als.example.org/p/t/nurown/2025-04-10-ind-amendment"
    assert got[agreed].msg_id == str(record.payload["msgid"])
    assert "/cgi-bin/message/template/send" not in world.api.usage
    assert states(world, agreed) == ["used"]
    assert world.platform.notice_consents[(agreed, NOTICE_ID)] == 0

    again = queue(world, audience="all", content="update:xs228/2025-09-15-first-dosing")  # consent used: mass
    assert world.sender().run(again) == "sent"
    assert rows(world, again)[agreed].channel == "mass"


def test_43101_marks_the_consent_gone_and_is_not_retried(world: World) -> None:
    world = with_notices(world)
    (agreed,) = world.follow(1, prefix="oYes")
    world.follow(2, prefix="oSil")
    consent(world, agreed)
    world.platform.withdraw_notice(agreed, NOTICE_ID)  # WeChat no longer honours it; the bot never heard
    post_id = queue(world, audience="all", content=NUROWN)
    assert world.sender().run(post_id) == "partly_sent"
    row = rows(world, post_id)[agreed]
    assert (row.channel, row.state, row.errcode) == ("notice", "undeliverable", 43101)
    assert "43101" in (row.reason or "") and "not retried" in (row.reason or "")
    assert world.api.usage["/cgi-bin/message/subscribe/bizsend"] == 1
    assert world.platform.api_calls("/cgi-bin/message/subscribe/bizsend") == 1
    assert states(world, agreed) == ["gone"]
    assert world.received(agreed) == []


def test_a_busy_answer_gives_the_consent_back_and_the_retry_sends_once(world: World) -> None:
    world = with_notices(world)
    (agreed,) = world.follow(1, prefix="oYes")
    world.follow(2, prefix="oSil")
    consent(world, agreed)
    world.platform.inject_fault("/cgi-bin/message/subscribe/bizsend", "busy", 1)
    post_id = queue(world, audience="all", content=NUROWN)
    assert world.sender().run(post_id) == "sent"
    assert [r.kind for r in world.received(agreed)] == ["notice"]
    assert states(world, agreed) == ["used"]


def test_a_field_that_breaks_the_rules_leaves_notices_out_with_a_note(world: World) -> None:
    spec = {"template_id": NOTICE_ID, "serves": "update", "phrase1": "title", "time2": "time"}
    world = with_notices(world, NoticeSettings(purposes={"therapy_update": spec}))
    (agreed,) = world.follow(1, prefix="oYes")
    world.follow(2, prefix="oSil")
    consent(world, agreed)
    post_id = queue(world, audience="all", content=NUROWN)
    sender = world.sender()
    with world.sessions() as session:
        preview, _ = sender.plan(session, session.get(Post, post_id), world.now())
    assert preview.counts() == {"mass": 3} and preview.notice is None
    (note,) = preview.notes
    assert note.startswith("这次不用订阅通知：通知的“phrase1”一项放不进微信的长度限制")
    assert sender.run(post_id) == "sent"
    assert states(world, agreed) == ["accepted"]  # kept for a notice that can be sent


def test_long_term_consents_are_not_used_up(world: World) -> None:
    world = with_notices(world, dataclasses.replace(NOTICES, long_term=True))
    world.platform.config.notice_long_term = True
    (agreed,) = world.follow(1, prefix="oYes")
    world.follow(2, prefix="oSil")
    consent(world, agreed)
    for content in (NUROWN, "update:xs228/2025-09-15-first-dosing"):
        post_id = queue(world, audience="all", content=content)
        assert world.sender().run(post_id) == "sent"
        assert rows(world, post_id)[agreed].channel == "notice"
    assert states(world, agreed) == ["accepted"]


def test_a_consent_used_since_planning_makes_the_row_undeliverable_not_a_second_send(world: World) -> None:
    world = with_notices(world)
    (agreed,) = world.follow(1, prefix="oYes")
    world.follow(2, prefix="oSil")
    consent(world, agreed)
    first = queue(world, audience="all", content=NUROWN)
    second = queue(world, audience="all", content="update:xs228/2025-09-15-first-dosing")
    sender = world.sender()
    assert sender.prepare(first) and sender.prepare(second)  # both planned while the one consent was open
    sender.deliver(first)
    sender.deliver(second)
    assert rows(world, first)[agreed].state == "sent"
    row = rows(world, second)[agreed]
    assert (row.channel, row.state) == ("notice", "undeliverable") and row.reason == notices.NO_CONSENT_REASON
    assert [r.kind for r in world.received(agreed)] == ["notice"]  # one consent, one notice: never a second


# -- one consent, one send, whoever races for it ------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def race_sessions(request: pytest.FixtureRequest, sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        yield sessions
        return
    url = request.getfixturevalue("pg_url")
    engine = db.make_engine(url, pool_size=16)
    db.upgrade(engine)
    try:
        yield db.session_factory(engine)
    finally:
        engine.dispose()


def test_concurrent_consumers_of_one_one_time_consent_get_it_once(race_sessions: sessionmaker[Session]) -> None:
    with race_sessions() as session:
        notices.record_popup(session, "oRace", NOTICE_ID, "accept", 1, "k1", NOW)
        notices.record_popup(session, "oRace", NOTICE_ID, "accept", 1, "k1", NOW)  # a redelivery: no second
        session.commit()
    takers = 12
    barrier = Barrier(takers)

    def take(n: int) -> int | None:
        barrier.wait()
        for _ in range(20):
            try:
                with race_sessions() as session:
                    won = notices.consume(session, "oRace", NOTICE_ID, 1000 + n, NOW)
                    session.commit()
                    return won
            except Exception:  # SQLite: database is locked under the race; try again like the sender's next tick
                continue
        raise AssertionError("never got an answer")

    with ThreadPoolExecutor(takers) as pool:
        results = list(pool.map(take, range(takers)))
    assert len([r for r in results if r is not None]) == 1
    with race_sessions() as session:
        assert session.scalars(select(NoticeConsent.state)).all() == ["used"]
        delivery = session.scalar(select(NoticeConsent.delivery_id))
        assert delivery is not None and delivery - 1000 == results.index(next(r for r in results if r))


def test_release_reopens_only_the_consent_of_that_delivery(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        for key in ("a", "b"):
            notices.record_popup(session, "oRel", NOTICE_ID, "accept", 1, key, NOW)
        first = notices.consume(session, "oRel", NOTICE_ID, 1, NOW)
        second = notices.consume(session, "oRel", NOTICE_ID, 2, NOW)
        assert first and second and first != second
        assert notices.consume(session, "oRel", NOTICE_ID, 3, NOW) is None
        assert notices.release(session, 1, NOW) == 1
        assert notices.open_consents(session, "oRel", NOTICE_ID) == 1
        assert notices.consume(session, "oRel", NOTICE_ID, 4, NOW) == first
        session.commit()
        assert session.scalar(select(Delivery.id)) is None  # nothing else touched


def test_post_preview_shows_the_notice_fields_and_its_recipients(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from wxbot.cli import app
    from wxbot.context import AppContext

    world = with_notices(world)
    (agreed,) = world.follow(1, prefix="oYes")
    world.follow(2, prefix="oSil")
    consent(world, agreed)
    s = world.settings
    config = tmp_path / "notices.toml"
    config.write_text(
        f"""
[database]
url = "{s.database.url}"
[wechat]
app_id = "{s.wechat.app_id}"
app_secret = "{s.wechat.app_secret}"
token = "{s.wechat.token}"
api_base_url = "{s.wechat.api_base_url}"
[wechat.notices.therapy_update]
template_id = "{NOTICE_ID}"
thing1 = "therapy"
time2 = "time"
""",
        encoding="utf-8",
    )

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["--config", str(config), *args], obj=AppContext(clock=world.now))
        assert result.exit_code == 0, result.output
        return result.output

    post_id = run("post", "add", "--content", NUROWN, "--at", "2099-01-01 09:00", "--yes", "--by", "王医生").split()[1]
    output = run("post", "preview", post_id)
    assert "订阅通知（用途 therapy_update，页面" in output and "/p/t/nurown/2025-04-10-ind-amendment）" in output
    assert "thing1='NurOwn'\n  time2='2099年1月1日 09:00'" in output
    assert "订阅通知：1 人" in output and "订阅通知：1 次" in output and "/cgi-bin" not in output
    assert "模板消息" not in output and "这只是预览，没有发出任何消息" in output
    assert world.received(agreed) == [] and states(world, agreed) == ["accepted"]


def test_a_lost_answer_on_bizsend_keeps_the_consent_used_and_never_resends(world: World) -> None:
    """bizsend is not deduplicated: a notice whose answer was lost (WeChat did send it) is unknown, its consent
    stays used, and the loop never calls again for that row."""
    quick_settings = replace(world.settings, wechat={"api_timeout": 0.5})
    api = make_api(quick_settings, world.sessions)
    try:
        world = with_notices(dataclasses.replace(world, settings=quick_settings, api=api))
        (agreed,) = world.follow(1, prefix="oLost")
        world.follow(2, prefix="oSil")
        consent(world, agreed, times=2)
        world.platform.inject_fault(NOTICE_SEND, "drop_answer", 1)
        post_id = queue(world, audience="all", content=NUROWN)
        world.sender().run(post_id)
        assert [r.kind for r in world.received(agreed)] == ["notice"]  # delivered once, not resent
        row = rows(world, post_id)[agreed]
        assert (row.channel, row.state, row.attempts) == ("notice", "unknown", 1)
        assert row.reason.startswith("结果未知")
        assert states(world, agreed) == ["used", "accepted"]  # the second consent is left for a later notice
    finally:
        api.close()
