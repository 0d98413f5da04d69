"""Read-only endpoints an account check probes: API addresses, the kf list, mass speed, notice templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Request, ok, route

if TYPE_CHECKING:
    from ..platform import Platform


@route("/cgi-bin/get_api_domain_ip", "GET")
def api_domain_ips(platform: Platform, req: Request) -> dict[str, Any]:
    """Addresses of api.weixin.qq.com (the sandbox answers from localhost)."""
    return {"ip_list": ["127.0.0.1"]}


@route("/cgi-bin/customservice/getkflist", "GET")
def kf_list(platform: Platform, req: Request) -> dict[str, Any]:
    """Customer-service staff accounts (none in the sandbox); answers only where custom messages are allowed."""
    return {"kf_list": []}


@route("/cgi-bin/message/mass/speed/get")
def mass_speed(platform: Platform, req: Request) -> dict[str, Any]:
    """Mass-send speed (verified accounts only)."""
    return ok(speed=3, realspeed=15)


@route("/wxaapi/newtmpl/gettemplate", "GET")
def notice_templates(platform: Platform, req: Request) -> dict[str, Any]:
    """The account's subscribe-notice templates (verified service accounts)."""
    templates = [
        {"priTmplId": t.template_id, "title": t.title, "content": t.content} for t in platform.templates.values()
    ]
    return ok(data=templates)
