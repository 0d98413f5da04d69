"""Reply values handlers return, and the one place they become WeChat reply XML within the limits."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from posts.limits import (
    NEWS_ARTICLES_FOR_EVENT,
    NEWS_ARTICLES_FOR_MESSAGE,
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


def kind_of(reply: Reply) -> str:
    return {Text: "text", News: "news", Empty: "empty"}[type(reply)]


def cdata(value: str) -> str:
    """``value`` as CDATA; a ``]]>`` inside is split so it cannot end the section early.

    Characters XML 1.0 forbids (control characters) are dropped.
    """
    value = _NOT_XML.sub("", value)
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render(reply: Reply, *, to_user: str, from_user: str, create_time: int, one_article_only: bool) -> str:
    """The plaintext reply XML; an empty string for :class:`Empty` (WeChat then shows nothing)."""
    if isinstance(reply, Empty):
        return ""
    head = (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
    )
    if isinstance(reply, Text):
        content = reply.content
        if utf8_len(content) > TEXT_REPLY_MAX_BYTES:
            log.warning("text reply of %d bytes cut to %d", utf8_len(content), TEXT_REPLY_MAX_BYTES)
            content = truncate_utf8(content, TEXT_REPLY_MAX_BYTES)
        return f"{head}<MsgType><![CDATA[text]]></MsgType><Content>{cdata(content)}</Content></xml>"
    limit = NEWS_ARTICLES_FOR_MESSAGE if one_article_only else NEWS_ARTICLES_FOR_EVENT
    articles = reply.articles[:limit]
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
