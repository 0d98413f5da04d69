"""An operator's bind QR code scanned: pushed signed and AES-encrypted as WeChat does (safe mode), the bot binds the
scanner's openid to the operator once; an expired or used code gets a clear reply and binds nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts import sendtome
from posts.loader import default_content_dir, load_catalog
from posts.models import Follower
from posts.operators import OperatorUser
from posts.render import Renderer
from posts.sendtome_models import BindCode, OperatorWeChat
from posts.settings import Settings
from tests.bot.conftest import BASE_URL, LiveBot, serve_with
from tests.bot.wechat import OPENID, event_push

OTHER = "oOther00000000000000000000002"


@pytest.fixture
def bot(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[LiveBot]:
    """The bot on the shipped pack and its real renderer (the disclaimer), safe mode: encrypted both ways."""
    pack, _ = load_catalog(default_content_dir())
    with serve_with(settings, sessions, pack, "safe", renderer=Renderer(pack, BASE_URL)) as live:
        yield live


def _code(sessions: sessionmaker[Session], *, ready: bool = True, minutes: float = 10) -> str:
    """A bind code of operator wang, its QR code made (or not), expiring ``minutes`` from now."""
    now = datetime.now(UTC)
    with sessions() as session:
        user = session.scalars(select(OperatorUser).where(OperatorUser.username == "wang")).one_or_none()
        if user is None:
            user = OperatorUser(username="wang", role="editor", password_hash="x", created_at=now)
            session.add(user)
            session.flush()
        code = sendtome.request_code(session, user, now)
        code.expires_at = now + timedelta(minutes=minutes)
        if ready:
            sendtome.qr_made(code, "ticket", "http://weixin.qq.com/q/x")
        session.commit()
        return code.code


def _bound(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return [row.openid for row in session.scalars(select(OperatorWeChat))]


def test_a_new_follower_scanning_a_bind_code_is_bound_and_told(bot: LiveBot) -> None:
    code = _code(bot.sessions)
    reply = bot.wechat.push(event_push("subscribe", f"qrscene_{sendtome.SCENE_PREFIX}{code}"))
    assert reply.msg_type == "text" and "已绑定" in reply.content
    renderer = bot.app.renderer
    assert reply.content.rstrip().endswith(renderer.disclaimer_short) or reply.content.rstrip().endswith(
        renderer.disclaimer_text.strip()
    )  # the disclaimer closes it
    assert _bound(bot.sessions) == [OPENID]
    with bot.sessions() as session:
        follower = session.scalars(select(Follower).where(Follower.openid == OPENID)).one()
        assert follower.subscribed and follower.scene_key is None  # no content scene is credited
        assert session.scalars(select(BindCode)).one().state == "used"


def test_a_used_code_scanned_again_binds_nobody_else(bot: LiveBot) -> None:
    scene = sendtome.SCENE_PREFIX + _code(bot.sessions)
    bot.wechat.push(event_push("subscribe"))
    assert "已绑定" in bot.wechat.push(event_push("SCAN", scene)).content
    again = bot.wechat.push(event_push("SCAN", scene, openid=OTHER))
    assert "已经用过了" in again.content and "已绑定" not in again.content
    assert _bound(bot.sessions) == [OPENID]


def test_an_expired_code_gets_a_clear_reply_and_binds_nothing(bot: LiveBot) -> None:
    expired = _code(bot.sessions, minutes=-1)
    bot.wechat.push(event_push("subscribe"))
    reply = bot.wechat.push(event_push("SCAN", sendtome.SCENE_PREFIX + expired))
    assert "已过期" in reply.content and "没有绑定" in reply.content
    unknown = bot.wechat.push(event_push("SCAN", sendtome.SCENE_PREFIX + "made-up"))
    assert "没有找到这个绑定二维码" in unknown.content
    assert _bound(bot.sessions) == []
