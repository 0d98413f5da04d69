"""Pre-signed pushes, built the way WeChat builds them (plain or safe mode), before the clock starts."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from sandbox.wxcrypto import MessageCipher, sign

TEXTS = ("帮助", "目录", "NurOwn", "订阅 NurOwn", "1", "时间线 NurOwn", "我的订阅", "干细胞")


@dataclass(frozen=True)
class Account:
    token: str
    app_id: str
    original_id: str
    encoding_aes_key: str = ""
    mode: str = "plain"


@dataclass(frozen=True)
class Push:
    path: str
    """Path and signed query string."""
    body: bytes


def _xml(fields: dict[str, str | int]) -> str:
    inner = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()
    )
    return f"<xml>{inner}</xml>"


def build(account: Account, path: str, count: int, followers: int, first_msg_id: int | None = None) -> list[Push]:
    """``count`` text pushes from ``followers`` openids, each with its own MsgId, signed and encrypted up front."""
    cipher = MessageCipher(account.encoding_aes_key, account.app_id) if account.mode == "safe" else None
    msg_ids = itertools.count(first_msg_id or time.time_ns() // 1000)
    now = int(time.time())
    pushes: list[Push] = []
    for i in range(count):
        openid = f"oLoad{i % max(1, followers):023d}"
        xml = _xml(
            {
                "ToUserName": account.original_id,
                "FromUserName": openid,
                "CreateTime": now,
                "MsgType": "text",
                "Content": TEXTS[i % len(TEXTS)],
                "MsgId": next(msg_ids),
            }
        )
        timestamp, nonce = str(now), str(100000 + i)
        query = {"signature": sign(account.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        query["openid"] = openid
        body = xml
        if cipher is not None:
            encrypted = cipher.encrypt(xml)
            query.update(encrypt_type="aes", msg_signature=sign(account.token, timestamp, nonce, encrypted))
            body = _xml({"ToUserName": account.original_id, "Encrypt": encrypted})
        pushes.append(Push(f"{path}?{urlencode(query)}", body.encode("utf-8")))
    return pushes
