"""Send to me, the rules: a bind code is random, expires, works once and only for its operator; a test send needs
a binding and is queued once per form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts import accounts, sendtome
from posts.accounts import AuditEntry
from posts.operators import OperatorUser
from posts.queue import Post
from posts.sendtome import SendToMeError
from posts.sendtome_models import BindCode, OperatorWeChat

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
OPENID = "oOperator00000000000000wang1"


def _user(session: Session, name: str = "wang") -> OperatorUser:
    user = OperatorUser(username=name, role="editor", password_hash="x", created_at=NOW)
    session.add(user)
    session.flush()
    return user


def _ready(session: Session, user: OperatorUser, now: datetime = NOW) -> BindCode:
    code = sendtome.request_code(session, user, now)
    sendtome.qr_made(code, "ticket", "http://weixin.qq.com/q/x")
    return code


def test_a_code_is_random_carried_by_its_scene_and_expires_in_ten_minutes(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        user = _user(session)
        first, second = sendtome.request_code(session, user, NOW), sendtome.request_code(session, user, NOW)
        assert first.code != second.code and len(first.code) >= 20
        assert sendtome.code_in(sendtome.scene_of(second)) == second.code
        assert sendtome.code_in("clinic-poster") is None and sendtome.code_in(None) is None
        assert second.expires_at == NOW + timedelta(minutes=sendtome.CODE_MINUTES)
        assert first.state == "replaced"
        assert [c.id for c in sendtome.waiting_codes(session, NOW)] == [second.id]
        assert sendtome.waiting_codes(session, NOW + timedelta(minutes=11)) == []
        assert sendtome.current_code(session, user.id, NOW + timedelta(minutes=11)) is None


def test_a_scan_binds_once_then_the_code_is_used(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        user = _user(session)
        code = _ready(session, user)
        assert sendtome.bind(session, code.code, OPENID, NOW + timedelta(minutes=1)) == sendtome.Bound("bound", "wang")
        assert sendtome.bind(session, code.code, "oSomeoneElse000000000000000", NOW) == sendtome.Bound("used")
        bound = sendtome.binding(session, user.id)
        assert bound is not None and bound.openid == OPENID
        assert sendtome.current_code(session, user.id, NOW) is None
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["wechat-bind-code", "wechat-bind"]


def test_an_expired_replaced_unknown_or_unready_code_binds_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        user = _user(session)
        old = _ready(session, user)
        late = NOW + timedelta(minutes=sendtome.CODE_MINUTES, seconds=1)
        assert sendtome.bind(session, old.code, OPENID, late).outcome == "expired"
        newer = sendtome.request_code(session, user, NOW)  # the old one is replaced
        assert sendtome.bind(session, old.code, OPENID, NOW).outcome == "used"
        assert sendtome.bind(session, newer.code, OPENID, NOW).outcome == "expired"  # no QR code made yet
        assert sendtome.bind(session, "no-such-code", OPENID, NOW).outcome == "unknown"
        assert session.scalars(select(OperatorWeChat)).all() == []


def test_a_code_binds_only_its_own_operator_and_unbind_forgets(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        wang, li = _user(session, "wang"), _user(session, "li")
        sendtome.bind(session, _ready(session, li).code, OPENID, NOW)
        assert sendtome.binding(session, wang.id) is None
        assert sendtome.binding(session, li.id).openid == OPENID  # type: ignore[union-attr]
        assert sendtome.unbind(session, li, NOW) and not sendtome.unbind(session, li, NOW)
        assert sendtome.binding(session, li.id) is None
        entry = accounts.audit_log(session, "user:li", limit=1)[0]
        assert entry.action == "wechat-unbind" and entry.before == {"openid": sendtome.tail(OPENID)}
        assert OPENID not in str(entry.before)  # the audit keeps only the end of the openid


def test_a_test_send_needs_a_binding_and_one_form_queues_one(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        user = _user(session)
        post = Post(content="section:opening", audience="all", channel="auto", status="draft", created_at=NOW)
        session.add(post)
        session.flush()
        with pytest.raises(SendToMeError) as refused:
            sendtome.request_test_send(session, user, post, NOW, "key-1")
        assert refused.value.code == "not_bound"
        sendtome.bind(session, _ready(session, user).code, OPENID, NOW)
        first = sendtome.request_test_send(session, user, post, NOW, "key-1")
        again = sendtome.request_test_send(session, user, post, NOW, "key-1")
        assert first.id == again.id and first.openid == OPENID and first.state == "pending"
        assert sendtome.pending_sends(session) == [first.id]
        claimed = sendtome.claim(session, first.id)
        assert claimed is not None and claimed.state == "sending" and sendtome.claim(session, first.id) is None
        assert accounts.audit_log(session, f"post:{post.id}")[0].action == "test-send"
