"""Customer-service send (window rules) and template messages (service accounts, client_msg_id dedup)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..models import Template
from ..payloads import CUSTOM_TYPES, message_payload
from .base import Request, need, ok, route

if TYPE_CHECKING:
    from ..platform import Platform

DROPPED_TEMPLATE_FIELDS = ("first", "remark")
TEMPLATE_FIELD_MAX_CHARS = 20
"""Category templates' thing values: longer ones are cut, line breaks dropped (the 2023 rule change)."""
TIME_VALUE = re.compile(
    r"^(\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{2}-\d{2})?( ?\d{1,2}:\d{2})?"
    r"(~(\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{2}-\d{2})?( ?\d{1,2}:\d{2})?)?$"
)
"""A ``time`` keyword's value: 24-hour time, with the date if wanted, or a range joined by ~."""


@route("/cgi-bin/message/custom/send")
def custom_send(platform: Platform, req: Request) -> dict[str, Any]:
    """Deliver inside an open window: 45015 closed/unfollowed, 45047 quota used up."""
    data = req.json()
    follower = platform.follower_record(str(need(data, "touser", 40003)))
    msgtype, payload = message_payload(platform, data, CUSTOM_TYPES)
    platform.consume_window(follower.openid)
    account = (data.get("customservice") or {}).get("kf_account")
    via = f"kf:{account}" if account else "message/custom/send"
    platform.deliver(follower.openid, "custom", msgtype, payload, via)
    return ok()


def _template(platform: Platform, template_id: Any) -> Template:
    template = platform.templates.get(template_id) if isinstance(template_id, str) else None
    if template is None:
        raise ApiError(40037)
    return template


def _shown(name: str, value: str) -> str:
    """What the follower sees of one field: 47003 for a time that is not a time, thing values cut to 20."""
    if name.startswith("time") and (not value.strip() or not TIME_VALUE.match(value.strip())):
        raise ApiError(47003, f"data.{name}.value invalid")
    if name.startswith("thing"):
        return value.replace("\n", "").replace("\r", "")[:TEMPLATE_FIELD_MAX_CHARS]
    return value


@route("/cgi-bin/message/template/send")
def template_send(platform: Platform, req: Request) -> dict[str, Any]:
    """Template message to a follower; same openid+client_msg_id within 10 minutes is sent once."""
    if platform.config.account_type != "service":
        raise ApiError(48001)
    data = req.json()
    openid = str(need(data, "touser", 40003))
    template = _template(platform, data.get("template_id"))
    if template.blocked:
        raise ApiError(40249)
    follower = platform.follower_record(openid)
    if not follower.subscribed:
        raise ApiError(43004)
    fields = data.get("data")
    if not isinstance(fields, dict):
        raise ApiError(47003, "data")
    for name, value in fields.items():
        if not isinstance(value, dict) or not isinstance(value.get("value"), str):
            raise ApiError(47003, f"data.{name}.value")
    cut = {k: {**v, "value": _shown(k, v["value"])} for k, v in fields.items() if k not in DROPPED_TEMPLATE_FIELDS}
    now = platform.now()
    client_msg_id = data.get("client_msg_id")
    if client_msg_id:
        seen = platform.template_sends.get((openid, str(client_msg_id)))
        if seen is not None and now - seen[1] < platform.limits.template_dedup_seconds:
            return ok(msgid=seen[0])
    msgid = platform.next_id()
    if client_msg_id:
        platform.template_sends[(openid, str(client_msg_id))] = (msgid, now)
    payload: dict[str, Any] = {"template_id": template.template_id, "data": cut, "msgid": msgid}
    for key in ("url", "miniprogram", "client_msg_id"):
        if data.get(key):
            payload[key] = data[key]
    platform.deliver(openid, "template", "template", payload, "message/template/send")
    platform.emit_event({"FromUserName": openid, "Event": "TEMPLATESENDJOBFINISH", "MsgID": msgid, "Status": "success"})
    return ok(msgid=msgid)


@route("/cgi-bin/template/api_add_template")
def add_template(platform: Platform, req: Request) -> dict[str, Any]:
    """Add a template from the library by short id; returns a new template_id."""
    short = str(need(req.json(), "template_id_short"))
    return ok(template_id=platform.add_template(title=f"Template {short}"))


@route("/cgi-bin/template/get_all_private_template", "GET")
def list_templates(platform: Platform, req: Request) -> dict[str, Any]:
    """The account's templates."""
    items = [
        {"template_id": t.template_id, "title": t.title, "content": t.content, "example": t.example}
        for t in platform.templates.values()
    ]
    return {"template_list": items}


@route("/cgi-bin/template/del_private_template")
def del_template(platform: Platform, req: Request) -> dict[str, Any]:
    """Remove a template."""
    template = _template(platform, req.json().get("template_id"))
    del platform.templates[template.template_id]
    return ok()
