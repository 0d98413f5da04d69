"""Send to me, the scheduler's half, against the stand-in: a bind code becomes a temporary QR code of its scene; a
test send reaches the operator's own WeChat once, by customer-service message in the window or by mass preview
outside it, with the disclaimer; never a delivery of the post, never the month's mass budget; refused in plain
words when the preview's own daily limit is used up."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posts import ledger, limits, sendtome
from posts.coordination import ApiUsage
from posts.models import Follower
from posts.operators import OperatorUser
from posts.queue import Delivery, Post
from posts.sendtome_models import BindCode, OperatorTestSend
from posts.timing import beijing_day
from scheduler import sendtome as scheduler_sendtome
from scheduler.wechat_api import CUSTOM_SEND, MASS_PREVIEW
from tests.scheduler.conftest import World

UPDATE = "update:nurown/2025-04-10-ind-amendment"


def _operator(world: World, openid: str | None) -> int:
    """Operator wang, bound to ``openid`` (through a code as the bot would), and a NurOwn draft post."""
    with world.sessions() as session:
        user = OperatorUser(username="wang", role="editor", password_hash="x", created_at=world.now())
        session.add(user)
        session.flush()
        if openid:
            code = sendtome.request_code(session, user, world.now())
            sendtome.qr_made(code, "t", "u")
            assert sendtome.bind(session, code.code, openid, world.now()).outcome == "bound"
        post = Post(content=UPDATE, audience="therapy:nurown", channel="auto", status="draft", created_at=world.now())
        session.add(post)
        session.commit()
        return post.id


def _ask(world: World, post_id: int, key: str = "k1") -> int:
    with world.sessions() as session:
        user = session.scalars(select(OperatorUser)).one()
        sent = sendtome.request_test_send(session, user, session.get(Post, post_id), world.now(), key)  # type: ignore[arg-type]
        session.commit()
        return sent.id


def _run(world: World) -> int:
    preview = world.sender().preview
    return scheduler_sendtome.run(world.sessions, world.api, preview, world.now)


def _row(session: Session, send_id: int) -> OperatorTestSend:
    row = session.get(OperatorTestSend, send_id)
    assert row is not None
    return row


def test_a_bind_code_becomes_a_temporary_qr_code_of_its_scene(world: World) -> None:
    _operator(world, None)
    with world.sessions() as session:
        code = sendtome.request_code(session, session.scalars(select(OperatorUser)).one(), world.now())
        session.commit()
        scene = sendtome.scene_of(code)
    assert _run(world) == 1
    with world.sessions() as session:
        made = session.scalars(select(BindCode)).one()
        assert made.state == "ready" and made.ticket and made.qr_url
    (ticket,) = [t for t in world.platform.tickets.values() if t.scene == scene]
    assert ticket.action_name == "QR_STR_SCENE" and ticket.expire_at is not None
    assert 0 < ticket.expire_at - world.platform.now() <= sendtome.CODE_MINUTES * 60
    assert _run(world) == 0  # made once


def test_in_the_window_it_goes_as_a_customer_service_message_with_the_disclaimer(world: World) -> None:
    (openid,) = world.follow(1, interact="message", prefix="oWang")
    post_id = _operator(world, openid)
    send_id = _ask(world, post_id)
    assert _ask(world, post_id) == send_id  # the same form twice: one test send
    assert _run(world) == 1 and _run(world) == 0
    (record,) = world.received(openid)
    assert record.kind == "custom" and record.via == "message/custom/send"  # type: ignore[attr-defined]
    text = record.payload["content"]  # type: ignore[attr-defined]
    assert "提交3b期" in text and "不构成诊断或治疗建议" in text
    assert world.api.usage[CUSTOM_SEND] == 1 and world.api.usage[MASS_PREVIEW] == 0
    with world.sessions() as session:
        row = _row(session, send_id)
        assert (row.state, row.channel, row.problem) == ("sent", "custom", "")
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0  # never a delivery of the post
        assert session.get(Post, post_id).status == "draft"  # type: ignore[union-attr]
        follower = session.scalars(select(Follower).where(Follower.openid == openid)).one()
        assert ledger.window_used(session, {openid: follower.last_message_at}) == {openid: 1}  # type: ignore[dict-item]


def test_outside_the_window_it_goes_by_mass_preview_and_spends_no_month_budget(world: World) -> None:
    (openid,) = world.follow(1, prefix="oWang")
    send_id = _ask(world, _operator(world, openid))
    assert _run(world) == 1
    (record,) = world.received(openid)
    assert record.kind == "mass" and record.via == "message/mass/preview"  # type: ignore[attr-defined]
    assert "不构成诊断或治疗建议" in record.payload["content"]  # type: ignore[attr-defined]
    assert world.platform.follower_record(openid).mass_by_month == {}  # the month's 4 mass sends untouched
    assert world.api.usage[MASS_PREVIEW] == 1
    with world.sessions() as session:
        assert (_row(session, send_id).state, _row(session, send_id).channel) == ("sent", "preview")
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_the_previews_daily_limit_used_up_refuses_in_plain_words(world: World) -> None:
    (openid,) = world.follow(1, prefix="oWang")
    send_id = _ask(world, _operator(world, openid))
    with world.sessions() as session:
        day = beijing_day(world.now())
        session.add(ApiUsage(day=day, path=MASS_PREVIEW, count=limits.MASS_PREVIEW_PER_DAY))
        session.commit()
    assert _run(world) == 1
    assert world.received(openid) == [] and world.api.usage[MASS_PREVIEW] == 0  # no call made
    with world.sessions() as session:
        row = _row(session, send_id)
        assert (row.state, row.channel, row.problem) == ("failed", "preview", "preview_quota")


def test_an_operator_who_unfollowed_gets_a_reason_not_a_call(world: World) -> None:
    (openid,) = world.follow(1, interact="message", prefix="oWang")
    send_id = _ask(world, _operator(world, openid))
    with world.sessions() as session:
        session.scalars(select(Follower)).one().subscribed = False
        session.commit()
    assert _run(world) == 1
    with world.sessions() as session:
        assert (_row(session, send_id).state, _row(session, send_id).problem) == ("failed", "unfollowed")
    assert world.api.usage[CUSTOM_SEND] == 0 and world.api.usage[MASS_PREVIEW] == 0


def test_the_engines_outbox_pass_sends_it(world: World) -> None:
    (openid,) = world.follow(1, interact="message", prefix="oWang")
    send_id = _ask(world, _operator(world, openid))
    engine = world.engine()
    assert engine.tick()
    with world.sessions() as session:
        assert _row(session, send_id).state == "sent"
    assert len(world.received(openid)) == 1
