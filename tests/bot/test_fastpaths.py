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


def test_random_prefixes_do_not_repeat_across_pool_refills_or_a_fork() -> None:
    import os

    many = [random_prefix() for _ in range(1000)]  # several refills of the pool
    assert len(set(many)) == len(many)
    assert all(len(p) == 16 and all(c in "0123456789abcdef" for c in p) for p in many)
    random_prefix()  # the pool is not empty now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child must draw its own, not the parent's left-overs
        os.write(write, ",".join(random_prefix() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 1000).decode().split(",")
    os.close(read)
    parent = [random_prefix() for _ in range(300)]
    assert not set(child) & set(parent)


def test_insert_rows_splits_into_power_of_two_statements_and_keeps_order() -> None:
    import sqlite3

    from bot.store.sqlite import insert_rows

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (n INTEGER, s TEXT)")
    for count in (0, 1, 2, 13, 256, 300):
        conn.execute("DELETE FROM t")
        rows = [(i, f"r{i}") for i in range(count)]
        insert_rows(conn, "INSERT INTO t (n, s) VALUES ", "(?, ?)", rows)
        assert conn.execute("SELECT n, s FROM t ORDER BY rowid").fetchall() == rows


def test_metrics_histogram_and_counters_as_prometheus_gives_them() -> None:
    from bot.metrics import Metrics

    metrics = Metrics()
    metrics.push(0.001, "text", False)  # on the 0.001 bound: counted in le="0.001"
    metrics.push(0.003, "news", True)
    metrics.observe(7.0)
    metrics.count_request("wechat", 200)
    text = metrics.render().decode()
    assert 'wxbot_callback_seconds_bucket{le="0.001"} 1.0' in text
    assert 'wxbot_callback_seconds_bucket{le="0.005"} 2.0' in text
    assert 'wxbot_callback_seconds_bucket{le="5.0"} 2.0' in text
    assert 'wxbot_callback_seconds_bucket{le="+Inf"} 3.0' in text
    assert "wxbot_callback_seconds_count 3.0" in text
    assert "wxbot_callback_seconds_sum 7.004" in text
    assert 'wxbot_replies_total{kind="news"} 1.0' in text
    assert "wxbot_duplicates_dropped_total 1.0" in text
    assert 'wxbot_http_requests_total{route="wechat",status="200"} 1.0' in text
