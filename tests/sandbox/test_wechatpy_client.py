"""wechatpy 1.8.18's WeChatClient pointed at the sandbox (how the product's client will use it)."""

from __future__ import annotations

from typing import Any

import pytest
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from .conftest import Sandbox


class ToSandbox(HTTPAdapter):
    """Rewrite https://api.weixin.qq.com to the sandbox (covers the hard-coded token URL)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: Any, **kwargs: Any) -> Any:
        request.url = request.url.replace("https://api.weixin.qq.com", self.base, 1)
        return super().send(request, **kwargs)


def client_for(sbx: Sandbox) -> WeChatClient:
    cfg = sbx.platform.config
    client = WeChatClient(cfg.app_id, cfg.app_secret, auto_retry=False)
    client._http.mount("https://api.weixin.qq.com/", ToSandbox(sbx.url))
    return client


def test_wechatpy_round_trip(sbx: Sandbox) -> None:
    client = client_for(sbx)
    client.menu.create({"button": [{"type": "click", "name": "资讯", "key": "NEWS"}]})
    assert client.menu.get()["menu"]["button"][0]["key"] == "NEWS"
    tag = client.tag.create("家属")
    openid = sbx.pusher.follow().openid
    client.tag.tag_user(tag["id"], [openid])
    assert client.tag.get_user_tag(openid) == [tag["id"]]
    assert client.user.get_followers()["data"]["openid"] == [openid]
    assert list(client.user.iter_followers()) == [openid]
    client.message.send_text(openid, "欢迎关注")
    assert sbx.platform.inbox(openid)[0].payload == {"content": "欢迎关注"}
    qr = client.qrcode.create({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "flyer"}}})
    assert sbx.platform.ticket(qr["ticket"]).scene == "flyer"
    assert sbx.platform.api_calls("/cgi-bin/token") == 1


def test_wechatpy_sees_errors(sbx: Sandbox) -> None:
    client = client_for(sbx)
    (openid,) = sbx.platform.add_followers(1)
    with pytest.raises(WeChatClientException) as info:
        client.message.send_text(openid, "no window")
    assert info.value.errcode == 45015
    sbx.platform.inject_fault("menu/get", "error", None, errcode=40001)
    with pytest.raises(WeChatClientException) as info:
        client.menu.get()
    assert info.value.errcode == 40001
