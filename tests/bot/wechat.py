"""Test helper: pushes built, signed and encrypted the way WeChat does, and replies decrypted and parsed."""

from __future__ import annotations

import http.client
import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from defusedxml.ElementTree import fromstring

from bot.credentials import Credentials
from bot.crypto import MessageCrypto, signature
from bot.replies import cdata
from bot.xmlin import parse_fields

OPENID = "oUser000000000000000000000001"
GH = "gh_5a4db0x00001"
_ids = itertools.count(24000000000000001)
_times = itertools.count(1_700_000_000)


def xml(**fields: Any) -> str:
    parts = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}>{cdata(str(v))}</{k}>" for k, v in fields.items()
    )
    return f"<xml>{parts}</xml>"


def text_push(content: str, openid: str = OPENID, msg_id: int | None = None, create_time: int | None = None) -> str:
    return xml(
        ToUserName=GH,
        FromUserName=openid,
        CreateTime=create_time or next(_times),
        MsgType="text",
        Content=content,
        MsgId=msg_id or next(_ids),
    )


def event_push(event: str, key: str | None = None, openid: str = OPENID, create_time: int | None = None) -> str:
    fields: dict[str, Any] = {
        "ToUserName": GH,
        "FromUserName": openid,
        "CreateTime": create_time or next(_times),
        "MsgType": "event",
        "Event": event,
    }
    if key is not None:
        fields["EventKey"] = key
    return xml(**fields)


def media_push(kind: str, openid: str = OPENID) -> str:
    extra = {
        "image": {"PicUrl": "http://mmbiz/x.jpg", "MediaId": "m1"},
        "voice": {"MediaId": "m2", "Format": "amr"},
        "video": {"MediaId": "m3", "ThumbMediaId": "t3"},
        "shortvideo": {"MediaId": "m4", "ThumbMediaId": "t4"},
        "location": {"Location_X": "23.1", "Location_Y": "113.3", "Scale": "20", "Label": "广州"},
        "link": {"Title": "t", "Description": "d", "Url": "http://example.com/"},
    }[kind]
    return xml(ToUserName=GH, FromUserName=openid, CreateTime=next(_times), MsgType=kind, **extra, MsgId=next(_ids))


class Headers(dict[str, str]):
    """Response headers, looked up case-insensitively (granian sends them in lower case, wsgiref as given)."""

    def __init__(self, pairs: list[tuple[str, str]] | None = None) -> None:
        super().__init__((name.lower(), value) for name, value in pairs or [])

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


@dataclass
class Response:
    status: int
    body: bytes
    headers: Headers = field(default_factory=Headers)


@dataclass
class Reply:
    status: int
    raw: bytes
    fields: dict[str, str]
    articles: list[dict[str, str]]

    @property
    def empty(self) -> bool:
        return self.raw == b""

    @property
    def content(self) -> str:
        return self.fields.get("Content", "")

    @property
    def msg_type(self) -> str:
        return self.fields.get("MsgType", "")


class WeChat:
    """Plays WeChat's side of the callback against a live server."""

    def __init__(self, base_url: str, credentials: Credentials) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.crypto = MessageCrypto(credentials.token, credentials.encoding_aes_key, credentials.app_id)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        parts = urlsplit(self.base_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, resp.read(), Headers(resp.getheaders()))
        finally:
            conn.close()

    def query(self, timestamp: str | None = None, nonce: str = "1320562132", **extra: str) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        params = {
            "signature": signature(self.credentials.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": OPENID,
        }
        params.update(extra)
        return params

    def envelope(self, plaintext: str, params: dict[str, str]) -> bytes:
        """The body in the configured mode, with msg_signature added to ``params`` for compat/safe."""
        mode = self.credentials.mode
        if mode == "plain":
            return plaintext.encode("utf-8")
        encrypted = self.crypto.encrypt(plaintext)
        params["encrypt_type"] = "aes"
        params["msg_signature"] = signature(self.credentials.token, params["timestamp"], params["nonce"], encrypted)
        if mode == "compat":
            return plaintext.replace("</xml>", f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>").encode("utf-8")
        return xml(ToUserName=GH, Encrypt=encrypted).encode("utf-8")

    def post(self, body: bytes, params: dict[str, str], headers: dict[str, str] | None = None) -> Response:
        return self.request(
            "POST", "/wechat?" + urlencode(params), body, {"Content-Type": "text/xml", **(headers or {})}
        )

    def push(self, plaintext: str) -> Reply:
        params = self.query()
        resp = self.post(self.envelope(plaintext, params), params)
        assert resp.status == 200, resp
        return self.open(resp)

    def open(self, resp: Response) -> Reply:
        """The reply as WeChat reads it: MsgSignature checked and decrypted in compat/safe mode."""
        if not resp.body:
            return Reply(resp.status, b"", {}, [])
        plaintext = resp.body.decode("utf-8")
        if self.credentials.mode != "plain":
            env = parse_fields(resp.body)
            assert set(env) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}, env
            expected = signature(self.credentials.token, env["TimeStamp"], env["Nonce"], env["Encrypt"])
            assert env["MsgSignature"] == expected
            plaintext = self.crypto.decrypt(env["Encrypt"])
        root = fromstring(plaintext, forbid_dtd=True)
        fields = {child.tag: (child.text or "") for child in root if len(child) == 0}
        articles = [{c.tag: c.text or "" for c in item} for item in root.iter("item")]
        return Reply(resp.status, resp.body, fields, articles)
