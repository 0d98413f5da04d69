"""Calling the bot's WSGI app in-process (no sockets), for the fuzz tests."""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.app import WebApp
from sandbox.wxcrypto import MessageCipher, sign

TOKEN = "fuzztoken"
APP_ID = "wx00000000fuzz0001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
GH = "gh_fuzz00000001"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def call(app: WebApp, method: str, query: str, body: bytes, content_length: str | None = None) -> Answer:
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/wechat",
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)) if content_length is None else content_length,
        "wsgi.input": io.BytesIO(body),
    }
    out = b"".join(app(environ, lambda status, _headers: statuses.append(status)))
    return Answer(int(statuses[0].split()[0]), out)


def signed_query(timestamp: str = "1700000000", nonce: str = "4242", **extra: str) -> dict[str, str]:
    return {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


def safe_envelope(plaintext: str, query: dict[str, str]) -> bytes:
    """``plaintext`` encrypted as WeChat does in safe mode; ``query`` gets its msg_signature."""
    encrypted = MessageCipher(AES_KEY, APP_ID).encrypt(plaintext)
    query.update(encrypt_type="aes", msg_signature=sign(TOKEN, query["timestamp"], query["nonce"], encrypted))
    return f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()


def qs(query: dict[str, str]) -> str:
    return urlencode(query)
