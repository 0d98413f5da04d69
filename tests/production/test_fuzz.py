"""Property-based fuzzing of the callback (in-process WSGI) and of the content loader: no 500, no crash."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import WebApp
from posts.loader import default_content_dir, load_catalog
from posts.models import Follower, InboundEvent, SeenMessage
from posts.render import Renderer
from posts.settings import Settings, replace
from tests.production.wsgi import AES_KEY, APP_ID, GH, TOKEN, call, qs, safe_envelope, signed_query
from wxbot.runtime import bot_app

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CATALOG, _ = load_catalog(default_content_dir())
MSG_TYPES = ["text", "image", "voice", "video", "shortvideo", "location", "link", "event", "bogus", ""]
EVENTS = ["subscribe", "unsubscribe", "SCAN", "CLICK", "VIEW", "LOCATION", "TEMPLATESENDJOBFINISH", "MASSSENDJOBFINISH"]
field_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


def make_app(settings_: Settings, sessions: sessionmaker[Session], mode: str) -> WebApp:
    wx = {"app_id": APP_ID, "app_secret": "s" * 32, "token": TOKEN, "encoding_aes_key": AES_KEY}
    configured = replace(settings_, wechat={**wx, "original_id": GH, "message_mode": mode})
    return bot_app(configured, sessions, CATALOG, Renderer(CATALOG, "https://als.example.org"))


@pytest.fixture
def plain_app(settings: Settings, sessions: sessionmaker[Session]) -> WebApp:
    return make_app(settings, sessions, "plain")


@pytest.fixture
def safe_app(settings: Settings, sessions: sessionmaker[Session]) -> WebApp:
    return make_app(settings, sessions, "safe")


@pytest.fixture
def no_crash(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The app turns an exception into an empty 200 for WeChat: a crash shows only as an ERROR log."""
    with caplog.at_level(logging.ERROR, logger="bot"):
        yield
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not crashes, crashes[0].getMessage() + "\n" + (caplog.text[-3000:])


def stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return sum(session.scalar(select(func.count()).select_from(t)) for t in (InboundEvent, SeenMessage, Follower))


def push_xml(fields: dict[str, str]) -> str:
    inner = "".join(f"<{k}><![CDATA[{v.replace(']]>', ']]]]><![CDATA[>')}]]></{k}>" for k, v in fields.items())
    return f"<xml>{inner}</xml>"


pushes = st.fixed_dictionaries(
    {
        "ToUserName": st.just(GH),
        "FromUserName": st.from_regex(r"o[A-Za-z0-9_-]{1,40}", fullmatch=True),
        "CreateTime": st.integers(0, 2**40).map(str),
        "MsgType": st.sampled_from(MSG_TYPES),
    },
    optional={
        "Content": field_text,
        "MsgId": st.integers(-(2**70), 2**70).map(str),
        "Event": st.sampled_from(EVENTS) | field_text,
        "EventKey": st.sampled_from(["qrscene_nurown", "TOC", "HELP", "SECTION_OPENING", ""]) | field_text,
        "Ticket": field_text,
        "MsgID": st.integers(0, 2**64).map(str),
        "Status": field_text,
    },
)


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["signature", "timestamp", "nonce", "openid", "x"]), field_text),
       body=st.binary(max_size=2000), method=st.sampled_from(["POST", "GET", "PUT"]))  # fmt: skip
def test_unsigned_requests_are_refused_and_store_nothing(
    plain_app: WebApp, sessions: sessionmaker[Session], no_crash: None, query: dict, body: bytes, method: str
) -> None:
    answer = call(plain_app, method, qs(query), body)
    assert answer.status in (403, 405), answer
    assert stored(sessions) == 0


@FUZZ
@given(body=st.binary(max_size=3000) | field_text.map(str.encode), content_length=st.sampled_from([None, "", "abc"]))
def test_signed_arbitrary_bodies_never_500(
    plain_app: WebApp, no_crash: None, body: bytes, content_length: str | None
) -> None:
    answer = call(plain_app, "POST", qs(signed_query()), body, content_length)
    assert answer.status in (200, 400, 413), answer


@FUZZ
@given(fields=pushes)
def test_signed_well_formed_pushes_with_arbitrary_fields_are_answered(
    plain_app: WebApp, no_crash: None, fields: dict[str, str]
) -> None:
    answer = call(plain_app, "POST", qs(signed_query()), push_xml(fields).encode())
    assert answer.status in (200, 400), answer
    assert b"Traceback" not in answer.body


@FUZZ
@given(fields=pushes, junk=st.booleans())
def test_safe_mode_encrypted_pushes_with_arbitrary_fields(
    safe_app: WebApp, no_crash: None, fields: dict[str, str], junk: bool
) -> None:
    query = signed_query()
    plaintext = push_xml(fields) if not junk else push_xml(fields)[: len(push_xml(fields)) // 2]
    body = safe_envelope(plaintext, query)  # adds msg_signature to the query
    answer = call(safe_app, "POST", qs(query), body)
    assert answer.status in (200, 400), answer
    if answer.status == 200 and answer.body:
        assert b"<Encrypt>" in answer.body  # safe mode never answers in plaintext


# -- the content loader -------------------------------------------------------------------------------

yamlish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | field_text | st.dates().map(str),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(field_text, inner, max_size=4),
    max_leaves=12,
)


def front_matter(data: object) -> str:
    import yaml

    return "---\n" + yaml.safe_dump(data, allow_unicode=True) + "---\n"


files = st.one_of(
    field_text,
    st.binary(max_size=500).map(lambda b: b.decode("latin-1")),
    st.tuples(yamlish, field_text).map(lambda t: front_matter(t[0]) + t[1]),
    st.tuples(yamlish).map(lambda t: front_matter({"key": "x", "title": "t", "sources": [1], "extra": t[0]})),
    st.just("---\nkey: [unclosed\n---\n"),
    st.just("---\n&a [*a]\n---\n"),
    st.just("---\n!!python/object/apply:os.system ['true']\n---\n"),
)


@pytest.fixture(scope="module")
def pack() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="wxbot-pack-"))
    shutil.copytree(default_content_dir(), folder / "content")
    yield folder / "content"
    shutil.rmtree(folder)


PACK_FILES = sorted(p.relative_to(default_content_dir()) for p in default_content_dir().rglob("*") if p.is_file())


@settings(max_examples=150, deadline=None)
@given(target=st.sampled_from(PACK_FILES), content=files)
def test_content_loader_survives_any_file(pack: Path, target: Path, content: str) -> None:
    path = pack / target
    original = path.read_bytes()
    try:
        path.write_text(content, encoding="utf-8", errors="surrogateescape")
        catalog, problems = load_catalog(pack)
        assert catalog is not None
        assert all(str(problem) for problem in problems)
    finally:
        path.write_bytes(original)
