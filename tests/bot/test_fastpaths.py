"""The request path's shortcuts give the same answers as the general code they stand in for."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from bot.app import parse_query
from bot.crypto import MessageCrypto, random_prefix
from bot.rendercache import CachedCatalog
from bot.xmlin import BadXml, parse_fields
from tests.bot.conftest import AES_KEY, APP_ID, TOKEN, small_catalog


@pytest.mark.parametrize(
    "query",
    [
        "signature=abc&timestamp=1&nonce=2",
        "signature=abc&timestamp=&nonce",
        "a=1&a=2&&b=",
        "openid=o%2Bx&msg_signature=a+b",
        "",
    ],
)
def test_parse_query_matches_parse_qsl(query: str) -> None:
    assert parse_query(query) == dict(parse_qsl(query, keep_blank_values=True))


def test_plain_parser_path_keeps_predefined_entities_and_refuses_others() -> None:
    fields = parse_fields(b"<xml><Content>a &amp; b &lt;c&gt; &#20320;</Content></xml>")
    assert fields == {"Content": "a & b <c> 你"}
    with pytest.raises(BadXml):
        parse_fields(b"<xml><Content>&xxe;</Content></xml>")


def test_doctype_text_inside_cdata_is_content_not_a_dtd() -> None:
    assert parse_fields(b"<xml><Content><![CDATA[<!DOCTYPE x>]]></Content></xml>") == {"Content": "<!DOCTYPE x>"}
    with pytest.raises(BadXml):
        parse_fields(b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><Content>&e;</Content></xml>')


def test_random_prefix_is_16_letters_or_digits_and_round_trips() -> None:
    prefixes = {random_prefix() for _ in range(50)}
    assert len(prefixes) == 50 and all(len(p) == 16 and p.isalnum() and p.isascii() for p in prefixes)
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    assert crypto.decrypt(crypto.encrypt("你好")) == "你好"
    assert crypto.decrypt(crypto.encrypt("x" * 100)) == "x" * 100  # the cached Cipher serves many messages


def test_cached_catalog_answers_like_the_catalog() -> None:
    catalog = small_catalog()
    cached = CachedCatalog(catalog)
    for text in ("你好", "NurOwn", "neuronata r", "副作用是什么", "nothing", ""):
        assert cached.match_keyword(text) == catalog.match_keyword(text)
        assert cached.find_therapy(text) == catalog.find_therapy(text)
    assert cached.sections == catalog.sections and cached.section("outlook") == catalog.section("outlook")
