"""The WeChat side of the callback: simulated followers whose actions are pushed to the bot's URL."""

from __future__ import annotations

import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import requests

from .errors import SandboxError
from .limits import SERVICE_UNAVAILABLE, window_trigger
from .models import Media
from .platform import make_openid
from .qrimage import qr_png
from .replies import Reply, ReplyKind, classify_reply
from .wxcrypto import MessageCipher, sign
from .xmlmsg import build_xml

if TYPE_CHECKING:
    from .models import QrTicket
    from .platform import Platform

PushStatus = Literal["delivered", "timeout", "connection_error", "http_error", "no_callback"]
MSG_ID_BASE = 24_000_000_000_000_000


@dataclass
class PushResult:
    """What happened to one push: deliveries tried, HTTP outcome, the parsed reply, time taken."""

    openid: str
    trigger: str
    fields: dict[str, Any]
    xml: str
    attempts: int = 0
    status: PushStatus = "no_callback"
    http_status: int | None = None
    reply_kind: ReplyKind = "none"
    reply: Reply | None = None
    elapsed: float = 0.0
    error: str | None = None
    raw_reply: bytes = b""
    bodies: list[bytes] = field(default_factory=list, repr=False)

    @property
    def msg_id(self) -> str | None:
        """MsgId of a message push (None for events)."""
        value = self.fields.get("MsgId")
        return None if value is None else str(value)

    @property
    def ok(self) -> bool:
        """Delivered and answered with nothing, `success` or a valid reply."""
        return self.status == "delivered" and self.reply_kind != "invalid"


@dataclass
class VerifyResult:
    """Outcome of a GET URL verification."""

    ok: bool
    http_status: int | None
    body: str
    echostr: str

    def __bool__(self) -> bool:
        return self.ok


class Pusher:
    """Simulates followers and WeChat's push engine (signing, encryption, 5 s timeout, 3 deliveries)."""

    def __init__(
        self,
        platform: Platform,
        url: str | None = None,
        *,
        timeout: float | None = None,
        attempts: int | None = None,
        register: bool = True,
    ) -> None:
        self.platform = platform
        self._url = url
        self.timeout = platform.limits.callback_timeout if timeout is None else timeout
        self.attempts = platform.limits.callback_attempts if attempts is None else attempts
        self.history: list[PushResult] = []
        self._history_lock = threading.Lock()
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        if register:
            platform.set_event_sink(self.enqueue_event)

    @property
    def url(self) -> str | None:
        """Callback URL: the explicit one, else the platform's configured `callback_url`."""
        return self._url or self.platform.config.callback_url

    @url.setter
    def url(self, value: str | None) -> None:
        self._url = value

    # ---- follower actions ---------------------------------------------------------------------------
    def follow(
        self, openid: str | None = None, scene: int | str | None = None, *, ticket: str | None = None
    ) -> PushResult:
        """Follow the account (by scanning the QR of `scene`/`ticket` if given): subscribe event."""
        openid = openid or make_openid()
        existing = self.platform.follower(openid)
        if existing is not None and existing.subscribed:
            raise SandboxError(f"{openid} already follows; use scan() for a QR scan")
        qr = self._qr(scene, ticket)
        self.platform.subscribe(openid, qr)
        fields: dict[str, Any] = {"Event": "subscribe", "EventKey": ""}
        if qr is not None:
            fields.update(EventKey=f"qrscene_{qr.scene}", Ticket=qr.ticket)
        return self._push(openid, "event", fields, trigger="subscribe")

    def scan(self, openid: str, scene: int | str | None = None, *, ticket: str | None = None) -> PushResult:
        """Scan a parametric QR: SCAN for a follower, subscribe+qrscene_ for anyone else."""
        qr = self._qr(scene, ticket)
        if qr is None:
            raise SandboxError("scan() needs a scene or a ticket")
        existing = self.platform.follower(openid)
        if existing is None or not existing.subscribed:
            return self.follow(openid, ticket=qr.ticket)
        self._open_window(openid, "event", "SCAN")
        return self._push(openid, "event", {"Event": "SCAN", "EventKey": qr.scene, "Ticket": qr.ticket}, trigger="SCAN")

    def unfollow(self, openid: str) -> PushResult:
        """Unfollow: unsubscribe event (nothing the bot answers is shown)."""
        self.platform.require_subscribed(openid)
        self.platform.unsubscribe(openid)
        return self._push(
            openid, "event", {"Event": "unsubscribe", "EventKey": ""}, trigger="unsubscribe", user_facing=False
        )

    def click(self, openid: str, key: str, *, scan_result: str = "") -> PushResult:
        """Tap the menu button with `key` (CLICK, scancode_*, pic_*, location_select events)."""
        self.platform.require_subscribed(openid)
        button = self.platform.find_button(key=key)
        if button is None:
            raise SandboxError(f"the current menu has no button with key {key!r}")
        kind = button["type"]
        fields: dict[str, Any] = {"Event": "CLICK" if kind == "click" else kind, "EventKey": key}
        if kind.startswith("scancode_"):
            fields["ScanCodeInfo"] = {"ScanType": "qrcode", "ScanResult": scan_result}
        elif kind.startswith("pic_"):
            fields["SendPicsInfo"] = {"Count": 1, "PicList": {"item": {"PicMd5Sum": secrets.token_hex(16)}}}
        elif kind == "location_select":
            fields["SendLocationInfo"] = {
                "Location_X": "23.137466",
                "Location_Y": "113.352425",
                "Scale": "15",
                "Label": "Sandbox",
                "Poiname": "",
            }
        self._open_window(openid, "event", fields["Event"])
        return self._push(openid, "event", fields, trigger=fields["Event"])

    def view(self, openid: str, url: str) -> PushResult:
        """Tap the `view` button linking to `url` (VIEW event; the user leaves, replies are not shown)."""
        self.platform.require_subscribed(openid)
        button = self.platform.find_button(url=url)
        if button is None or button.get("type") != "view":
            raise SandboxError(f"the current menu has no view button for {url!r}")
        return self._push(openid, "event", {"Event": "VIEW", "EventKey": url}, trigger="VIEW", user_facing=False)

    def send_text(self, openid: str, text: str) -> PushResult:
        """The follower sends a text message (opens the 48-hour window)."""
        return self.send_message(openid, "text", Content=text)

    def send_image(self, openid: str, pic_url: str = "http://mmbiz.qpic.cn/sandbox/pic.png") -> PushResult:
        """The follower sends an image (a downloadable temporary media is created)."""
        return self.send_message(openid, "image", PicUrl=pic_url, MediaId=self._user_media("image"))

    def send_voice(self, openid: str, recognition: str | None = None) -> PushResult:
        """The follower sends a voice message (optionally with speech Recognition text)."""
        extra: dict[str, Any] = {"MediaId": self._user_media("voice"), "Format": "amr"}
        if recognition is not None:
            extra["Recognition"] = recognition
        return self.send_message(openid, "voice", **extra)

    def send_location(self, openid: str, x: float, y: float, label: str = "", scale: int = 15) -> PushResult:
        """The follower shares a location."""
        return self.send_message(openid, "location", Location_X=str(x), Location_Y=str(y), Scale=scale, Label=label)

    def send_link(self, openid: str, title: str, url: str, description: str = "") -> PushResult:
        """The follower shares a link."""
        return self.send_message(openid, "link", Title=title, Description=description, Url=url)

    def notice_popup(
        self, openid: str, template_ids: str | list[str], *, accept: bool | list[bool] = True, scene: int = 1
    ) -> PushResult:
        """The follower answers a subscribe-notice popup (``scene`` 1: an H5 page's wx-open-subscribe, 2: an
        article): the stand-in learns each accepted consent, then pushes ``subscribe_msg_popup_event``."""
        self.platform.follower_record(openid)
        ids = [template_ids] if isinstance(template_ids, str) else list(template_ids)
        answers = accept if isinstance(accept, list) else [accept] * len(ids)
        if len(answers) != len(ids):
            raise SandboxError("one accept flag per template id")
        items = []
        for template_id, yes in zip(ids, answers, strict=True):
            if template_id not in self.platform.notice_templates:
                raise SandboxError(f"the account has no notice template {template_id!r}")
            if yes:
                self.platform.grant_notice(openid, template_id)
            status = "accept" if yes else "reject"
            items.append({"TemplateId": template_id, "SubscribeStatusString": status, "PopupScene": scene})
        body = {"Event": "subscribe_msg_popup_event", "SubscribeMsgPopupEvent": {"List": items}}
        return self._push(openid, "event", body, trigger="subscribe_msg_popup_event", user_facing=False)

    def notice_change(self, openid: str, template_id: str, *, accept: bool = False) -> PushResult:
        """The follower turns a notice off (or a long-term one back on) in WeChat's settings."""
        if accept:
            self.platform.grant_notice(openid, template_id)
        else:
            self.platform.withdraw_notice(openid, template_id)
        item = {"TemplateId": template_id, "SubscribeStatusString": "accept" if accept else "reject"}
        body = {"Event": "subscribe_msg_change_event", "SubscribeMsgChangeEvent": {"List": item}}
        return self._push(openid, "event", body, trigger="subscribe_msg_change_event", user_facing=False)

    def send_message(self, openid: str, msgtype: str, **fields: Any) -> PushResult:
        """Any user message type: opens the 48-hour/5-message window and carries a MsgId."""
        self.platform.require_subscribed(openid)
        self._open_window(openid, msgtype)
        body = {**fields, "MsgId": str(MSG_ID_BASE + self.platform.next_id())}
        return self._push(openid, msgtype, body, trigger=msgtype)

    def push_event(self, openid: str, event: str, *, user_facing: bool = True, **fields: Any) -> PushResult:
        """Push an arbitrary event (no state change) — e.g. LOCATION; a follower gets the window it opens, if any."""
        found = self.platform.follower(openid)
        if found is not None and found.subscribed:
            self._open_window(openid, "event", event)
        return self._push(openid, "event", {"Event": event, **fields}, trigger=event, user_facing=user_facing)

    def _open_window(self, openid: str, msg_type: str, event: str = "") -> None:
        """Open the customer-service window a push of this MsgType/Event opens on WeChat (limits.window_trigger)."""
        trigger = window_trigger(msg_type, event)
        if trigger is not None:
            self.platform.open_window(openid, trigger)

    # ---- platform events ----------------------------------------------------------------------------
    def enqueue_event(self, fields: dict[str, Any]) -> None:
        """Queue a job-finished event for background delivery (the platform's event sink)."""
        with self._worker_lock:
            self._queue.put(dict(fields))
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="sandbox-pusher", daemon=True)
                self._worker.start()

    def push_job_event(self, fields: dict[str, Any]) -> PushResult:
        """Deliver a MASSSENDJOBFINISH/TEMPLATESENDJOBFINISH/PUBLISHJOBFINISH event now."""
        openid = str(fields.get("FromUserName", ""))
        body = {k: v for k, v in fields.items() if k != "FromUserName"}
        return self._push(openid, "event", body, trigger=str(body.get("Event")), user_facing=False)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until queued events are delivered; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def _drain(self) -> None:
        while True:
            try:
                fields = self._queue.get(timeout=0.5)
            except queue.Empty:
                with self._worker_lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            try:
                self.push_job_event(fields)
            finally:
                self._queue.task_done()

    def events(self, event: str) -> list[PushResult]:
        """Pushed results of one Event name (from `history`)."""
        with self._history_lock:
            return [r for r in self.history if r.fields.get("Event") == event]

    # ---- URL verification ---------------------------------------------------------------------------
    def verify_url(self, echostr: str | None = None) -> VerifyResult:
        """GET the callback with signature/timestamp/nonce/echostr; ok when the body is the echostr."""
        if not self.url:
            raise SandboxError("no callback_url configured")
        echostr = echostr or str(secrets.randbelow(10**19))
        timestamp, nonce = str(int(self.platform.now())), str(secrets.randbelow(10**10))
        params = {
            "signature": sign(self.platform.config.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        try:
            resp = requests.get(self.url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            return VerifyResult(False, None, str(exc), echostr)
        return VerifyResult(resp.status_code == 200 and resp.text == echostr, resp.status_code, resp.text, echostr)

    # ---- machinery ----------------------------------------------------------------------------------
    def _qr(self, scene: int | str | None, ticket: str | None) -> QrTicket | None:
        if ticket is not None:
            return self.platform.ticket(ticket)
        if scene is None:
            return None
        with self.platform.lock:
            candidates = [t for t in self.platform.tickets.values() if t.scene == str(scene)]
        for candidate in sorted(candidates, key=lambda t: t.created_at, reverse=True):
            try:
                return self.platform.ticket(candidate.ticket)
            except SandboxError:
                continue
        raise SandboxError(f"no live QR code for scene {scene!r}; create one with qrcode/create")

    def _user_media(self, kind: str) -> str:
        media_id = "SBXU_" + secrets.token_urlsafe(36)
        data = qr_png(media_id) if kind == "image" else b"#!AMR\n" + secrets.token_bytes(64)
        ctype = "image/png" if kind == "image" else "audio/amr"
        with self.platform.lock:
            self.platform.media[media_id] = Media(
                media_id, kind, data, f"user.{kind}", ctype, self.platform.now(), False
            )
        return media_id

    def _envelope(self, xml: str, openid: str) -> tuple[dict[str, str], str]:
        config = self.platform.config
        timestamp, nonce = str(int(self.platform.now())), str(secrets.randbelow(10**10))
        params = {
            "signature": sign(config.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
        }
        if config.message_mode == "plain":
            return params, xml
        encrypted = MessageCipher(config.encoding_aes_key, config.app_id).encrypt(xml)
        params.update(encrypt_type="aes", msg_signature=sign(config.token, timestamp, nonce, encrypted))
        if config.message_mode == "compat":
            return params, xml[: -len("</xml>")] + f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        envelope = build_xml({"ToUserName": config.original_id, "Encrypt": encrypted})
        return params, envelope

    def _push(
        self, openid: str, msgtype: str, extra: dict[str, Any], *, trigger: str, user_facing: bool = True
    ) -> PushResult:
        fields = {
            "ToUserName": self.platform.config.original_id,
            "FromUserName": openid,
            "CreateTime": int(self.platform.now()),
            "MsgType": msgtype,
            **extra,
        }
        xml = build_xml(fields)
        result = PushResult(openid, trigger, fields, xml)
        url = self.url
        if url:
            self._deliver(result, url)
            if user_facing:
                self._record(result)
        with self._history_lock:
            self.history.append(result)
        return result

    def _deliver(self, result: PushResult, url: str) -> None:
        params, body = self._envelope(result.xml, result.openid)
        data = body.encode("utf-8")
        started = time.monotonic()
        for _ in range(max(1, self.attempts)):
            result.attempts += 1
            result.bodies.append(data)
            try:
                resp = requests.post(
                    url,
                    params=params,
                    data=data,
                    timeout=self.timeout,
                    headers={"Content-Type": "text/xml; charset=utf-8"},
                )
            except requests.Timeout:
                result.status, result.error = "timeout", f"no answer within {self.timeout}s"
                continue
            except requests.ConnectionError as exc:
                result.status, result.error = "connection_error", str(exc)
                continue
            result.http_status, result.raw_reply = resp.status_code, resp.content
            if not 200 <= resp.status_code < 300:
                result.status, result.error = "http_error", f"HTTP {resp.status_code}"
                break
            result.status, result.error = "delivered", None
            result.reply = classify_reply(self.platform, resp.content, result.openid, result.trigger)
            result.reply_kind = result.reply.kind
            result.error = result.reply.error
            break
        result.elapsed = time.monotonic() - started

    def _record(self, result: PushResult) -> None:
        reply = result.reply
        if result.status == "delivered" and reply is not None and reply.kind != "invalid":
            if reply.kind == "message" and reply.msgtype and reply.msgtype != "transfer_customer_service":
                self.platform.deliver(result.openid, "reply", reply.msgtype, reply.payload, "callback")
            return
        payload = {"content": SERVICE_UNAVAILABLE, "reason": result.error or "invalid reply"}
        self.platform.deliver(result.openid, "reply", "service_unavailable", payload, "wechat")
