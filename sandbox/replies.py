"""Classify a bot's passive reply the way WeChat does: nothing, a valid message, or invalid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .limits import ONE_ARTICLE_TRIGGERS
from .wxcrypto import CryptoFailure, MessageCipher, sign
from .xmlmsg import parse_xml

if TYPE_CHECKING:
    from .platform import Platform

ReplyKind = Literal["empty", "success", "message", "invalid", "none"]
MEDIA_REPLIES = {"image": "Image", "voice": "Voice", "video": "Video"}


@dataclass
class Reply:
    """Outcome of parsing a reply body; `payload` is what the follower sees (inbox payload)."""

    kind: ReplyKind
    msgtype: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    encrypted: bool = False
    warning: str | None = None
    """A valid reply the follower does not see as written (a news reply of several articles shows only the first)."""


class InvalidReply(Exception):
    """The reply would make WeChat show "service unavailable"."""


def _section(fields: dict[str, Any], name: str) -> dict[str, Any]:
    value = fields.get(name)
    if not isinstance(value, dict):
        raise InvalidReply(f"missing <{name}>")
    return value


def _media(platform: Platform, media_id: Any) -> str:
    if not isinstance(media_id, str) or not media_id:
        raise InvalidReply("missing MediaId")
    try:
        platform.live_media(media_id)
    except Exception as exc:
        raise InvalidReply(f"unknown or expired media_id {media_id}") from exc
    return media_id


def _payload(platform: Platform, fields: dict[str, Any], trigger: str) -> tuple[str, dict[str, Any], str | None]:
    msgtype = fields.get("MsgType")
    if msgtype == "text":
        content = fields.get("Content")
        if not isinstance(content, str):
            raise InvalidReply("text reply without Content")
        return msgtype, {"content": content}, None
    if msgtype in MEDIA_REPLIES:
        section = _section(fields, MEDIA_REPLIES[msgtype])
        payload = {"media_id": _media(platform, section.get("MediaId"))}
        if msgtype == "video":
            payload.update(title=section.get("Title", ""), description=section.get("Description", ""))
        return msgtype, payload, None
    if msgtype == "music":
        section = _section(fields, "Music")
        return (
            msgtype,
            {
                "title": section.get("Title", ""),
                "description": section.get("Description", ""),
                "musicurl": section.get("MusicUrl", ""),
                "hqmusicurl": section.get("HQMusicUrl", ""),
                "thumb_media_id": _media(platform, section.get("ThumbMediaId")),
            },
            None,
        )
    if msgtype == "news":
        items = _section(fields, "Articles").get("item")
        items = items if isinstance(items, list) else [items] if isinstance(items, dict) else []
        if not items:
            raise InvalidReply("news reply without articles")
        limits = platform.config.limits
        limit = 1 if trigger in ONE_ARTICLE_TRIGGERS else limits.reply_news_max
        if len(items) > limit:
            raise InvalidReply(f"{len(items)} articles; at most {limit} for a {trigger} push")
        if str(fields.get("ArticleCount", "")) != str(len(items)):
            raise InvalidReply("ArticleCount does not match the items")
        articles = [
            {
                "title": i.get("Title", ""),
                "description": i.get("Description", ""),
                "picurl": i.get("PicUrl", ""),
                "url": i.get("Url", ""),
            }
            for i in items
        ]
        warning = None
        if len(articles) > limits.reply_news_shown:
            warning = f"news reply of {len(articles)} articles: WeChat shows only {limits.reply_news_shown}"
            articles = articles[: limits.reply_news_shown]
        return msgtype, {"articles": articles}, warning
    if msgtype == "transfer_customer_service":
        return msgtype, {}, None
    raise InvalidReply(f"unknown reply MsgType {msgtype!r}")


def classify_reply(platform: Platform, body: bytes, openid: str, trigger: str) -> Reply:
    """Decode, verify (safe/compat), decrypt and validate a reply body for a push that `openid` caused."""
    config = platform.config
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Reply("invalid", error="reply is not UTF-8")
    if not text.strip():
        return Reply("empty")
    if text.strip() == "success":
        return Reply("success")
    encrypted = False
    try:
        fields = parse_xml(text)
        if "Encrypt" in fields:
            if config.message_mode == "plain":
                raise InvalidReply("encrypted reply but the account is in plain mode")
            encrypted = True
            enc, ts, nonce = fields.get("Encrypt"), fields.get("TimeStamp"), fields.get("Nonce")
            if not all(isinstance(v, str) and v for v in (enc, ts, nonce, fields.get("MsgSignature"))):
                raise InvalidReply("encrypted reply needs Encrypt, MsgSignature, TimeStamp, Nonce")
            if sign(config.token, str(ts), str(nonce), str(enc)) != fields["MsgSignature"]:
                raise InvalidReply("MsgSignature does not match")
            try:
                inner = MessageCipher(config.encoding_aes_key, config.app_id).decrypt(str(enc))
            except CryptoFailure as exc:
                raise InvalidReply(str(exc)) from exc
            fields = parse_xml(inner)
        elif config.message_mode == "safe":
            raise InvalidReply("safe mode requires an encrypted reply")
        if fields.get("ToUserName") != openid:
            raise InvalidReply(f"ToUserName {fields.get('ToUserName')!r} is not the user {openid!r}")
        if fields.get("FromUserName") != config.original_id:
            raise InvalidReply(f"FromUserName {fields.get('FromUserName')!r} is not {config.original_id!r}")
        if not str(fields.get("CreateTime", "")).isdigit():
            raise InvalidReply("CreateTime missing or not an integer")
        msgtype, payload, warning = _payload(platform, fields, trigger)
    except (InvalidReply, ValueError) as exc:
        return Reply("invalid", error=str(exc), encrypted=encrypted)
    return Reply("message", msgtype, payload, encrypted=encrypted, warning=warning)
