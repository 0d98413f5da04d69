"""The one WeChat API client: every /cgi-bin path and payload shape, as typed calls.

Every call (the token fetch included) goes to settings.wechat.api_base_url. Nothing else in the product spells
a path or builds a request body: channels, tags, provisioning and the token broker call the methods below. A new
API is one path constant and one method here.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy.orm import Session, sessionmaker
from urllib3.exceptions import ConnectTimeoutError

from posts import capabilities as caps
from posts.clock import Clock, system_clock
from posts.settings import Settings
from scheduler.errors import MASS_DUPLICATE, TAG_EXISTS, TOKEN_ERRORS, TransportError, WeChatError
from scheduler.lease import leases_for, redis_client
from scheduler.token_broker import DbTokenStore, FallbackTokenStore, RedisTokenStore, TokenBroker

REAL_BASE_URL = "https://api.weixin.qq.com"

STABLE_TOKEN = "/cgi-bin/stable_token"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
CUSTOM_TYPING = "/cgi-bin/message/custom/typing"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
MASS_SEND = "/cgi-bin/message/mass/send"
MASS_SENDALL = "/cgi-bin/message/mass/sendall"
MASS_PREVIEW = "/cgi-bin/message/mass/preview"
TAGS_GET = "/cgi-bin/tags/get"
TAGS_CREATE = "/cgi-bin/tags/create"
TAGS_TAG = "/cgi-bin/tags/members/batchtagging"
TAGS_UNTAG = "/cgi-bin/tags/members/batchuntagging"
TAG_MEMBERS = "/cgi-bin/user/tag/get"
USER_INFO = "/cgi-bin/user/info"
MENU_CREATE = "/cgi-bin/menu/create"
QRCODE_CREATE = "/cgi-bin/qrcode/create"
NOTICE_SEND = "/cgi-bin/message/subscribe/bizsend"
USER_GET = "/cgi-bin/user/get"
USER_BATCHGET = "/cgi-bin/user/info/batchget"
DRAFT_ADD = "/cgi-bin/draft/add"
PUBLISH_SUBMIT = "/cgi-bin/freepublish/submit"
PUBLISH_GET = "/cgi-bin/freepublish/get"
UPLOAD_IMAGE = "/cgi-bin/media/uploadimg"
ADD_MATERIAL = "/cgi-bin/material/add_material"
CALLBACK_IPS = "/cgi-bin/getcallbackip"
API_DOMAIN_IPS = "/cgi-bin/get_api_domain_ip"
QUOTA_GET = "/cgi-bin/openapi/quota/get"

Probe = tuple[str, str, dict[str, Any] | None]
"""(method, path, JSON body) of a read-only call."""
CAPABILITY_PROBES: dict[str, Probe] = {
    caps.CUSTOM: ("GET", "/cgi-bin/customservice/getkflist", None),
    caps.TEMPLATE: ("GET", "/cgi-bin/template/get_all_private_template", None),
    caps.MASS: ("POST", "/cgi-bin/message/mass/speed/get", {}),
    caps.NOTICES: ("GET", "/wxaapi/newtmpl/gettemplate", None),
    caps.DRAFT: ("GET", "/cgi-bin/draft/count", None),
    caps.PUBLISH: ("POST", "/cgi-bin/freepublish/batchget", {"offset": 0, "count": 1, "no_content": 1}),
    caps.QR: (
        "POST",
        QRCODE_CREATE,
        {"expire_seconds": 60, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "wxbot-check"}}},
    ),
    caps.MENU: ("GET", "/cgi-bin/get_current_selfmenu_info", None),
    caps.USERS: ("GET", USER_GET, None),
    caps.TAGS: ("GET", TAGS_GET, None),
}
"""One harmless call per capability (posts/capabilities.py names them), for `wxbot account check`."""
QUOTA_PATHS: dict[str, tuple[str, ...]] = {
    caps.CUSTOM: (CUSTOM_SEND,),
    caps.TEMPLATE: (TEMPLATE_SEND,),
    caps.MASS: (MASS_SENDALL, MASS_SEND, MASS_PREVIEW),
    caps.DRAFT: (DRAFT_ADD,),
    caps.PUBLISH: (PUBLISH_SUBMIT, PUBLISH_GET),
    caps.QR: (QRCODE_CREATE,),
    caps.USERS: (USER_GET, USER_BATCHGET),
}
"""The APIs the product uses, per capability: their daily quota is shown when the capability is available."""


class WeChatApi:
    """Plain ``requests`` calls with the shared token and a bounded "refresh once, retry once" on 40001/42001.

    wechatpy 1.8.18 is not used here: its auto-retry recurses without bound on a persistent 40001, its token
    fetch ignores API_BASE_URL, and it lacks stable_token, template client_msg_id and mass-send tag_id.
    """

    def __init__(self, base_url: str, app_id: str, app_secret: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.timeout = timeout
        self.http = requests.Session()
        self.http.mount(self.base_url, HTTPAdapter(pool_connections=4, pool_maxsize=16))
        self.broker: TokenBroker | None = None
        self.usage: Counter[str] = Counter()
        self._usage_lock = threading.Lock()

    # -- transport -------------------------------------------------------------------------------
    def _request(self, method: str, path: str, params: dict[str, Any], body: dict[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        try:
            response = self.http.request(
                method, self.base_url + path, params=params, data=data, headers=headers, timeout=self.timeout
            )
            response.raise_for_status()
            result = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", sent=not _before_sending(exc)) from None
        with self._usage_lock:
            self.usage[path] += 1
        if not isinstance(result, dict):
            raise TransportError("answer is not a JSON object", sent=True)
        code = result.get("errcode", 0)
        if code:
            raise WeChatError(int(code), str(result.get("errmsg", "")), result)
        return result

    def fetch_stable_token(self, force_refresh: bool = False) -> tuple[str, int]:
        """POST /cgi-bin/stable_token (normal mode unless forced): the broker's only way to get a token."""
        body = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self.app_secret,
            "force_refresh": force_refresh,
        }
        data = self._request("POST", STABLE_TOKEN, {}, body)
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    # -- API -------------------------------------------------------------------------------------
    def call(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        method: str = "POST",
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call with the token; a refused token is refreshed once and the call retried once."""
        if self.broker is None:
            raise RuntimeError("WeChatApi has no token broker; build it with make_api()")
        token = self.broker.token()
        try:
            return self._request(method, path, {**(params or {}), "access_token": token}, body)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        token = self.broker.refused(token)
        return self._request(method, path, {**(params or {}), "access_token": token}, body)

    # -- messages --------------------------------------------------------------------------------
    def send_custom(self, openid: str, message: dict[str, Any]) -> None:
        """A customer-service message; ``message`` is its msgtype and body, e.g. ``text_message(...)``."""
        self.call(CUSTOM_SEND, {"touser": openid, **message})

    def send_typing(self, openid: str) -> None:
        """The "typing…" indicator in the follower's chat (uses none of the window's messages)."""
        self.call(CUSTOM_TYPING, {"touser": openid, "command": "Typing"})

    def send_template(
        self, openid: str, template_id: str, fields: dict[str, str], client_msg_id: str, url: str | None = None
    ) -> str | None:
        """A template message (WeChat deduplicates openid + client_msg_id for 10 minutes); its msgid."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "client_msg_id": client_msg_id,
            "data": {name: {"value": value} for name, value in fields.items()},
        }
        if url:
            body["url"] = url
        return _text(self.call(TEMPLATE_SEND, body).get("msgid"))

    def send_mass(
        self, message: dict[str, Any], clientmsgid: str, *, openids: list[str] | None = None, tag_id: int | None = None
    ) -> str | None:
        """A mass send to an openid list (``openids``), one tag (``tag_id``) or everyone (neither); its msg_id.

        WeChat deduplicates by clientmsgid for 24 hours: a repeat answers 45065 with the original msg_id, which is
        the same success.
        """
        body: dict[str, Any] = {**message, "clientmsgid": clientmsgid, "send_ignore_reprint": 0}
        if openids is not None:
            path, body["touser"] = MASS_SEND, list(openids)
        else:
            path = MASS_SENDALL
            body["filter"] = {"is_to_all": True} if tag_id is None else {"is_to_all": False, "tag_id": tag_id}
        try:
            return _text(self.call(path, body).get("msg_id"))
        except WeChatError as exc:
            if exc.errcode == MASS_DUPLICATE:
                return _text(exc.data.get("msg_id"))
            raise

    def preview_mass(self, openid: str, message: dict[str, Any]) -> str | None:
        """One copy of a mass message to one follower, to look at (mass/preview: its own daily limit, no month
        budget used); its msg_id. WeChat does not deduplicate it."""
        return _text(self.call(MASS_PREVIEW, {"touser": openid, **message}).get("msg_id"))

    def send_notice(self, openid: str, template_id: str, fields: dict[str, str], page: str = "") -> str | None:
        """A subscribe notice (bizsend) on the follower's consent; WeChat does not deduplicate it. Its msgid."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": value} for name, value in fields.items()},
        }
        if page:
            body["page"] = page
        return _text(self.call(NOTICE_SEND, body).get("msgid"))

    # -- articles ----------------------------------------------------------------------------------
    def add_draft(self, articles: list[dict[str, Any]]) -> str:
        """draft/add: the new draft's media_id."""
        return str(self.call(DRAFT_ADD, {"articles": articles})["media_id"])

    def submit_publish(self, media_id: str) -> str:
        """freepublish/submit of a draft: its publish_id."""
        return str(self.call(PUBLISH_SUBMIT, {"media_id": media_id})["publish_id"])

    def publish_status(self, publish_id: str) -> dict[str, Any]:
        """freepublish/get: a submitted article's publish_status, article_id, article_detail, fail_idx."""
        return self.call(PUBLISH_GET, {"publish_id": publish_id})

    # -- tags and users ----------------------------------------------------------------------------
    def tags(self) -> dict[str, int]:
        """The account's user tags, name → id."""
        return {str(t["name"]): int(t["id"]) for t in self.call(TAGS_GET, method="GET").get("tags", [])}

    def create_tag(self, name: str) -> int:
        """A new tag's id; an existing name (45157) is looked up instead."""
        try:
            return int(self.call(TAGS_CREATE, {"tag": {"name": name}})["tag"]["id"])
        except WeChatError as exc:
            if exc.errcode != TAG_EXISTS:
                raise
            return self.tags()[name]

    def tag_users(self, tag_id: int, openids: list[str], *, add: bool = True) -> None:
        """Add (or remove) up to 50 followers to (from) a tag in one call."""
        self.call(TAGS_TAG if add else TAGS_UNTAG, {"openid_list": list(openids), "tagid": tag_id})

    def tag_members_page(self, tag_id: int, next_openid: str = "") -> tuple[list[str], str]:
        """One page of a tag's members and the openid to continue from ("" at the end)."""
        page = self.call(TAG_MEMBERS, {"tagid": tag_id, "next_openid": next_openid})
        return list((page.get("data") or {}).get("openid") or []), str(page.get("next_openid") or "")

    def user_info(self, openid: str) -> dict[str, Any]:
        """One follower's profile as WeChat has it (subscribe, subscribe_time, tagid_list...)."""
        return self.call(USER_INFO, method="GET", params={"openid": openid, "lang": "zh_CN"})

    def followers_page(self, next_openid: str = "") -> dict[str, Any]:
        """One page of user/get: total, count, data.openid, next_openid."""
        return self.call(USER_GET, method="GET", params={"next_openid": next_openid})

    def users_info(self, openids: list[str]) -> list[dict[str, Any]]:
        """user/info/batchget for up to 100 followers: their profiles."""
        body = {"user_list": [{"openid": o, "lang": "zh_CN"} for o in openids]}
        return list(self.call(USER_BATCHGET, body).get("user_info_list", []))

    # -- account check -----------------------------------------------------------------------------
    def ip_list(self, which: str) -> list[str]:
        """The callback ("callback") or API ("api") addresses WeChat uses."""
        answer = self.call(CALLBACK_IPS if which == "callback" else API_DOMAIN_IPS, method="GET")
        return [str(ip) for ip in answer.get("ip_list", [])]

    def probe(self, capability: str) -> str:
        """The capability's harmless call (CAPABILITY_PROBES); the path it called, or WeChatError."""
        method, path, body = CAPABILITY_PROBES[capability]
        self.call(path, body, method=method)
        return path

    def api_quota(self, path: str) -> dict[str, Any]:
        """openapi/quota/get for one API: daily_limit, used, remain."""
        return dict(self.call(QUOTA_GET, {"cgi_path": path}).get("quota", {}))

    # -- account set-up ----------------------------------------------------------------------------
    def create_menu(self, body: dict[str, Any]) -> None:
        """Replace the custom menu with ``body`` (posts.menu builds it)."""
        self.call(MENU_CREATE, body)

    def create_qrcode(self, scene: str, expire_seconds: int | None = None) -> tuple[str, str]:
        """A QR ticket for a string scene, permanent unless ``expire_seconds``: (ticket, url)."""
        if expire_seconds is None:
            body: dict[str, Any] = {"action_name": "QR_LIMIT_STR_SCENE"}
        else:
            body = {"action_name": "QR_STR_SCENE", "expire_seconds": expire_seconds}
        body["action_info"] = {"scene": {"scene_str": scene}}
        answer = self.call(QRCODE_CREATE, body)
        return str(answer["ticket"]), str(answer.get("url", ""))

    def take_usage(self) -> Counter[str]:
        """Calls made since the last take, per path (the tick adds them to the api_usage table)."""
        with self._usage_lock:
            taken, self.usage = self.usage, Counter()
        return taken

    def close(self) -> None:
        self.http.close()


def text_message(content: str) -> dict[str, Any]:
    """The body of a text message, for custom and mass sends."""
    return {"msgtype": "text", "text": {"content": content}}


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def _before_sending(exc: Exception) -> bool:
    """True only when the request surely never left: no connection was made (refused, DNS, connect timeout).

    Everything else (read timeout, connection reset or closed while waiting, an HTTP error, a malformed
    answer) may have reached WeChat, so its outcome is unknown.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
        return isinstance(reason, ConnectTimeoutError)  # NewConnectionError and NameResolutionError included
    return False


def make_api(settings: Settings, sessions: sessionmaker[Session], clock: Clock = system_clock) -> WeChatApi:
    """The client for these settings: the configured base URL (the stand-in's, in the demo) and token store."""
    wx = settings.wechat
    base = wx.api_base_url or (REAL_BASE_URL if wx.configured else "")
    if not base:
        raise RuntimeError("no WeChat credentials and no wechat.api_base_url: nothing to send to")
    api = WeChatApi(base, wx.app_id, wx.app_secret, timeout=wx.api_timeout)
    leases = leases_for(settings.redis.url, sessions, clock)
    if settings.redis.url:
        redis_store = RedisTokenStore(redis_client(settings.redis.url), clock=clock)
        store: DbTokenStore | FallbackTokenStore = FallbackTokenStore(redis_store, DbTokenStore(sessions, clock))
    else:
        store = DbTokenStore(sessions, clock)
    api.broker = TokenBroker(wx.app_id, api.fetch_stable_token, store, leases, clock=clock)
    return api
