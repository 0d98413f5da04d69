"""In-memory, thread-safe model of one Official Account: followers, inboxes, windows, content, jobs."""

from __future__ import annotations

import copy
import itertools
import secrets
import string
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .config import PlatformConfig
from .errors import ApiError, SandboxError
from .faults import Fault, FaultInjector, FaultKind
from .limits import capability_of
from .models import (
    CsWindow,
    Draft,
    Follower,
    InboxKind,
    InboxRecord,
    MassJob,
    Media,
    NoticeTemplate,
    Publish,
    QrTicket,
    Tag,
    Template,
    WindowTrigger,
)
from .quotas import QuotaCounter
from .tokens import TokenStore

EventSink = Callable[[dict[str, Any]], None]
_OPENID_CHARS = string.ascii_letters + string.digits + "_-"
SYSTEM_TAGS = {2: "星标组"}


def make_openid(prefix: str = "o") -> str:
    """A random 28-character openid (`[A-Za-z0-9_-]`)."""
    return prefix + "".join(secrets.choice(_OPENID_CHARS) for _ in range(28 - len(prefix)))


class Platform:
    """All state of the stand-in; every read and write happens under the single `lock`."""

    def __init__(self, config: PlatformConfig | None = None, **overrides: Any) -> None:
        if config is None:
            config = PlatformConfig(**overrides)
        elif overrides:
            raise TypeError("pass either a PlatformConfig or keyword overrides, not both")
        self.config = config
        self.limits = config.limits
        self.lock = threading.RLock()
        self.faults = FaultInjector()
        self.quotas = QuotaCounter(config.clock, config.daily_quota)
        self.tokens = TokenStore(config.clock, config.limits)
        self._followers: dict[str, Follower] = {}
        self._inbox: dict[str, list[InboxRecord]] = {}
        self._tags: dict[int, Tag] = {i: Tag(i, n) for i, n in SYSTEM_TAGS.items()}
        self._menu: list[dict[str, Any]] | None = None
        self._menu_id = 0
        self.tickets: dict[str, QrTicket] = {}
        self.templates: dict[str, Template] = {}
        self.media: dict[str, Media] = {}
        self.drafts: dict[str, Draft] = {}
        self.publishes: dict[str, Publish] = {}
        self.mass_jobs: dict[int, MassJob] = {}
        self.mass_clientmsgids: dict[str, tuple[int, float]] = {}
        self.template_sends: dict[tuple[str, str], tuple[int, float]] = {}
        self.notice_templates: dict[str, NoticeTemplate] = {}
        self.notice_consents: dict[tuple[str, str], int] = {}
        """(openid, template_id) → consents left, learnt from the popups the pusher simulates."""
        self._ids = itertools.count(1_000_001)
        self._event_sink: EventSink | None = None
        self._sink_lock = threading.Lock()

    # ---- basics -----------------------------------------------------------------------------------
    def now(self) -> float:
        """Current platform time (the configured clock)."""
        return self.config.clock()

    def next_id(self) -> int:
        """A fresh numeric id (msg ids, menu ids, publish ids...)."""
        return next(self._ids)

    def set_event_sink(self, sink: EventSink | None) -> None:
        """Where platform-originated events (job-finished pushes) go; the Pusher registers itself."""
        with self._sink_lock:
            self._event_sink = sink

    def emit_event(self, fields: dict[str, Any]) -> None:
        """Hand an event (XML field dict: Event, FromUserName, ...) to the sink, if any."""
        with self._sink_lock:
            sink = self._event_sink
        if sink is not None:
            sink(fields)

    # ---- account kind and IP whitelist --------------------------------------------------------------------
    def check_caller(self, address: str) -> None:
        """40164 naming the caller when an IP whitelist is set and ``address`` is not on it (token calls too)."""
        allowed = self.config.ip_whitelist
        if allowed and address not in allowed:
            raise ApiError(40164, f"{address} ipv6 ::ffff:{address}, not in whitelist")

    def check_capability(self, path: str) -> None:
        """48001 when this kind of account (type, verification) may not call ``path``."""
        needed = capability_of(path)
        if needed is not None and not self.config.allowed(needed):
            raise ApiError(48001)

    # ---- faults -------------------------------------------------------------------------------------
    def inject_fault(
        self,
        path: str,
        kind: FaultKind,
        count: int | None = 1,
        *,
        delay: float = 0.0,
        errcode: int | None = None,
        every: int = 1,
    ) -> Fault:
        """Arm a fault on an API path ("busy": -1, "error": errcode, "slow": delay, "drop": close socket;
        "late" / "drop_answer": serve the request, then answer after delay / close the socket); ``every=n``
        strikes one matching call in n."""
        return self.faults.inject(path, kind, count, delay=delay, errcode=errcode, every=every)

    def clear_faults(self, path: str | None = None) -> None:
        """Disarm faults (all, or one path)."""
        self.faults.clear(path)

    # ---- followers ----------------------------------------------------------------------------------
    def add_follower(
        self,
        openid: str | None = None,
        *,
        subscribe_time: int | None = None,
        scene: str = "ADD_SCENE_OTHERS",
        tags: Iterable[int] = (),
        unionid: str | None = None,
    ) -> str:
        """Insert a subscribed follower directly (no callback push, no window); returns the openid."""
        openid = openid or make_openid()
        with self.lock:
            self._followers[openid] = Follower(
                openid,
                subscribed=True,
                subscribe_time=int(self.now()) if subscribe_time is None else subscribe_time,
                subscribe_scene=scene,
                tags=list(tags),
                unionid=unionid,
            )
            self._inbox.setdefault(openid, [])
        return openid

    def add_followers(self, count: int, prefix: str = "oSbx") -> list[str]:
        """Insert `count` followers with predictable, sortable openids (for paging tests)."""
        width = 28 - len(prefix)
        start = len(self._followers)
        return [self.add_follower(f"{prefix}{start + i:0{width}d}") for i in range(count)]

    def follower_record(self, openid: str) -> Follower:
        """The live record (caller must hold `lock`); 40003 if unknown."""
        follower = self._followers.get(openid)
        if follower is None:
            raise ApiError(40003)
        return follower

    def follower(self, openid: str) -> Follower | None:
        """A copy of one follower's record, or None."""
        with self.lock:
            found = self._followers.get(openid)
            return copy.deepcopy(found) if found else None

    def followers(self, subscribed_only: bool = False) -> list[dict[str, Any]]:
        """`user/info`-shaped dicts of all known users, in follow order."""
        with self.lock:
            return [f.info() for f in self._followers.values() if f.subscribed or not subscribed_only]

    def subscribed_openids(self) -> list[str]:
        """Openids currently following, in follow order (caller may hold `lock`)."""
        with self.lock:
            return [o for o, f in self._followers.items() if f.subscribed]

    def subscribe(self, openid: str, ticket: QrTicket | None = None, scene: str | None = None) -> Follower:
        """A user follows (optionally by scanning `ticket`): update the record and open a 1-minute window."""
        with self.lock:
            follower = self._followers.get(openid) or Follower(openid)
            follower.subscribed = True
            follower.subscribe_time = int(self.now())
            follower.subscribe_scene = scene or ("ADD_SCENE_QR_CODE" if ticket else "ADD_SCENE_SEARCH")
            follower.qr_scene, follower.qr_scene_str = 0, ""
            if ticket is not None:
                if ticket.scene_str is None:
                    follower.qr_scene = ticket.scene_id or 0
                else:
                    follower.qr_scene_str = ticket.scene_str
            follower.windows.clear()
            self._followers[openid] = follower
            self._inbox.setdefault(openid, [])
            self.open_window(openid, "event")
            return follower

    def unsubscribe(self, openid: str) -> None:
        """A user unfollows: user/info then shows subscribe=0 and every window closes."""
        with self.lock:
            follower = self.follower_record(openid)
            follower.subscribed = False
            follower.windows.clear()

    def require_subscribed(self, openid: str) -> Follower:
        """The follower record, raising SandboxError if the user does not follow (for simulated actions)."""
        with self.lock:
            follower = self._followers.get(openid)
            if follower is None or not follower.subscribed:
                raise SandboxError(f"{openid} does not follow the account")
            return follower

    # ---- customer-service windows --------------------------------------------------------------------
    def open_window(self, openid: str, trigger: WindowTrigger) -> None:
        """Open (replace) the window of that trigger kind: message → 48 h/5, event → 1 min/3."""
        lim = self.limits
        with self.lock:
            follower = self.follower_record(openid)
            now = self.now()
            if trigger == "message":
                window = CsWindow("message", now, now + lim.cs_message_window, lim.cs_message_quota)
            else:
                window = CsWindow("event", now, now + lim.cs_event_window, lim.cs_event_quota)
            follower.windows = [w for w in follower.windows if w.trigger != trigger] + [window]

    def consume_window(self, openid: str) -> CsWindow:
        """Use one message of an open window: 45015 if none is open, 45047 if all are used up."""
        with self.lock:
            follower = self.follower_record(openid)
            if not follower.subscribed:
                raise ApiError(45015)
            now = self.now()
            live = [w for w in follower.windows if now < w.expires_at]
            if not live:
                raise ApiError(45015)
            usable = sorted((w for w in live if w.used < w.quota), key=lambda w: w.expires_at)
            if not usable:
                raise ApiError(45047)
            usable[0].used += 1
            return copy.copy(usable[0])

    def windows(self, openid: str) -> list[CsWindow]:
        """Copies of the follower's windows that are still open."""
        with self.lock:
            follower = self.follower_record(openid)
            return [copy.copy(w) for w in follower.windows if self.now() < w.expires_at]

    # ---- inbox --------------------------------------------------------------------------------------
    def deliver(self, openid: str, kind: InboxKind, msgtype: str, payload: dict[str, Any], via: str) -> None:
        """Record that `openid` received something."""
        with self.lock:
            record = InboxRecord(kind, msgtype, copy.deepcopy(payload), self.now(), via)
            self._inbox.setdefault(openid, []).append(record)

    def inbox(self, openid: str) -> list[InboxRecord]:
        """Everything the follower received, oldest first (copies)."""
        with self.lock:
            return copy.deepcopy(self._inbox.get(openid, []))

    def clear_inbox(self, openid: str | None = None) -> None:
        """Forget received messages (all followers or one)."""
        with self.lock:
            if openid is None:
                for box in self._inbox.values():
                    box.clear()
            else:
                self._inbox.get(openid, []).clear()

    # ---- tags ---------------------------------------------------------------------------------------
    def tag_table(self) -> dict[int, Tag]:
        """Live tag table (caller holds `lock`)."""
        return self._tags

    def tags(self) -> dict[int, str]:
        """Tag id → name."""
        with self.lock:
            return {t.id: t.name for t in self._tags.values()}

    def new_tag_id(self) -> int:
        """Next free tag id (user tags start at 100)."""
        with self.lock:
            return max([99, *self._tags]) + 1

    # ---- menu ---------------------------------------------------------------------------------------
    def set_menu(self, buttons: list[dict[str, Any]] | None) -> int:
        """Store (or delete with None) the default menu; returns its menuid."""
        with self.lock:
            self._menu = copy.deepcopy(buttons)
            self._menu_id = self.next_id() if buttons is not None else 0
            return self._menu_id

    def menu(self) -> list[dict[str, Any]] | None:
        """The default menu's buttons as created, or None."""
        with self.lock:
            return copy.deepcopy(self._menu)

    def menu_id(self) -> int:
        """The current menu's id (0 without a menu)."""
        return self._menu_id

    def find_button(self, key: str | None = None, url: str | None = None) -> dict[str, Any] | None:
        """The (leaf) button whose key or url matches, or None."""
        with self.lock:
            for top in self._menu or []:
                for button in top.get("sub_button") or [top]:
                    if key is not None and button.get("key") == key:
                        return copy.deepcopy(button)
                    if url is not None and button.get("url") == url:
                        return copy.deepcopy(button)
        return None

    # ---- QR, templates, media -----------------------------------------------------------------------
    def ticket(self, ticket: str) -> QrTicket:
        """A live QR ticket; SandboxError when unknown or expired."""
        with self.lock:
            found = self.tickets.get(ticket)
            if found is None:
                raise SandboxError("unknown QR ticket")
            if found.expire_at is not None and self.now() >= found.expire_at:
                raise SandboxError("QR ticket expired")
            return copy.copy(found)

    def add_template(
        self, template_id: str | None = None, title: str = "Sandbox template", content: str = "{{thing1.DATA}}"
    ) -> str:
        """Register a private template (service accounts); returns its id."""
        template_id = template_id or secrets.token_urlsafe(32)[:43]
        with self.lock:
            self.templates[template_id] = Template(template_id, title, content)
        return template_id

    def add_notice_template(
        self, template_id: str | None = None, title: str = "Sandbox notice", keywords: Iterable[str] = ()
    ) -> str:
        """Pick a subscribe-notice template for the account; returns its id."""
        template_id = template_id or secrets.token_urlsafe(32)[:43]
        with self.lock:
            self.notice_templates[template_id] = NoticeTemplate(template_id, title, tuple(keywords))
        return template_id

    def grant_notice(self, openid: str, template_id: str) -> None:
        """The follower accepted the notice in a popup: one more send allowed (long-term: until withdrawn)."""
        with self.lock:
            key = (openid, template_id)
            self.notice_consents[key] = self.notice_consents.get(key, 0) + 1

    def withdraw_notice(self, openid: str, template_id: str) -> None:
        """The follower turned the notice off in WeChat's settings."""
        with self.lock:
            self.notice_consents.pop((openid, template_id), None)

    def take_notice(self, openid: str, template_id: str) -> None:
        """One send on the follower's consent; 43101 without one (a one-time consent is used up by it)."""
        with self.lock:
            key = (openid, template_id)
            left = self.notice_consents.get(key, 0)
            if left <= 0:
                raise ApiError(43101)
            if not self.config.notice_long_term:
                self.notice_consents[key] = left - 1

    def block_template(self, template_id: str) -> None:
        """WeChat blocks the template (as it does for misuse): sends then answer 40249."""
        with self.lock:
            self.templates[template_id].blocked = True

    def live_media(self, media_id: str) -> Media:
        """Temporary media within 3 days or permanent material; 40007 otherwise."""
        with self.lock:
            media = self.media.get(media_id)
            if media is None:
                raise ApiError(40007)
            if not media.permanent and self.now() >= media.created_at + self.limits.media_ttl:
                raise ApiError(40007)
            return media

    def complete_publish(self, publish_id: str, status: int = 0, fail_idx: Iterable[int] = ()) -> None:
        """Finish a publish job (0 success, 2/3/4 failures) and push PUBLISHJOBFINISH."""
        with self.lock:
            job = self.publishes.get(publish_id)
            if job is None:
                raise SandboxError(f"unknown publish_id {publish_id}")
            job.status = status
            job.fail_idx = list(fail_idx)
            info: dict[str, Any] = {"publish_id": job.publish_id, "publish_status": status}
            if status == 0:
                job.article_id = job.article_id or "sbx_" + secrets.token_urlsafe(24)
                items = [
                    {"idx": i + 1, "article_url": self.article_url(job.article_id, i + 1)}
                    for i in range(len(job.articles))
                ]
                info["article_id"] = job.article_id
                info["article_detail"] = {"count": len(items), "item": items}
            else:
                info["fail_idx"] = job.fail_idx
            event = {
                "FromUserName": "oSandboxSystem00000000000000",
                "Event": "PUBLISHJOBFINISH",
                "PublishEventInfo": info,
            }
        self.emit_event(event)

    def article_url(self, article_id: str, idx: int) -> str:
        """Permanent URL of a published article."""
        return f"https://mp.weixin.qq.com/s/{article_id}?idx={idx}"

    def api_calls(self, path: str) -> int:
        """How many calls to `path` were counted today."""
        with self.lock:
            return self.quotas.used(path)
