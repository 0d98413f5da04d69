"""PUBLISHJOBFINISH (and the FREEPUBLISHJOBFINISH spelling of the docs): nested fields read, result kept."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.handlers import Context, jobs
from bot.message import Inbound
from bot.replies import Empty
from bot.xmlin import parse_fields
from posts import articles
from posts.account_models import Article, PublishResult
from tests.bot.conftest import small_catalog

NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)
DOC_EXAMPLE = (
    "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[oSys]]></FromUserName>"
    "<CreateTime>1700000005</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
    "<PublishEventInfo><publish_id>2247503051</publish_id><publish_status>{status}</publish_status>"
    "<article_id><![CDATA[b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvy]]></article_id><article_detail><count>1</count>"
    "<item><idx>1</idx><article_url><![CDATA[https://mp.weixin.qq.com/s/abc]]></article_url></item></article_detail>"
    "</PublishEventInfo></xml>"
)


def push(event: str = "PUBLISHJOBFINISH", status: int = 0) -> Inbound:
    return Inbound.from_fields(parse_fields(DOC_EXAMPLE.format(event=event, status=status).encode()))


def test_nested_fields_are_read_as_paths() -> None:
    message = push()
    assert message.publish_id == "2247503051" and message.log_key == "2247503051"
    assert message.publish_info("article_detail/item/article_url") == "https://mp.weixin.qq.com/s/abc"
    assert message.publish_info("publish_status") == "0"


def test_either_spelling_finishes_the_article(sessions: sessionmaker[Session]) -> None:
    for event in ("PUBLISHJOBFINISH", "FREEPUBLISHJOBFINISH"):
        with sessions() as session:
            session.add(
                Article(
                    content="section:a",
                    content_version=0,
                    state="publishing",
                    publish_id="2247503051",
                    requested_at=NOW,
                )
            )
            session.flush()
            ctx = Context(session, small_catalog(), None, None, push(event), NOW)  # type: ignore[arg-type]
            assert isinstance(jobs.published(ctx), Empty)
            assert articles.published_url(session, "section:a") == "https://mp.weixin.qq.com/s/abc"
            session.rollback()


def test_a_result_before_its_article_is_kept_then_applied(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        ctx = Context(session, small_catalog(), None, None, push(status=0), NOW)  # type: ignore[arg-type]
        jobs.published(ctx)
        assert session.get(PublishResult, 1) is not None
        row = Article(
            content="section:a", content_version=0, state="publishing", publish_id="2247503051", requested_at=NOW
        )
        session.add(row)
        session.flush()
        assert articles.apply_known_result(session, row, NOW)
        assert row.state == "published" and row.article_id == "b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvy"
