"""Media upload, permanent material, drafts, mpnews mass send and free publish with PUBLISHJOBFINISH."""

from __future__ import annotations

from dataclasses import replace

import requests

from sandbox import Limits
from sandbox.qrimage import qr_png

from .conftest import Sandbox


def upload(sbx: Sandbox, path: str, kind: str, data: bytes, name: str = "a.png") -> dict:
    params = {"access_token": sbx.api.token, "type": kind}
    files = {"media": (name, data, "image/png")}
    return requests.post(sbx.url + "/cgi-bin/" + path, params=params, files=files, timeout=5).json()


def article(thumb: str, title: str = "干细胞治疗 ALS：2025 综述") -> dict:
    return {"title": title, "author": "编辑部", "content": "<p>正文</p>", "thumb_media_id": thumb}


def test_temporary_media_expires(sbx: Sandbox) -> None:
    png = qr_png("hello")
    answer = upload(sbx, "media/upload", "image", png)
    assert answer["type"] == "image" and answer["created_at"] == int(sbx.clock())
    got = requests.get(
        sbx.url + "/cgi-bin/media/get",
        params={"access_token": sbx.api.token, "media_id": answer["media_id"]},
        timeout=5,
    )
    assert got.content == png
    assert upload(sbx, "media/upload", "gif", png)["errcode"] == 40004
    assert (
        requests.post(
            sbx.url + "/cgi-bin/media/upload", params={"access_token": sbx.api.token, "type": "image"}, timeout=5
        ).json()["errcode"]
        == 41005
    )
    sbx.clock.advance(3 * 86_400)
    assert sbx.api.get("media/get", media_id=answer["media_id"])["errcode"] == 40007


def test_size_limits(make_sandbox) -> None:
    sbx = make_sandbox(limits=replace(Limits(), media_max_bytes={"image": 10, "voice": 10, "video": 10, "thumb": 10}))
    assert upload(sbx, "media/upload", "thumb", b"x" * 11)["errcode"] == 40006
    assert upload(sbx, "media/upload", "thumb", b"x" * 10)["thumb_media_id"]


def test_draft_mass_send_and_publish(make_sandbox, make_bot) -> None:
    sbx = make_sandbox(message_mode="safe")
    bot, _ = make_bot(sbx)
    users = sbx.platform.add_followers(2)
    temp = upload(sbx, "media/upload", "thumb", b"thumb")["media_id"]
    assert sbx.api.post("draft/add", {"articles": [article(temp)]})["errcode"] == 40007  # must be permanent
    material = upload(sbx, "material/add_material", "image", qr_png("cover"))
    assert material["url"].startswith("http://mmbiz.qpic.cn/")
    assert sbx.api.get("material/get_materialcount")["image_count"] == 1
    assert sbx.api.post("draft/add", {"articles": [article(material["media_id"], "x" * 33)]})["errcode"] == 45003
    first = sbx.api.post("draft/add", {"articles": [article(material["media_id"])]})["media_id"]
    second = sbx.api.post("draft/add", {"articles": [article(material["media_id"], "第二篇")]})["media_id"]
    assert sbx.api.get("draft/count")["total_count"] == 2
    assert sbx.api.post("draft/get", {"media_id": first})["news_item"][0]["title"] == "干细胞治疗 ALS：2025 综述"
    mass = sbx.api.post(
        "message/mass/sendall",
        {"filter": {"is_to_all": True}, "msgtype": "mpnews", "mpnews": {"media_id": first}, "send_ignore_reprint": 0},
    )
    assert mass["errcode"] == 0 and mass["msg_data_id"]
    record = sbx.platform.inbox(users[0])[0]
    assert record.msgtype == "mpnews" and record.payload["articles"][0]["author"] == "编辑部"
    assert sbx.api.post("draft/get", {"media_id": first})["errcode"] == 40007  # consumed by the mass send
    published = sbx.api.post("freepublish/submit", {"media_id": second})
    assert published["errcode"] == 0 and published["publish_id"]
    status = sbx.api.post("freepublish/get", {"publish_id": published["publish_id"]})
    assert status["publish_status"] == 0 and status["article_detail"]["count"] == 1
    url = status["article_detail"]["item"][0]["article_url"]
    assert url.startswith("https://mp.weixin.qq.com/s/")
    article_back = sbx.api.post("freepublish/getarticle", {"article_id": status["article_id"]})
    assert article_back["news_item"][0]["title"] == "第二篇"
    assert sbx.pusher.wait_idle()
    event = bot.received[-1].fields
    assert event["Event"] == "PUBLISHJOBFINISH"
    info = event["PublishEventInfo"]
    assert info["publish_id"] == published["publish_id"] and info["publish_status"] == "0"
    assert info["article_id"] == status["article_id"]
    assert info["article_detail"]["item"]["article_url"] == url
    assert [r.kind for r in sbx.platform.inbox(users[1])] == ["mass"]  # publishing notifies nobody
    assert sbx.api.get("draft/count")["total_count"] == 0


def test_publish_failure(make_sandbox, make_bot) -> None:
    sbx = make_sandbox(message_mode="plain", auto_complete_publish=False)
    bot, _ = make_bot(sbx)
    material = upload(sbx, "material/add_material", "image", qr_png("cover"))["media_id"]
    draft = sbx.api.post("draft/add", {"articles": [article(material)]})["media_id"]
    publish_id = sbx.api.post("freepublish/submit", {"media_id": draft})["publish_id"]
    assert sbx.api.post("freepublish/get", {"publish_id": publish_id})["publish_status"] == 1
    sbx.platform.complete_publish(publish_id, 3, fail_idx=[1])
    assert sbx.pusher.wait_idle()
    status = sbx.api.post("freepublish/get", {"publish_id": publish_id})
    assert status["publish_status"] == 3 and status["fail_idx"] == [1]
    info = bot.received[-1].fields["PublishEventInfo"]
    assert info["publish_status"] == "3" and info["fail_idx"] == "1"
