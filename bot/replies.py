"""Reply values handlers return, and the one place they become WeChat reply XML within the limits."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from posts.limits import (
    NEWS_ARTICLES_PER_REPLY,
    NEWS_DESCRIPTION_MAX_BYTES,
    NEWS_TITLE_MAX_BYTES,
    TEXT_REPLY_MAX_BYTES,
    truncate_utf8,
    utf8_len,
)

log = logging.getLogger(__name__)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Text:
    content: str


@dataclass(frozen=True)
class Article:
    title: str
    description: str
    url: str
    pic_url: str = ""


@dataclass(frozen=True)
class News:
    articles: tuple[Article, ...]


@dataclass(frozen=True)
class Empty:
    pass


Reply = Text | News | Empty


def in_script(reply: Reply, convert: Callable[[str], str], link: Callable[[str], str]) -> Reply:
    """``reply`` with its words converted (posts.script) and its page links pointing at the same script."""
    if isinstance(reply, Text):
        return Text(convert(reply.content))
    if isinstance(reply, News):
        return News(
            tuple(Article(convert(a.title), convert(a.description), link(a.url), a.pic_url) for a in reply.articles)
        )
    return reply


def kind_of(reply: Reply) -> str:
    return {Text: "text", News: "news", Empty: "empty"}[type(reply)]


def cdata(value: str) -> str:
    """``value`` as CDATA; a ``]]>`` inside is split so it cannot end the section early.

    Characters XML 1.0 forbids (control characters) are dropped.
    """
    value = _NOT_XML.sub("", value)
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


_cdata_cached = lru_cache(maxsize=64)(cdata)  # the account's own id: one value per app


@lru_cache(maxsize=1024)
def _text_tail(content: str) -> tuple[str, int]:
    """Everything of a text reply after CreateTime, and the original byte length if it had to be cut (else 0).

    Handlers answer from a small set of rendered bodies (the renderer and the catalog memoise them), so the length
    check, the cut, the control-character filter and the CDATA escaping run once per distinct text.
    """
    size = utf8_len(content)
    cut_from = 0
    if size > TEXT_REPLY_MAX_BYTES:
        cut_from = size
        content = truncate_utf8(content, TEXT_REPLY_MAX_BYTES)
    return f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(content)}</Content></xml>", cut_from


def render(reply: Reply, *, to_user: str, from_user: str, create_time: int) -> str:
    """The plaintext reply XML; an empty string for :class:`Empty` (WeChat then shows nothing)."""
    if isinstance(reply, Empty):
        return ""
    head = (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{_cdata_cached(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
    )
    if isinstance(reply, Text):
        tail, cut_from = _text_tail(reply.content)
        if cut_from:
            log.warning("text reply of %d bytes cut to %d", cut_from, TEXT_REPLY_MAX_BYTES)
        return head + tail
    articles = reply.articles[:NEWS_ARTICLES_PER_REPLY]
    if len(reply.articles) > NEWS_ARTICLES_PER_REPLY:  # `wxbot content check` refuses such a pack
        log.error("news reply of %d articles cut to %d", len(reply.articles), NEWS_ARTICLES_PER_REPLY)
    if not articles:
        return ""
    items = "".join(
        "<item>"
        f"<Title>{cdata(truncate_utf8(a.title, NEWS_TITLE_MAX_BYTES))}</Title>"
        f"<Description>{cdata(truncate_utf8(a.description, NEWS_DESCRIPTION_MAX_BYTES))}</Description>"
        f"<PicUrl>{cdata(a.pic_url)}</PicUrl><Url>{cdata(a.url)}</Url>"
        "</item>"
        for a in articles
    )
    return (
        f"{head}<MsgType><![CDATA[news]]></MsgType><ArticleCount>{len(articles)}</ArticleCount>"
        f"<Articles>{items}</Articles></xml>"
    )
