"""Hostile pushes beyond tests/bot/test_protocol.py, and the replay/timestamp policy of docs/security.md."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import WebApp
from posts.models import InboundEvent
from posts.settings import Settings
from tests.production.test_fuzz import make_app, push_xml
from tests.production.wsgi import GH, call, qs, safe_envelope, signed_query

HEADER = "<ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
QUADRATIC = (
    f'<!DOCTYPE xml [<!ENTITY a "{"a" * 20000}">]><xml>{HEADER}<Content>{"&a;" * 10000}</Content><MsgId>1</MsgId></xml>'
)[:40000]
HOSTILE = {
    "quadratic_blowup": QUADRATIC,
    "parameter_entity": '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><xml></xml>',
    "external_dtd": '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml></xml>',
    "xinclude": '<xml xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd"/></xml>',
    "processing_instruction": '<?xml-stylesheet href="http://127.0.0.1:9/x"?><xml><MsgType>text</MsgType></xml>',
}


@pytest.fixture
def plain(settings: Settings, sessions: sessionmaker[Session]) -> WebApp:
    return make_app(settings, sessions, "plain")


@pytest.fixture
def safe(settings: Settings, sessions: sessionmaker[Session]) -> WebApp:
    return make_app(settings, sessions, "safe")


def logged(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundEvent)) or 0


def text(content: str, msg_id: int, create_time: int = 1_700_000_000) -> str:
    fields = {"ToUserName": GH, "FromUserName": "oHostile01", "CreateTime": str(create_time), "MsgType": "text"}
    return push_xml({**fields, "Content": content, "MsgId": str(msg_id)})


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_xml_plain_and_inside_the_ciphertext(
    plain: WebApp, safe: WebApp, sessions: sessionmaker[Session], name: str
) -> None:
    assert call(plain, "POST", qs(signed_query()), HOSTILE[name].encode()).status in (200, 400)
    query = signed_query()
    body = safe_envelope(HOSTILE[name], query)
    assert call(safe, "POST", qs(query), body).status == 400
    assert logged(sessions) == 0


def test_deeply_nested_elements_do_not_crash(plain: WebApp, sessions: sessionmaker[Session]) -> None:
    body = "<xml>" + "<a>" * 7000 + "</a>" * 7000 + "</xml>"
    assert call(plain, "POST", qs(signed_query()), body.encode()).status == 400
    assert logged(sessions) == 0


def test_replay_of_a_captured_push_is_answered_from_the_dedupe_row(
    plain: WebApp, sessions: sessionmaker[Session]
) -> None:
    query, body = qs(signed_query()), text("订阅 NurOwn", 880001).encode()
    first = call(plain, "POST", query, body)
    again = [call(plain, "POST", query, body) for _ in range(3)]
    assert first.status == 200 and first.body
    assert all(a.status == 200 and a.body == first.body for a in again)
    assert logged(sessions) == 1


def test_very_old_timestamp_with_valid_signature_is_accepted(plain: WebApp, sessions: sessionmaker[Session]) -> None:
    query = qs(signed_query(timestamp="978307200"))  # 2001-01-01: WeChat documents no freshness window
    answer = call(plain, "POST", query, text("帮助", 880002, create_time=978307200).encode())
    assert answer.status == 200 and answer.body
    assert logged(sessions) == 1


def test_safe_mode_captured_query_cannot_carry_another_body(safe: WebApp, sessions: sessionmaker[Session]) -> None:
    query = signed_query()
    body = safe_envelope(text("帮助", 880003), query)
    assert call(safe, "POST", qs(query), body).status == 200
    forged_query = signed_query()
    forged_body = safe_envelope(text("订阅 NurOwn", 880004), forged_query)
    forged_query["msg_signature"] = query["msg_signature"]  # the captured one, for the new ciphertext
    assert call(safe, "POST", qs(forged_query), forged_body).status == 403
    assert logged(sessions) == 1
