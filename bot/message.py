"""One pushed message or event, read from its XML fields, with its dedupe key and interaction kind."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bot.xmlin import items
from posts import interactions

SCENE_PREFIX = "qrscene_"
USER_MESSAGES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link"})
JOB_FINISHED = frozenset({"templatesendjobfinish", "masssendjobfinish"})
"""Results of a send: they carry ``MsgID`` (capital D, the send's msg_id) and ``Status``, no EventKey."""
NOTICE_EVENTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}
"""Subscribe-notice events and the field holding their ``List`` items (no EventKey)."""
SENT_EVENT = "subscribe_msg_sent_event"
PUBLISH_FINISHED = frozenset({"publishjobfinish", "freepublishjobfinish"})
"""Result of a publish job: ``PublishEventInfo`` with publish_id, publish_status, article_id, article_detail (the
doc once spelled it FREEPUBLISHJOBFINISH: both are accepted)."""
PUBLISH_INFO = "PublishEventInfo"


def sent_key(entries: list[dict[str, str]]) -> str | None:
    """What the inbound log keeps of a notice's result, for the scheduler to reconcile (posts.notices.reconcile):
    the MsgID, with ``!<ErrorCode>`` when it failed."""
    if not entries or not entries[0].get("MsgID"):
        return None
    code = entries[0].get("ErrorCode", "").strip()
    return entries[0]["MsgID"].strip() + ("" if code in ("", "0") else f"!{code}")


class MalformedPush(ValueError):
    """The XML lacks a field every push carries."""


@dataclass(frozen=True)
class Inbound:
    to_user: str
    openid: str
    create_time: int
    msg_type: str
    """Lower-case MsgType: text, image, ..., event."""
    event: str = ""
    """Lower-case Event for events: subscribe, unsubscribe, scan, click, view..."""
    event_key: str = ""
    """EventKey as pushed (``qrscene_`` kept)."""
    msg_id: str = ""
    content: str = ""
    fields: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Inbound:
        try:
            create_time = int(fields["CreateTime"])
            msg_type = fields["MsgType"].strip().lower()
            openid = fields["FromUserName"]
            to_user = fields["ToUserName"]
        except (KeyError, ValueError):
            raise MalformedPush("missing ToUserName, FromUserName, CreateTime or MsgType") from None
        if not msg_type or not openid:
            raise MalformedPush("empty MsgType or FromUserName")
        return cls(
            to_user=to_user,
            openid=openid,
            create_time=create_time,
            msg_type=msg_type,
            event=fields.get("Event", "").strip().lower(),
            event_key=fields.get("EventKey", "").strip(),
            msg_id=fields.get("MsgId", "").strip(),
            content=fields.get("Content", ""),
            fields=fields,
        )

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def scene(self) -> str | None:
        """The QR scene of a subscribe (``qrscene_`` stripped) or SCAN event, else None."""
        if self.event == "subscribe" and self.event_key.startswith(SCENE_PREFIX):
            return self.event_key[len(SCENE_PREFIX) :] or None
        if self.event == "scan":
            return self.event_key or None
        return None

    @property
    def dedup_key(self) -> str:
        """MsgId for messages; CreateTime + FromUserName + Event + EventKey for events (hashed when long).

        Time first, so that new keys land at the end of the unique index, as MsgIds (which grow) do: an insert at a
        random place would dirty a random index page in every commit.
        """
        if self.msg_id and not self.is_event:
            return f"msg:{self.msg_id}"
        key = f"evt:{self.create_time}:{self.openid}:{self.event or self.msg_type}:{self.event_key}"
        if self.event in NOTICE_EVENTS:  # no EventKey: two decisions in one second differ by their items
            digest = hashlib.sha256(self.fields.get(NOTICE_EVENTS[self.event], "").encode("utf-8")).hexdigest()
            key += digest[:16]
        if len(key) > 200:
            key = "evth:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
        return key

    @property
    def interaction(self) -> interactions.Interaction:
        """What this push is as an interaction, and which customer-service window it opens (posts.interactions)."""
        return interactions.classify(self.msg_type, self.event)

    @property
    def job_msg_id(self) -> str:
        """The ``MsgID`` of a TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH, else empty."""
        return self.fields.get("MsgID", "").strip() if self.event in JOB_FINISHED else ""

    @property
    def notice_items(self) -> list[dict[str, str]]:
        """The ``List`` items of a subscribe-notice event (TemplateId, SubscribeStatusString, PopupScene, or MsgID,
        ErrorCode, ErrorStatus), else empty."""
        name = NOTICE_EVENTS.get(self.event)
        return items(self.fields.get(name, "")) if name else []

    @property
    def publish_id(self) -> str:
        """The publish_id of a PUBLISHJOBFINISH, else empty."""
        if self.event not in PUBLISH_FINISHED:
            return ""
        return self.fields.get(f"{PUBLISH_INFO}/publish_id", "").strip()

    def publish_info(self, name: str) -> str:
        """One field of a PUBLISHJOBFINISH's PublishEventInfo (``article_detail/item/article_url``...)."""
        return self.fields.get(f"{PUBLISH_INFO}/{name}", "").strip()

    @property
    def log_key(self) -> str | None:
        """What the inbound log keeps: the event key (a job result's MsgID or publish_id), or a text's start."""
        if self.event in JOB_FINISHED:
            return self.job_msg_id or None
        if self.event == SENT_EVENT:
            return sent_key(self.notice_items)
        if self.event in PUBLISH_FINISHED:
            return self.publish_id or None
        if self.is_event:
            return self.event_key or None
        if self.msg_type == "text":
            return self.content[:64]
        return None
