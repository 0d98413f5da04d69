"""WeChat limits and daily API quotas modelled by the sandbox (one place; override per platform)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import WindowTrigger

# Documented daily defaults for a new account (reference §4.13); keys are request paths.
DAILY_QUOTAS: dict[str, int] = {
    "/cgi-bin/token": 2000,
    "/cgi-bin/stable_token": 500_000,
    "/cgi-bin/menu/create": 1000,
    "/cgi-bin/menu/get": 10_000,
    "/cgi-bin/menu/delete": 1000,
    "/cgi-bin/get_current_selfmenu_info": 10_000,
    "/cgi-bin/qrcode/create": 100_000,
    "/cgi-bin/user/info": 5_000_000,
    "/cgi-bin/user/info/batchget": 5_000_000,
    "/cgi-bin/user/get": 500,
    "/cgi-bin/user/info/updateremark": 10_000,
    "/cgi-bin/message/custom/send": 500_000,
    "/cgi-bin/message/template/send": 100_000,
    "/cgi-bin/message/mass/sendall": 100,
    "/cgi-bin/message/mass/send": 100,
    "/cgi-bin/message/mass/preview": 100,
    "/cgi-bin/media/upload": 100_000,
    "/cgi-bin/media/get": 200_000,
    "/cgi-bin/media/uploadimg": 100_000,
    "/cgi-bin/draft/add": 1000,
    "/cgi-bin/draft/get": 500,
    "/cgi-bin/draft/delete": 1000,
    "/cgi-bin/draft/count": 1000,
    "/cgi-bin/draft/batchget": 1000,
    "/cgi-bin/freepublish/submit": 100,
    "/cgi-bin/freepublish/get": 100,
    "/cgi-bin/freepublish/getarticle": 100,
    "/cgi-bin/freepublish/batchget": 100,
}

# Per-minute limits (45011 when exceeded); a group name shares one counter between paths.
MINUTE_QUOTAS: dict[str, int] = {
    "mass": 60,
    "/cgi-bin/stable_token": 10_000,
}
MINUTE_GROUPS: dict[str, str] = {
    "/cgi-bin/message/mass/sendall": "mass",
    "/cgi-bin/message/mass/send": "mass",
}

MENU_BUTTON_TYPES: frozenset[str] = frozenset(
    {
        "click",
        "view",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
        "media_id",
        "view_limited",
        "article_id",
        "article_view_limited",
        "miniprogram",
    }
)
KEY_BUTTON_TYPES: frozenset[str] = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
# Events whose push opens the 1-minute customer-service window (reference §4.6): a follow, a parametric QR scan, a
# menu tap of type click or scancode_*. A VIEW tap, pic_*/location_select taps, LOCATION etc. open none.
WINDOW_EVENTS: frozenset[str] = frozenset({"subscribe", "scan", "click", "scancode_push", "scancode_waitmsg"})


def window_trigger(msg_type: str, event: str = "") -> WindowTrigger | None:
    """The window a push of this MsgType/Event opens: any user message the 48-hour one, some events the minute."""
    if msg_type.lower() != "event":
        return "message"
    return "event" if event.lower() in WINDOW_EVENTS else None


# Which capability each API path belongs to (longest prefix wins); a path not listed needs none (token, IPs...).
CAPABILITY_PATHS: dict[str, str] = {
    "/cgi-bin/message/custom/": "custom",
    "/cgi-bin/customservice/": "custom",
    "/cgi-bin/message/template/": "template",
    "/cgi-bin/template/": "template",
    "/cgi-bin/message/mass/": "mass",
    "/cgi-bin/message/subscribe/": "notices",
    "/wxaapi/newtmpl/": "notices",
    "/cgi-bin/freepublish/": "publish",
    "/cgi-bin/draft/": "draft",
    "/cgi-bin/qrcode/": "qr",
    "/cgi-bin/menu/": "menu",
    "/cgi-bin/get_current_selfmenu_info": "menu",
    "/cgi-bin/user/": "users",
    "/cgi-bin/tags/": "tags",
    "/cgi-bin/media/": "media",
    "/cgi-bin/material/": "media",
}
ALL_CAPABILITIES: frozenset[str] = frozenset(CAPABILITY_PATHS.values())
# What each kind of account may do (reference §1 and rules-and-operators-2026 §1): templates and notices need a
# verified service account; most management APIs need verification; since July 2025 unverified accounts lost the
# publish APIs. An unverified account keeps the draft box and media uploads.
ACCOUNT_CAPABILITIES: dict[tuple[str, bool], frozenset[str]] = {
    ("service", True): ALL_CAPABILITIES,
    ("subscription", True): ALL_CAPABILITIES - {"template", "notices"},
    ("service", False): frozenset({"draft", "media"}),
    ("subscription", False): frozenset({"draft", "media"}),
}


def capability_of(path: str) -> str | None:
    """The capability an API path needs (None: any account may call it)."""
    found = [prefix for prefix in CAPABILITY_PATHS if path.startswith(prefix)]
    return CAPABILITY_PATHS[max(found, key=len)] if found else None


# Message types that limit a passive news reply to one article (reference §3.2).
ONE_ARTICLE_TRIGGERS: frozenset[str] = frozenset({"text", "image", "video", "link", "location"})

SERVICE_UNAVAILABLE = "该公众号提供的服务出现故障，请稍后再试"


@dataclass(frozen=True)
class Limits:
    """Every numeric WeChat rule the sandbox enforces; replace fields with `dataclasses.replace`."""

    token_ttl: int = 7200
    token_overlap: int = 300
    stable_renew_margin: int = 300
    stable_force_per_day: int = 20
    stable_force_min_interval: int = 30
    menu_top_max: int = 3
    menu_sub_max: int = 5
    menu_top_name_bytes: int = 16
    menu_sub_name_bytes: int = 60
    menu_key_bytes: int = 128
    menu_url_bytes: int = 1024
    qr_expire_max: int = 2_592_000
    qr_expire_default: int = 60
    qr_limit_scene_max: int = 100_000
    qr_permanent_quota: int = 100_000
    qr_scene_str_max: int = 64
    user_page_size: int = 10_000
    user_batchget_max: int = 100
    tag_batch_max: int = 50
    tags_per_user: int = 20
    tags_per_account: int = 100
    tag_name_max: int = 30
    cs_message_window: int = 48 * 3600
    cs_message_quota: int = 5
    cs_event_window: int = 60
    cs_event_quota: int = 3
    cs_text_max_bytes: int = 2048
    cs_news_max: int = 1
    reply_news_max: int = 8
    """Articles a passive news reply to an event may carry (more: "service unavailable")."""
    reply_news_shown: int = 1
    """Articles of a passive news reply WeChat shows since 2018-10-12 (the rest are dropped, silently)."""
    template_dedup_seconds: int = 600
    mass_subscription_per_day: int = 1
    mass_service_per_month: int = 4
    mass_dedup_seconds: int = 86_400
    mass_clientmsgid_max_bytes: int = 64
    mass_send_min: int = 2
    mass_send_max: int = 10_000
    media_ttl: int = 3 * 86_400
    media_max_bytes: dict[str, int] = field(
        default_factory=lambda: {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "thumb": 64 << 10}
    )
    draft_title_max: int = 32
    draft_author_max: int = 16
    draft_digest_max: int = 128
    callback_timeout: float = 5.0
    callback_attempts: int = 3
