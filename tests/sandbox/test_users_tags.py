"""Users (info, batchget, next_openid paging) and tags (CRUD, batch limits, per-user limit)."""

from __future__ import annotations

from dataclasses import replace

from sandbox import Limits

from .conftest import Sandbox


def test_user_get_paging(make_sandbox) -> None:
    sbx = make_sandbox(limits=replace(Limits(), user_page_size=4))
    openids = sbx.platform.add_followers(10)
    seen, next_openid, pages = [], "", 0
    while True:
        page = sbx.api.get("user/get", next_openid=next_openid)
        assert page["total"] == 10
        if page["count"] == 0:
            assert "data" not in page
            break
        seen += page["data"]["openid"]
        assert page["next_openid"] == page["data"]["openid"][-1]
        next_openid = page["next_openid"]
        pages += 1
    assert seen == openids and pages == 3
    assert sbx.api.get("user/get", next_openid="oUnknown")["errcode"] == 40003


def test_user_info_and_batchget(sbx: Sandbox) -> None:
    a, b = sbx.platform.add_followers(2)
    info = sbx.api.get("user/info", openid=a, lang="zh_CN")
    assert info["subscribe"] == 1 and info["openid"] == a and info["tagid_list"] == []
    assert "nickname" not in info and info["subscribe_scene"] == "ADD_SCENE_OTHERS"
    assert sbx.api.get("user/info", openid="oNobody")["errcode"] == 40003
    batch = sbx.api.post("user/info/batchget", {"user_list": [{"openid": a}, {"openid": b}]})
    assert [u["openid"] for u in batch["user_info_list"]] == [a, b]
    too_many = {"user_list": [{"openid": a}] * 101}
    assert sbx.api.post("user/info/batchget", too_many)["errcode"] == 40032
    sbx.platform.unsubscribe(b)
    assert sbx.api.get("user/info", openid=b) == {"subscribe": 0, "openid": b}
    assert sbx.api.get("user/get")["total"] == 1


def test_tag_crud(sbx: Sandbox) -> None:
    created = sbx.api.post("tags/create", {"tag": {"name": "患者家属"}})["tag"]
    assert created["id"] >= 100 and created["name"] == "患者家属"
    assert sbx.api.post("tags/create", {"tag": {"name": "患者家属"}})["errcode"] == 45157
    assert sbx.api.post("tags/create", {"tag": {"name": "x" * 31}})["errcode"] == 45158
    assert sbx.api.post("tags/update", {"tag": {"id": created["id"], "name": "家属"}})["errcode"] == 0
    assert sbx.api.post("tags/update", {"tag": {"id": 2, "name": "x"}})["errcode"] == 45058
    assert sbx.api.post("tags/delete", {"tag": {"id": 999}})["errcode"] == 45159
    tags = {t["id"]: t for t in sbx.api.get("tags/get")["tags"]}
    assert tags[created["id"]] == {"id": created["id"], "name": "家属", "count": 0}
    assert tags[2]["name"] == "星标组"


def test_tagging_limits(sbx: Sandbox) -> None:
    users = sbx.platform.add_followers(51)
    tag = sbx.api.post("tags/create", {"tag": {"name": "t"}})["tag"]["id"]
    assert sbx.api.post("tags/members/batchtagging", {"openid_list": users, "tagid": tag})["errcode"] == 40032
    assert sbx.api.post("tags/members/batchtagging", {"openid_list": [], "tagid": tag})["errcode"] == 40032
    bad = {"openid_list": [users[0], "oNobody"], "tagid": tag}
    assert sbx.api.post("tags/members/batchtagging", bad)["errcode"] == 40003
    assert sbx.api.post("tags/getidlist", {"openid": users[0]})["tagid_list"] == []  # nothing applied
    assert sbx.api.post("tags/members/batchtagging", {"openid_list": users[:50], "tagid": tag})["errcode"] == 0
    members = sbx.api.post("user/tag/get", {"tagid": tag, "next_openid": ""})
    assert members["count"] == 50 and members["data"]["openid"] == users[:50]
    assert next(t for t in sbx.api.get("tags/get")["tags"] if t["id"] == tag)["count"] == 50
    assert sbx.api.post("tags/members/batchuntagging", {"openid_list": users[:10], "tagid": tag})["errcode"] == 0
    assert sbx.api.post("user/tag/get", {"tagid": tag})["count"] == 40
    assert sbx.api.post("tags/members/batchtagging", {"openid_list": users[:1], "tagid": 12345})["errcode"] == 45159


def test_twenty_tags_per_user(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    ids = [sbx.api.post("tags/create", {"tag": {"name": f"t{i}"}})["tag"]["id"] for i in range(21)]
    for tag in ids[:20]:
        assert sbx.api.post("tags/members/batchtagging", {"openid_list": [user], "tagid": tag})["errcode"] == 0
    answer = sbx.api.post("tags/members/batchtagging", {"openid_list": [user], "tagid": ids[20]})
    assert answer["errcode"] == 45059
    assert sbx.api.post("tags/getidlist", {"openid": user})["tagid_list"] == ids[:20]
    assert sbx.platform.follower(user).tags == ids[:20]
    # deleting a tag removes it from users
    assert sbx.api.post("tags/delete", {"tag": {"id": ids[0]}})["errcode"] == 0
    assert ids[0] not in sbx.api.post("tags/getidlist", {"openid": user})["tagid_list"]


def test_hundred_tags_per_account(make_sandbox) -> None:
    sbx = make_sandbox(limits=replace(Limits(), tags_per_account=3))
    for i in range(3):
        assert "tag" in sbx.api.post("tags/create", {"tag": {"name": f"n{i}"}})
    assert sbx.api.post("tags/create", {"tag": {"name": "n3"}})["errcode"] == 45056
