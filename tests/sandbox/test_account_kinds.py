"""Account kinds: what a verified or unverified service or subscription account may call (48001 otherwise), the
IP whitelist (40164 naming the caller), the read-only endpoints an account check probes, user/get paging."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from sandbox import Limits
from sandbox.limits import ACCOUNT_CAPABILITIES, capability_of

from .conftest import Sandbox

PROBES = {
    "custom": ("GET", "customservice/getkflist", None),
    "template": ("GET", "template/get_all_private_template", None),
    "mass": ("POST", "message/mass/speed/get", {}),
    "notices": ("GET", "wxaapi", None),
    "publish": ("POST", "freepublish/batchget", {"offset": 0, "count": 1, "no_content": 1}),
    "draft": ("GET", "draft/count", None),
    "qr": (
        "POST",
        "qrcode/create",
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "x"}}},
    ),
    "menu": ("GET", "get_current_selfmenu_info", None),
    "users": ("GET", "user/get", None),
    "tags": ("GET", "tags/get", None),
}


def probe(sbx: Sandbox, name: str) -> int:
    method, path, body = PROBES[name]
    if path == "wxaapi":  # not under /cgi-bin
        params = {"access_token": sbx.api.token}
        return int(requests.get(sbx.url + "/wxaapi/newtmpl/gettemplate", params=params, timeout=5).json()["errcode"])
    answer = sbx.api.get(path) if method == "GET" else sbx.api.post(path, body or {})
    return int(answer.get("errcode", 0))


@pytest.mark.parametrize(
    ("account_type", "verified", "refused"),
    [
        ("service", True, set()),
        ("subscription", True, {"template", "notices"}),
        ("service", False, {"custom", "template", "mass", "notices", "publish", "qr", "menu", "users", "tags"}),
        ("subscription", False, {"custom", "template", "mass", "notices", "publish", "qr", "menu", "users", "tags"}),
    ],
)
def test_each_account_kind_answers_48001_outside_its_capabilities(
    make_sandbox, account_type: str, verified: bool, refused: set[str]
) -> None:
    sbx = make_sandbox(account_type=account_type, verified=verified)
    assert sbx.api.fetch_token()["access_token"]  # every kind gets a token
    assert sbx.api.get("getcallbackip")["ip_list"] == ["127.0.0.1"]
    assert sbx.api.get("get_api_domain_ip")["ip_list"] == ["127.0.0.1"]
    got = {name: probe(sbx, name) for name in PROBES}
    assert {name for name, code in got.items() if code == 48001} == refused
    assert all(code == 0 for name, code in got.items() if name not in refused)


def test_an_unverified_account_cannot_publish_or_send_but_keeps_its_draft_box(make_sandbox) -> None:
    sbx = make_sandbox(account_type="subscription", verified=False)
    (openid,) = sbx.platform.add_followers(1)
    assert (
        sbx.api.post("message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": "x"}})["errcode"]
        == 48001
    )
    assert sbx.api.post("freepublish/submit", {"media_id": "SBXD_x"})["errcode"] == 48001
    assert sbx.api.get("draft/count")["total_count"] == 0
    assert sbx.api.post("openapi/quota/get", {"cgi_path": "/cgi-bin/draft/add"})["quota"]["daily_limit"] == 1000


def test_capability_paths_and_kinds_are_one_table() -> None:
    assert capability_of("/cgi-bin/message/mass/sendall") == "mass"
    assert capability_of("/cgi-bin/get_current_selfmenu_info") == "menu"
    assert capability_of("/cgi-bin/stable_token") is None and capability_of("/cgi-bin/getcallbackip") is None
    assert ACCOUNT_CAPABILITIES[("subscription", False)] == {"draft", "media"}


def test_the_ip_whitelist_answers_40164_naming_the_caller_even_for_tokens(make_sandbox) -> None:
    sbx = make_sandbox(ip_whitelist=("203.0.113.7",))
    answer = sbx.api.fetch_token()
    assert answer["errcode"] == 40164
    assert answer["errmsg"].startswith("invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist")
    body = {"grant_type": "client_credential", "appid": sbx.platform.config.app_id, "secret": "x"}
    assert requests.post(sbx.url + "/cgi-bin/stable_token", json=body, timeout=5).json()["errcode"] == 40164
    sbx.platform.config.ip_whitelist = ("203.0.113.7", "127.0.0.1")
    assert sbx.api.fetch_token()["access_token"]


def test_freepublish_batchget_lists_published_articles_only(sbx: Sandbox) -> None:
    assert sbx.api.post("freepublish/batchget", {"offset": 0, "count": 1})["total_count"] == 0
    assert sbx.api.post("freepublish/batchget", {"offset": 0, "count": 21})["errcode"] == 47003
    assert sbx.api.post("message/mass/speed/get", {})["realspeed"] == 15


def test_user_get_pages_over_many_followers(make_sandbox) -> None:
    sbx = make_sandbox(limits=replace(Limits(), user_page_size=1000))
    made = sbx.platform.add_followers(2500)
    pages, cursor = [], ""
    while True:
        page = sbx.api.get("user/get", next_openid=cursor)
        if not page["count"]:
            break
        pages.append(page["data"]["openid"])
        cursor = page["next_openid"]
    assert [len(p) for p in pages] == [1000, 1000, 500]
    assert [openid for p in pages for openid in p] == made
    assert sbx.api.get("user/get")["total"] == 2500
