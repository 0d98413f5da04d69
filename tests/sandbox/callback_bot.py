"""A tiny WSGI callback app standing in for the bot: verifies, decrypts, records and replies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import ArticlesReply, TextReply
from wechatpy.utils import check_signature

from sandbox.server import ThreadingWSGIServer
from sandbox.xmlmsg import parse_xml

ReplyFn = Callable[[Any], str]


@dataclass
class Received:
    """One request the bot got."""

    params: dict[str, str]
    body: str
    plaintext: str
    fields: dict[str, Any]


def text_reply(content: str) -> ReplyFn:
    """Reply function answering every push with a text."""
    return lambda msg: TextReply(message=msg, content=content).render()


def echo_reply(msg: Any) -> str:
    """Echo text messages, greet followers, name clicked keys, `success` for the rest."""
    if msg.type == "text":
        return TextReply(message=msg, content=f"echo: {msg.content}").render()
    if msg.type == "event" and msg.event in ("subscribe", "subscribe_scan"):
        return TextReply(message=msg, content=f"welcome {getattr(msg, 'scene_id', '') or ''}".strip()).render()
    if msg.type == "event" and msg.event == "click":
        articles = [{"title": f"about {msg.key}", "description": "d", "image": "", "url": "https://e.x/1"}]
        return ArticlesReply(message=msg, articles=articles).render()
    return "success"


@dataclass
class CallbackBot:
    """WSGI app; `delays[i]` seconds of sleep before answering the i-th POST."""

    token: str
    aes_key: str
    app_id: str
    mode: str = "safe"
    reply: ReplyFn = echo_reply
    delays: list[float] = field(default_factory=list)
    raw_reply: bytes | None = None
    received: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        params = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            check_signature(
                self.token, params.get("signature", ""), params.get("timestamp", ""), params.get("nonce", "")
            )
        except Exception:
            self.errors.append("bad signature")
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"bad signature"]
        if environ["REQUEST_METHOD"] == "GET":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [params.get("echostr", "").encode()]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode("utf-8")
        plaintext = body
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        if params.get("encrypt_type") == "aes":
            plaintext = crypto.decrypt_message(body, params["msg_signature"], params["timestamp"], params["nonce"])
        with self._lock:
            index = len(self.received)
            self.received.append(Received(params, body, plaintext, parse_xml(plaintext)))
        if index < len(self.delays):
            time.sleep(self.delays[index])
        if self.raw_reply is not None:
            answer = self.raw_reply
        else:
            reply = self.reply(parse_message(plaintext))
            if self.mode == "safe" and reply not in ("", "success"):
                reply = crypto.encrypt_message(reply, params["nonce"], params["timestamp"])
            answer = reply.encode("utf-8")
        start_response("200 OK", [("Content-Type", "application/xml")])
        return [answer]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class BotServer:
    """Serves a CallbackBot on 127.0.0.1 in a background thread."""

    def __init__(self, bot: CallbackBot) -> None:
        self.bot = bot
        self.httpd = make_server("127.0.0.1", 0, bot, server_class=ThreadingWSGIServer, handler_class=_Quiet)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Callback URL."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/wechat"

    def stop(self) -> None:
        """Shut down."""
        self.httpd.shutdown()
        self.httpd.server_close()
