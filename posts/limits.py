"""WeChat's limits, in one place (see docs and ../shared/wechat-platform.md §3, §4)."""

from __future__ import annotations

from typing import Final

# Passive replies (§3.2)
TEXT_REPLY_MAX_BYTES: Final = 2048
"""A text reply longer than this (UTF-8 bytes) is cut by WeChat; send a one-article news reply instead."""
NEWS_ARTICLES_PER_REPLY: Final = 1
"""A passive news reply carries one article, whatever the push (message, follow, menu click...).

Since 2018-10-12 WeChat shows one article of a passive news reply; the documentation still allows up to 8 for
events, but followers see only the first, so a reply that lists several items links to one page instead.
"""
NEWS_TITLE_MAX_BYTES: Final = 64
NEWS_DESCRIPTION_MAX_BYTES: Final = 120
CALLBACK_DEADLINE_SECONDS: Final = 5.0
CALLBACK_MAX_BODY_BYTES: Final = 64 * 1024

# Custom menu (§4.2)
MENU_MAX_TOP_BUTTONS: Final = 3
MENU_MAX_SUB_BUTTONS: Final = 5
MENU_TOP_NAME_MAX_BYTES: Final = 16
MENU_SUB_NAME_MAX_BYTES: Final = 60
MENU_KEY_MAX_BYTES: Final = 128
MENU_URL_MAX_BYTES: Final = 1024

# QR codes (§4.3)
QR_TEMPORARY_MAX_SECONDS: Final = 2_592_000
QR_PERMANENT_SCENE_ID_MAX: Final = 100_000
QR_SCENE_STR_MAX_CHARS: Final = 64

# Tags (§4.5)
TAG_BATCH_MAX_OPENIDS: Final = 50
TAGS_PER_USER_MAX: Final = 20
TAG_NAME_MAX_CHARS: Final = 30

# Customer-service window (§4.6)
CS_WINDOW_MESSAGE_SECONDS: Final = 48 * 3600
CS_TEXT_MAX_BYTES: Final = 2048
"""A customer-service text longer than this (UTF-8 bytes) is refused by WeChat (45002)."""
CS_WINDOW_MESSAGE_QUOTA: Final = 5
CS_WINDOW_EVENT_SECONDS: Final = 60
CS_WINDOW_EVENT_QUOTA: Final = 3
CS_WINDOW_OPENING_EVENTS: Final = frozenset({"subscribe", "click", "scan", "scancode_push", "scancode_waitmsg"})

# Template messages (§4.7)
TEMPLATE_FIELD_MAX_CHARS: Final = 20
"""A category template's thing/keyword value: at most 20 characters, no line breaks (47003 or cut otherwise)."""

# Subscribe notices (订阅通知, §4.8): each field's value type is its name without the trailing number
NOTICE_FIELD_MAX_CHARS: Final = {
    "thing": 20,
    "name": 10,
    "phrase": 5,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "car_number": 8,
    "phone_number": 17,
    "amount": 11,
}
"""At most this many characters per value type, no line breaks (47003 otherwise); ``time``/``date`` take a
WeChat time value instead."""
NOTICE_TIME_TYPES: Final = frozenset({"time", "date"})
NOTICE_CONSENT_ERRCODE: Final = 43101
"""bizsend without a (remaining) consent: the follower refused, or the one-time consent was used."""

# Mass send (§4.9)
MASS_SENDS_PER_DAY_SUBSCRIPTION: Final = 1
MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE: Final = 4
MASS_CALLS_PER_MINUTE: Final = 60
MASS_OPENID_LIST_MIN: Final = 2
MASS_OPENID_LIST_MAX: Final = 10_000
MASS_PREVIEW_PER_DAY: Final = 100
"""message/mass/preview (one copy to one follower, for a look before sending): its own daily limit, apart from the
mass sends' quota; an operator's "send to me" uses it outside their customer-service window."""

# Drafts and publishing (§4.10, §4.11)
DRAFT_TITLE_MAX_CHARS: Final = 32
DRAFT_DIGEST_MAX_CHARS: Final = 120
ARTICLE_IMAGE_MAX_BYTES: Final = 1 << 20
"""media/uploadimg takes JPG/PNG under 1 MB (images inside article HTML; external URLs are filtered out)."""

# Followers (§4.4)
USER_LIST_PAGE_MAX: Final = 10_000
USER_BATCHGET_MAX: Final = 100


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def truncate_utf8(text: str, max_bytes: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, never inside a character."""
    if utf8_len(text) <= max_bytes:
        return text
    budget = max_bytes - utf8_len(ellipsis)
    out = text.encode("utf-8")[: max(budget, 0)].decode("utf-8", errors="ignore")
    return out + ellipsis
