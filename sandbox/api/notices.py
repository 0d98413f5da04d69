"""Subscribe notices (订阅通知): bizsend on the consents the stand-in learnt from its popups, field rules, results.

One consent allows one send (``PlatformConfig.notice_long_term``: until withdrawn); without one: 43101. Each
keyword's value is checked by its type (thing ≤20 characters, phrase ≤5, name ≤10, no line breaks, time a time
value): 47003 otherwise, WeChat does not cut notice fields. After a send the result comes back to the callback as
``subscribe_msg_sent_event``. An account without notices (``notices_enabled=False``) answers 48001.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from .base import Request, need, ok, route
from .messages import TIME_VALUE

if TYPE_CHECKING:
    from ..platform import Platform

MAX_CHARS = {
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
TIME_TYPES = frozenset({"time", "date"})
_KEYWORD = re.compile(r"^([a-z_]+?)(\d+)$")


def check_value(name: str, value: Any) -> str:
    """The value as shown, or 47003 naming the keyword whose rule it breaks."""
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        raise ApiError(47003, f"data.{name}.value")
    text = value["value"]
    found = _KEYWORD.match(name)
    kind = found.group(1) if found else ""
    if kind in TIME_TYPES:
        if not text.strip() or not TIME_VALUE.match(text.strip()):
            raise ApiError(47003, f"data.{name}.value invalid")
        return text
    if kind not in MAX_CHARS:
        raise ApiError(47003, f"data.{name} is not a keyword of this template")
    if not text.strip() or "\n" in text or "\r" in text or len(text) > MAX_CHARS[kind]:
        raise ApiError(47003, f"data.{name}.value invalid")
    return text


@route("/cgi-bin/message/subscribe/bizsend")
def bizsend(platform: Platform, req: Request) -> dict[str, Any]:
    """One notice on one consent: 48001 no notices, 40037 unknown template, 40003 unknown openid, 47003 a field,
    43101 no consent."""
    if not platform.config.notices_enabled:
        raise ApiError(48001)
    data = req.json()
    openid = str(need(data, "touser", 40003))
    template = platform.notice_templates.get(str(data.get("template_id", "")))
    if template is None:
        raise ApiError(40037)
    if platform.follower(openid) is None:
        raise ApiError(40003)
    fields = data.get("data")
    if not isinstance(fields, dict) or not fields:
        raise ApiError(47003, "data")
    if template.keywords and set(fields) - set(template.keywords):
        raise ApiError(47003, f"data.{sorted(set(fields) - set(template.keywords))[0]} is not a keyword")
    shown = {name: {"value": check_value(name, value)} for name, value in fields.items()}
    page = data.get("page")
    if page is not None and not (isinstance(page, str) and page.startswith(("http://", "https://"))):
        raise ApiError(47003, "page")
    platform.take_notice(openid, template.template_id)
    msgid = platform.next_id()
    payload: dict[str, Any] = {"template_id": template.template_id, "data": shown, "msgid": msgid}
    if page:
        payload["page"] = page
    platform.deliver(openid, "notice", "subscribe", payload, "message/subscribe/bizsend")
    item = {"TemplateId": template.template_id, "MsgID": str(msgid), "ErrorCode": 0, "ErrorStatus": "success"}
    platform.emit_event(
        {"FromUserName": openid, "Event": "subscribe_msg_sent_event", "SubscribeMsgSentEvent": {"List": item}}
    )
    return ok(msgid=msgid)
