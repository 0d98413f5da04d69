"""Reply rendering within WeChat's limits: text bytes, article counts, CDATA, empty replies."""

from __future__ import annotations

from defusedxml.ElementTree import fromstring

from bot.replies import Article, Empty, News, Text, cdata, render
from bot.xmlin import parse_fields
from posts.limits import utf8_len


def _render(reply: Text | News | Empty) -> str:
    return render(reply, to_user="oU", from_user="gh_x", create_time=1700000000)


def test_empty_is_a_zero_length_body() -> None:
    assert _render(Empty()) == ""
    assert _render(News(())) == ""


def test_text_is_cut_at_2048_utf8_bytes() -> None:
    xml = _render(Text("渐" * 1000))
    assert utf8_len(parse_fields(xml)["Content"]) <= 2048


def test_news_has_one_article_for_every_push() -> None:
    articles = tuple(Article(f"t{i}", "d", f"http://x/{i}") for i in range(10))
    assert fromstring(_render(News(articles))).findtext("ArticleCount") == "1"


def test_news_title_and_description_are_cut_to_their_byte_limits() -> None:
    item = fromstring(_render(News((Article("标" * 40, "述" * 80, "http://x"),)))).find("Articles/item")
    assert item is not None
    assert utf8_len(item.findtext("Title") or "") <= 64 and utf8_len(item.findtext("Description") or "") <= 120


def test_cdata_terminator_and_control_characters() -> None:
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
    assert parse_fields(_render(Text("x]]>y\x00\x07z")))["Content"] == "x]]>yz"
