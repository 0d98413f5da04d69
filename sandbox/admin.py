"""`/sandbox/...` admin endpoints: inspect inboxes/followers/state, arm faults, simulate followers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .errors import SandboxError
from .faults import FAULT_KINDS

if TYPE_CHECKING:
    from .api.base import Request
    from .platform import Platform
    from .pusher import Pusher, PushResult

Answer = tuple[str, dict[str, Any]]
ACTIONS = ("follow", "unfollow", "scan", "click", "view", "send_text", "notice_popup", "notice_change")


def summarize(result: PushResult) -> dict[str, Any]:
    """JSON view of a PushResult."""
    reply = result.reply
    return {
        "openid": result.openid,
        "trigger": result.trigger,
        "status": result.status,
        "attempts": result.attempts,
        "http_status": result.http_status,
        "reply_kind": result.reply_kind,
        "reply": None if reply is None else {"msgtype": reply.msgtype, "payload": reply.payload},
        "error": result.error,
        "elapsed": round(result.elapsed, 4),
        "msg_id": result.msg_id,
    }


class AdminApi:
    """Router for the admin prefix; answers plain JSON (HTTP status codes, not errcodes)."""

    def __init__(self, platform: Platform, pusher: Pusher | None = None) -> None:
        self.platform = platform
        self.pusher = pusher

    def handle(self, req: Request) -> Answer:
        """Dispatch one admin request."""
        try:
            return self._route(req)
        except (SandboxError, ValueError, TypeError, KeyError) as exc:
            return "400 Bad Request", {"error": f"{type(exc).__name__}: {exc}"}

    def _body(self, req: Request) -> dict[str, Any]:
        if not req.body.strip():
            return {}
        value = json.loads(req.body.decode("utf-8"))
        if not isinstance(value, dict):
            raise ValueError("JSON object expected")
        return value

    def _route(self, req: Request) -> Answer:
        path, method, p = req.path.rstrip("/"), req.method, self.platform
        if path == "/sandbox/followers" and method == "GET":
            return "200 OK", {"followers": p.followers()}
        if path == "/sandbox/followers" and method == "POST":
            return "200 OK", {"openid": p.add_follower(self._body(req).get("openid"))}
        if path.startswith("/sandbox/inbox/") and method == "GET":
            openid = unquote(path[len("/sandbox/inbox/") :])
            return "200 OK", {"openid": openid, "inbox": [r.to_dict() for r in p.inbox(openid)]}
        if path == "/sandbox/faults":
            return self._faults(req)
        if path == "/sandbox/templates" and method == "POST":
            body = self._body(req)
            return "200 OK", {
                "template_id": p.add_template(body.get("template_id"), body.get("title", "Sandbox template"))
            }
        if path.startswith("/sandbox/templates/") and path.endswith("/block") and method == "POST":
            template_id = unquote(path[len("/sandbox/templates/") : -len("/block")])
            if template_id not in p.templates:
                return "404 Not Found", {"error": f"no template {template_id}"}
            p.block_template(template_id)
            return "200 OK", {"template_id": template_id, "blocked": True}
        if path == "/sandbox/notice_templates" and method == "POST":
            body = self._body(req)
            template_id = p.add_notice_template(
                body.get("template_id"), body.get("title", "Sandbox notice"), body.get("keywords", ())
            )
            return "200 OK", {"template_id": template_id}
        if path == "/sandbox/notice_popup" and method == "GET":  # the link a stand-in page offers
            q = req.query
            if not q.get("openid") or not q.get("template_id"):
                return "400 Bad Request", {"error": "needs openid and template_id (open the page from the phone page)"}
            accept = q.get("accept", "1") not in ("0", "false", "no")
            body = {"action": "notice_popup", "openid": q["openid"], "template_id": q["template_id"]}
            return self._simulate({**body, "accept": accept, "scene": q.get("scene", "1")})
        if path == "/sandbox/state" and method == "GET":
            return "200 OK", self.state()
        if path == "/sandbox/simulate" and method == "POST":
            return self._simulate(self._body(req))
        return "404 Not Found", {"error": f"no admin endpoint {method} {req.path}"}

    def _faults(self, req: Request) -> Answer:
        faults = self.platform.faults
        if req.method == "GET":
            return "200 OK", {"faults": [f.to_dict() for f in faults.active()]}
        if req.method == "DELETE":
            faults.clear(req.query.get("path") or None)
            return "200 OK", {"faults": []}
        body = self._body(req)
        if body.get("clear"):
            faults.clear(body.get("path"))
            return "200 OK", {"faults": [f.to_dict() for f in faults.active()]}
        kind = body.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        fault = self.platform.inject_fault(
            str(body.get("path", "*")),
            kind,
            body.get("count", 1),
            delay=float(body.get("delay", 0.0)),
            errcode=body.get("errcode"),
            every=int(body.get("every", 1)),
        )
        return "200 OK", {"fault": fault.to_dict()}

    def state(self) -> dict[str, Any]:
        """Overview of the account's state."""
        p = self.platform
        with p.lock:
            return {
                "account": {
                    "app_id": p.config.app_id,
                    "original_id": p.config.original_id,
                    "account_type": p.config.account_type,
                    "verified": p.config.verified,
                    "ip_whitelist": list(p.config.ip_whitelist),
                    "message_mode": p.config.message_mode,
                    "callback_url": p.config.callback_url,
                },
                "menu": p.menu(),
                "tags": [{"id": i, "name": n} for i, n in p.tags().items()],
                "tickets": [
                    {
                        "ticket": t.ticket,
                        "action_name": t.action_name,
                        "scene": t.scene,
                        "expire_at": t.expire_at,
                        "url": t.url,
                    }
                    for t in p.tickets.values()
                ],
                "templates": sorted(p.templates),
                "notices": {
                    "enabled": p.config.notices_enabled,
                    "long_term": p.config.notice_long_term,
                    "templates": sorted(p.notice_templates),
                    "consents": [
                        {"openid": openid, "template_id": template_id, "left": left}
                        for (openid, template_id), left in sorted(p.notice_consents.items())
                    ],
                },
                "drafts": sorted(p.drafts),
                "publishes": [
                    {"publish_id": j.publish_id, "status": j.status, "article_id": j.article_id}
                    for j in p.publishes.values()
                ],
                "mass_jobs": [
                    {
                        "msg_id": j.msg_id,
                        "msgtype": j.msgtype,
                        "status": j.status,
                        "total": j.total,
                        "filtered": j.filtered,
                        "sent": j.sent,
                    }
                    for j in p.mass_jobs.values()
                ],
                "faults": [f.to_dict() for f in p.faults.active()],
            }

    def _simulate(self, body: dict[str, Any]) -> Answer:
        if self.pusher is None:
            raise SandboxError("no pusher attached to this server")
        action, openid = body.get("action"), body.get("openid")
        pusher = self.pusher
        if action == "follow":
            result = pusher.follow(openid, body.get("scene"), ticket=body.get("ticket"))
        elif action == "unfollow":
            result = pusher.unfollow(str(openid))
        elif action == "scan":
            result = pusher.scan(str(openid), body.get("scene"), ticket=body.get("ticket"))
        elif action == "click":
            result = pusher.click(str(openid), str(body["key"]))
        elif action == "view":
            result = pusher.view(str(openid), str(body["url"]))
        elif action == "send_text":
            result = pusher.send_text(str(openid), str(body["text"]))
        elif action == "notice_popup":
            accept = body.get("accept", True)
            result = pusher.notice_popup(
                str(openid), body["template_id"], accept=accept, scene=int(body.get("scene", 1))
            )
        elif action == "notice_change":
            result = pusher.notice_change(str(openid), str(body["template_id"]), accept=bool(body.get("accept", False)))
        else:
            raise ValueError(f"action must be one of {ACTIONS}")
        return "200 OK", summarize(result)
