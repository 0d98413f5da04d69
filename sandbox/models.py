"""Records held by the platform state (followers, tickets, inbox entries, media, jobs...)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

InboxKind = Literal["reply", "custom", "template", "notice", "mass", "publish"]
WindowTrigger = Literal["message", "event"]


@dataclass
class InboxRecord:
    """One thing a follower received: kind, msgtype, payload (WeChat's JSON/XML fields), time, channel."""

    kind: InboxKind
    msgtype: str
    payload: dict[str, Any]
    at: float
    via: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return asdict(self)


@dataclass
class CsWindow:
    """A customer-service window opened by a user action (message: 48 h/5, event: 1 min/3)."""

    trigger: WindowTrigger
    opened_at: float
    expires_at: float
    quota: int
    used: int = 0


@dataclass
class Follower:
    """A (possibly former) follower of the account."""

    openid: str
    subscribed: bool = True
    subscribe_time: int = 0
    subscribe_scene: str = "ADD_SCENE_OTHERS"
    qr_scene: int = 0
    qr_scene_str: str = ""
    tags: list[int] = field(default_factory=list)
    remark: str = ""
    language: str = "zh_CN"
    unionid: str | None = None
    windows: list[CsWindow] = field(default_factory=list)
    mass_by_month: dict[str, int] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """The `user/info` JSON for this follower."""
        if not self.subscribed:
            out: dict[str, Any] = {"subscribe": 0, "openid": self.openid}
        else:
            out = {
                "subscribe": 1,
                "openid": self.openid,
                "language": self.language,
                "subscribe_time": self.subscribe_time,
                "remark": self.remark,
                "groupid": 0,
                "tagid_list": list(self.tags),
                "subscribe_scene": self.subscribe_scene,
                "qr_scene": self.qr_scene,
                "qr_scene_str": self.qr_scene_str,
            }
        if self.unionid:
            out["unionid"] = self.unionid
        return out


@dataclass
class Tag:
    """A user tag."""

    id: int
    name: str


@dataclass
class QrTicket:
    """A parametric QR code issued by `qrcode/create`."""

    ticket: str
    action_name: str
    url: str
    created_at: float
    expire_at: float | None
    scene_id: int | None = None
    scene_str: str | None = None

    @property
    def scene(self) -> str:
        """The scene as it appears in EventKey (int as string, or scene_str)."""
        return str(self.scene_id) if self.scene_str is None else self.scene_str

    @property
    def permanent(self) -> bool:
        """True for QR_LIMIT_* codes."""
        return self.expire_at is None


@dataclass
class TokenRecord:
    """An issued access_token (classic or stable)."""

    token: str
    kind: Literal["classic", "stable"]
    issued_at: float
    expires_at: float
    invalid_after: float | None = None


@dataclass
class Media:
    """Temporary media, permanent material or an article image."""

    media_id: str
    type: str
    data: bytes
    filename: str
    content_type: str
    created_at: float
    permanent: bool
    url: str | None = None
    description: dict[str, Any] | None = None


@dataclass
class Draft:
    """A draft-box entry (`draft/add`)."""

    media_id: str
    articles: list[dict[str, Any]]
    update_time: int


@dataclass
class Publish:
    """A `freepublish/submit` job."""

    publish_id: str
    media_id: str
    articles: list[dict[str, Any]]
    msg_data_id: int
    status: int = 1
    article_id: str = ""
    fail_idx: list[int] = field(default_factory=list)


@dataclass
class MassJob:
    """A mass-send job and its final counts."""

    msg_id: int
    msg_data_id: int | None
    msgtype: str
    payload: dict[str, Any]
    via: str
    created_at: float
    clientmsgid: str
    status: str = "SEND_SUCCESS"
    total: int = 0
    filtered: int = 0
    sent: int = 0
    errors: int = 0
    recipients: list[str] = field(default_factory=list)


@dataclass
class NoticeTemplate:
    """A subscribe-notice template the account picked from the library (订阅通知 → 我的模板)."""

    template_id: str
    title: str = "Sandbox notice"
    keywords: tuple[str, ...] = ()
    """Its keywords (thing1, time2...); empty: any keyword name is accepted, checked by its type."""


@dataclass
class Template:
    """A private template of a service account."""

    template_id: str
    title: str = "Sandbox template"
    content: str = "{{thing1.DATA}}"
    example: str = ""
    blocked: bool = False
    """WeChat blocked it (misuse, e.g. news sent as templates): every send answers 40249."""
