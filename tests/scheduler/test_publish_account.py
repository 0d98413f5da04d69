"""Published articles, the account check and its degradations, the follower import, against the stand-in."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from posts import alerts, articles, capabilities
from posts.account_models import Article, CapabilityProfile, FollowerSync, PublishResult
from posts.menu import load_menu, menu_body
from posts.models import Follower, Outbox, Subscription
from posts.posting import PostError
from posts.queue import Post, TherapyTag
from sandbox import Platform, SandboxServer
from scheduler import account_check, followers_sync
from scheduler.provision import push_menu
from scheduler.publish import NO_PUBLISH, Publisher, cover_png, upload_images
from tests.scheduler.conftest import World
from tests.scheduler.test_send import queue
from tests.scheduler.test_wechat_state import bot_for

SECTION = "section:opening"


def request(world: World, ref: str = SECTION) -> int:
    with world.sessions() as session:
        asked = articles.request(session, world.catalog, ref, "王医生", world.now())
        session.commit()
        return asked.article.id


def article(world: World, article_id: int) -> Article:
    with world.sessions() as session:
        found = session.get(Article, article_id)
        assert found is not None
        session.expunge(found)
        return found


def publisher(world: World) -> Publisher:
    return Publisher(world.sessions, world.api, world.renderer, clock=world.now)


def check(world: World) -> account_check.Check:
    found = account_check.check(world.api, world.settings.wechat.account_type)
    with world.sessions() as session:
        account_check.store(session, found, world.now)
        session.commit()
    return found


def kind(platform: Platform, account_type: str, verified: bool) -> None:
    platform.config.account_type = account_type  # type: ignore[assignment]
    platform.config.verified = verified


# -- published articles ------------------------------------------------------------------------------------------


def test_a_section_published_as_an_article_is_linked_from_the_menu(world: World, server: SandboxServer) -> None:
    (openid,) = world.follow(1)
    push_menu(world.api, menu_body(load_menu(world.settings), "https://als.example.org"))
    article_id = request(world, "section:trials")  # a section the shipped menu has a button for
    with bot_for(world):
        world.engine().tick()  # render, cover, draft/add, freepublish/submit; WeChat pushes PUBLISHJOBFINISH
        assert server.pusher.wait_idle()
        (pushed,) = server.pusher.events("PUBLISHJOBFINISH")
        assert pushed.ok
        world.engine().tick()  # the result came before or after the submit's answer was stored: applied either way
        row = article(world, article_id)
        assert row.state == "published" and row.url and row.url.startswith("https://mp.weixin.qq.com/s/")
        job = world.platform.publishes[row.publish_id or ""]
        (sent,) = job.articles
        trials = world.catalog.section("trials")
        assert trials is not None and sent["title"] == trials.title
        assert "<script" not in sent["content"] and "<style" not in sent["content"] and "class=" not in sent["content"]
        assert "免责声明" in sent["content"] and "最后审核于 2026-12-01" in sent["content"]
        assert world.platform.media[sent["thumb_media_id"]].permanent  # the cover went up as permanent material
        reply = server.pusher.click(openid, "SECTION_TRIALS")
    assert reply.reply is not None and reply.reply.msgtype == "news"
    (item,) = reply.reply.payload["articles"]
    assert item["url"] == row.url  # the article, not the H5 page
    with world.sessions() as session:
        result = session.scalars(select(PublishResult)).one()
        assert (result.publish_id, result.status, result.article_url) == (row.publish_id, 0, row.url)


def test_publishing_again_the_same_content_version_publishes_nothing_twice(world: World) -> None:
    first = request(world)
    publisher(world).run()
    assert request(world) == first
    assert len(world.platform.publishes) == 1


def test_without_the_push_a_freepublish_get_poll_finishes_the_article(world: World) -> None:
    world.platform.config.auto_complete_publish = False
    article_id = request(world, "update:xs228/2025-06-04-trial-clearances")
    engine = publisher(world)
    engine.run()
    row = article(world, article_id)
    assert row.state == "publishing" and row.publish_id
    world.platform.complete_publish(row.publish_id or "", 0)  # no callback URL: the event goes nowhere
    assert engine.run() == 0  # polled only after POLL_AFTER
    world.platform.config.clock.advance(60)  # type: ignore[attr-defined]
    assert engine.run() == 1
    row = article(world, article_id)
    assert row.state == "published" and row.url
    (sent,) = world.platform.publishes[row.publish_id or ""].articles
    assert sent["title"].endswith("（非上市批准）")  # the caveat is kept whole
    assert "事件日期 2025-06-04" in sent["content"]


def test_a_failed_publish_job_is_recorded_with_its_status(world: World) -> None:
    world.platform.config.auto_complete_publish = False
    article_id = request(world)
    engine = publisher(world)
    engine.run()
    row = article(world, article_id)
    world.platform.complete_publish(row.publish_id or "", 4)
    world.platform.config.clock.advance(60)  # type: ignore[attr-defined]
    engine.run()
    row = article(world, article_id)
    assert row.state == "failed" and "rejected by the platform review" in (row.error or "")
    assert request(world) == article_id and article(world, article_id).state == "queued"  # asked again: requeued


def test_busy_wechat_keeps_the_article_queued_and_a_later_tick_publishes_it(world: World) -> None:
    article_id = request(world)
    world.platform.inject_fault("draft/add", "busy", count=1)
    engine = publisher(world)
    engine.run()
    row = article(world, article_id)
    assert row.state == "queued" and "系统繁忙 (-1)" in (row.error or "")
    engine.run()
    assert article(world, article_id).state == "publishing"  # no callback here: the poll finishes it
    world.platform.config.clock.advance(60)  # type: ignore[attr-defined]
    engine.run()
    assert article(world, article_id).state == "published"
    assert len(world.platform.publishes) == 1


def test_article_images_are_uploaded_and_unreadable_ones_left_out(world: World) -> None:
    html = '<p><img src="img/a.png" alt="a"></p><p><img src="https://elsewhere.example/b.png"></p><img src="img/a.png">'
    images = {"img/a.png": cover_png(4, 4)}
    out, uploaded = upload_images(world.api, html, images.get)
    assert uploaded == 1 and out.count("http://mmbiz.qpic.cn/sandbox/") == 2 and "elsewhere" not in out
    assert world.platform.api_calls("/cgi-bin/media/uploadimg") == 1


# -- the account check and how the product degrades -------------------------------------------------------------


def test_account_check_on_an_unverified_subscription_account_reports_what_is_unavailable(world: World) -> None:
    kind(world.platform, "subscription", verified=False)
    found = check(world)
    assert found.token_ok and found.callback_ips == ["127.0.0.1"] and found.api_ips == ["127.0.0.1"]
    unavailable = set(found.unavailable())
    assert {"custom", "template", "mass", "notices", "publish", "qr", "menu", "users", "tags"} == unavailable
    assert found.available() == ["draft"]
    assert "/cgi-bin/draft/add" in found.quotas and found.quotas["/cgi-bin/draft/add"]["daily_limit"] == 1000
    assert "/cgi-bin/message/custom/send" not in found.quotas  # only the APIs the account may call
    with world.sessions() as session:
        profile = capabilities.current(session)
        assert profile.checked_at == world.now() and not profile.has("publish") and profile.has("draft")
        said = profile.degradations()
    assert capabilities.DEGRADED["qr"] in said and capabilities.DEGRADED["publish"] in said
    assert capabilities.DEGRADED["mass"] in said and capabilities.DEGRADED["notices"] in said


def test_the_product_degrades_as_the_profile_says(world: World, server: SandboxServer) -> None:
    openids = world.follow(3, interact="message")
    scene = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "therapy-xs228"}}}
    world.api.call("/cgi-bin/qrcode/create", scene)  # a code printed while the account was verified
    kind(world.platform, "subscription", verified=False)
    check(world)
    # no publish: the article fails with the plain explanation, and freepublish is never called
    article_id = request(world)
    publisher(world).run()
    assert article(world, article_id).error == NO_PUBLISH
    assert world.platform.api_calls("/cgi-bin/freepublish/submit") == 0
    # no custom messages, no mass send: the planner says so for every follower, nothing is sent
    post_id = queue(world, channel="auto")
    with world.sessions() as session:
        post = session.get(Post, post_id)
        plan, _message = world.sender().plan(session, post, world.now())
    assert plan.counts() == {"none": 3}
    assert set(plan.codes()) == {"no_mass"}
    assert plan.unreachable() == 3
    # no QR codes: a scan-follow gets the keyword welcome and no latest update is queued
    with bot_for(world):
        got = server.pusher.follow("oNewFollowerThroughQr000000001", scene="therapy-xs228")
    assert got.reply is not None
    assert got.reply.payload["content"].strip() == world.renderer.welcome("default").text.strip()  # not the scene's
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "custom_message")) == 0
    assert all(not world.received(o) for o in openids)


def test_a_verified_service_account_has_every_capability(world: World) -> None:
    found = check(world)
    assert found.unavailable() == {} and "/cgi-bin/freepublish/submit" in found.quotas
    with world.sessions() as session:
        assert capabilities.current(session).degradations() == []


def test_an_address_off_the_ip_whitelist_is_reported_with_this_servers_egress_address(world: World) -> None:
    world.platform.config.ip_whitelist = ("203.0.113.7",)
    found = check(world)
    assert not found.token_ok and found.token_error.startswith("40164")
    assert found.egress_ip == "127.0.0.1"
    with world.sessions() as session:
        row = session.scalars(select(CapabilityProfile)).one()
        assert row.egress_ip == "127.0.0.1" and not row.token_ok
        assert {s["state"] for s in row.capabilities.values()} == {capabilities.IP_BLOCKED}


def test_annual_renew_and_verify_expired_raise_an_operator_alert_once(world: World, server: SandboxServer) -> None:
    with bot_for(world):
        for _ in range(2):
            event = {"FromUserName": "oSandboxSystem00000000000000", "Event": "annual_renew", "ExpiredTime": 1800000000}
            assert server.pusher.push_job_event(event).ok
        event = {"FromUserName": "oSandboxSystem00000000000000", "Event": "verify_expired", "ExpiredTime": 1800000001}
        assert server.pusher.push_job_event(event).ok
    with world.sessions() as session:
        raised = alerts.open_alerts(session)
    assert [a.kind for a in raised] == ["annual_renew", "verify_expired"]
    assert "ExpiredTime 1800000000" in raised[0].message


# -- followers the bot never saw follow ---------------------------------------------------------------------------


@pytest.fixture
def paged(world: World) -> World:
    world.platform.limits = dataclasses.replace(world.platform.limits, user_page_size=100)
    world.platform.config.limits = world.platform.limits
    return world


def test_followers_sync_pages_resumes_and_imports_nothing_twice(paged: World) -> None:
    world = paged
    known = world.follow(5)  # the bot saw these follow
    existing = world.platform.add_followers(245, prefix="oOld")
    with world.sessions() as session:
        session.add(TherapyTag(therapy_key="xs228", tag_id=101, name="XS228", created_at=world.now()))
        session.commit()
    with world.platform.lock:
        for openid in existing[:7]:
            world.platform.follower_record(openid).tags.append(101)
    seen: list[tuple[int, int]] = []
    first = followers_sync.sync(world.sessions, world.api, world.now, max_pages=1, progress=lambda *a: seen.append(a))
    assert (first.seen, first.total, first.pages) == (100, 250, 1)
    assert seen == [(100, 250)]
    with world.sessions() as session:
        cursor = session.scalars(select(FollowerSync)).one()
        assert cursor.state == "running" and cursor.next_openid
    rest = followers_sync.sync(world.sessions, world.api, world.now)
    assert rest.resumed and rest.seen == 250 and (first.imported, rest.imported) == (95, 245)  # the run's counts
    assert rest.subscriptions + first.subscriptions == 7
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Follower)) == 250
        assert session.scalar(select(func.count()).select_from(Subscription)) == 7
        assert session.scalars(select(FollowerSync.state)).all() == ["done"]
    again = followers_sync.sync(world.sessions, world.api, world.now)
    assert (again.resumed, again.seen, again.imported, again.subscriptions) == (False, 250, 0, 0)
    assert world.platform.api_calls("/cgi-bin/user/info/batchget") == 3 + 3  # 100 a call
    assert known[0] in {f for f in world.platform.subscribed_openids()}


def test_a_post_can_mass_send_the_article_as_mpnews(world: World) -> None:
    openids = world.follow(3)
    post_id = queue(world, channel="mass", content=SECTION, as_article=True)
    assert world.sender().run(post_id) == "sent"
    for openid in openids:
        (record,) = world.received(openid)
        assert record.msgtype == "mpnews"  # type: ignore[attr-defined]
        assert record.payload["articles"][0]["title"] == "2025年干细胞与渐冻症：一年回顾"  # type: ignore[attr-defined]
    assert world.platform.drafts == {}  # the draft went with the mass send


def test_only_a_section_or_update_goes_as_an_article(world: World) -> None:
    with pytest.raises(PostError, match="--as-article"):
        queue(world, channel="mass", content="digest", as_article=True)
    with pytest.raises(PostError, match="--as-article"):
        queue(world, channel="custom_only", content=SECTION, as_article=True)


def test_without_tags_a_subscription_stays_in_the_database(world: World, server: SandboxServer) -> None:
    (openid,) = world.follow(1)
    kind(world.platform, "subscription", verified=False)
    check(world)
    with bot_for(world):
        assert server.pusher.send_text(openid, "订阅 XS228").ok
    with world.sessions() as session:
        assert session.scalars(select(Subscription.therapy_key)).all() == ["xs228"]
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0  # no tag change to queue
