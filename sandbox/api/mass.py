"""Mass send (sendall by tag/all, send by openid list, preview, get, delete) with quotas and dedup."""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..models import MassJob
from ..payloads import MASS_TYPES, message_payload
from ..quotas import BEIJING_OFFSET
from .base import Request, ok, route

if TYPE_CHECKING:
    from ..platform import Platform

SYSTEM_OPENID = "oSandboxSystem00000000000000"


def _month(ts: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(ts + BEIJING_OFFSET))


def _day(ts: float) -> int:
    return int((ts + BEIJING_OFFSET) // 86_400)


def _dedup_key(data: dict[str, Any], scope: str, msgtype: str, payload: dict[str, Any]) -> str:
    given = data.get("clientmsgid")
    if given is not None:
        key = str(given)
        if len(key.encode("utf-8")) > 64:
            raise ApiError(45067)
        return "id:" + key
    digest = hashlib.sha1(json.dumps([scope, msgtype, payload], sort_keys=True).encode()).hexdigest()
    return "auto:" + digest


def _check_dedup(platform: Platform, key: str) -> None:
    seen = platform.mass_clientmsgids.get(key)
    if seen is not None and platform.now() - seen[1] < platform.limits.mass_dedup_seconds:
        raise ApiError(45065, msg_id=seen[0])


def _with_articles(platform: Platform, msgtype: str, payload: dict[str, Any]) -> dict[str, Any]:
    if msgtype == "mpnews" and payload.get("media_id") in platform.drafts:
        return {**payload, "articles": platform.drafts[payload["media_id"]].articles}
    return dict(payload)


def _run_job(platform: Platform, data: dict[str, Any], targets: list[str], scope: str, via: str) -> dict:
    msgtype, payload = message_payload(platform, data, MASS_TYPES)
    key = _dedup_key(data, scope, msgtype, payload)
    _check_dedup(platform, key)
    now = platform.now()
    service = platform.config.account_type == "service"
    if not service:
        sent_today = sum(
            1 for j in platform.mass_jobs.values() if j.via.endswith("sendall") and _day(j.created_at) == _day(now)
        )
        if sent_today >= platform.limits.mass_subscription_per_day:
            raise ApiError(45028)
    month = _month(now)
    eligible = []
    subscribed = set(platform.subscribed_openids())
    for openid in targets:
        if openid not in subscribed:
            continue
        follower = platform.follower_record(openid)
        if service and follower.mass_by_month.get(month, 0) >= platform.limits.mass_service_per_month:
            continue
        eligible.append(follower)
    delivered = _with_articles(platform, msgtype, payload)
    msg_id = platform.next_id()
    msg_data_id = platform.next_id() if msgtype == "mpnews" else None
    for follower in eligible:
        follower.mass_by_month[month] = follower.mass_by_month.get(month, 0) + 1
        platform.deliver(follower.openid, "mass", msgtype, {**delivered, "msg_id": msg_id}, via)
    job = MassJob(
        msg_id,
        msg_data_id,
        msgtype,
        delivered,
        via,
        now,
        key,
        total=len(targets),
        filtered=len(eligible),
        sent=len(eligible),
        recipients=[f.openid for f in eligible],
    )
    platform.mass_jobs[msg_id] = job
    platform.mass_clientmsgids[key] = (msg_id, now)
    if msgtype == "mpnews":
        platform.drafts.pop(payload["media_id"], None)
    platform.emit_event(
        {
            "FromUserName": SYSTEM_OPENID,
            "Event": "MASSSENDJOBFINISH",
            "MsgID": msg_id,
            "Status": "send success",
            "TotalCount": job.total,
            "FilterCount": job.filtered,
            "SentCount": job.sent,
            "ErrorCount": job.errors,
        }
    )
    out = ok(msg_id=msg_id)
    out["errmsg"] = "send job submission success"
    if msg_data_id is not None:
        out["msg_data_id"] = msg_data_id
    return out


@route("/cgi-bin/message/mass/sendall")
def sendall(platform: Platform, req: Request) -> dict[str, Any]:
    """To everyone (`is_to_all`) or one tag (`tag_id`, legacy `group_id`)."""
    data = req.json()
    flt = data.get("filter")
    if not isinstance(flt, dict):
        raise ApiError(47001, "missing filter")
    followers = platform.followers(subscribed_only=True)
    if flt.get("is_to_all"):
        scope, targets = "all", [f["openid"] for f in followers]
    else:
        raw = flt.get("tag_id", flt.get("group_id"))
        try:
            tag_id = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ApiError(45159) from exc
        if tag_id not in platform.tag_table():
            raise ApiError(45159)
        scope, targets = f"tag:{tag_id}", [f["openid"] for f in followers if tag_id in f["tagid_list"]]
    return _run_job(platform, data, targets, scope, "message/mass/sendall")


@route("/cgi-bin/message/mass/send")
def send(platform: Platform, req: Request) -> dict[str, Any]:
    """To an explicit openid list (service accounts only, 2–10,000 openids)."""
    if platform.config.account_type != "service":
        raise ApiError(48001)
    data = req.json()
    touser = data.get("touser")
    if not isinstance(touser, list) or len(touser) < platform.limits.mass_send_min:
        raise ApiError(40130)
    if len(touser) > platform.limits.mass_send_max:
        raise ApiError(40032)
    targets = [str(o) for o in touser]
    return _run_job(platform, data, targets, "users:" + ",".join(sorted(targets)), "message/mass/send")


@route("/cgi-bin/message/mass/preview")
def preview(platform: Platform, req: Request) -> dict[str, Any]:
    """Send one copy to a follower (`touser`, or `towxname` matching an openid); no quota used."""
    data = req.json()
    openid = str(data.get("touser") or data.get("towxname") or "")
    follower = platform.follower_record(openid)
    if not follower.subscribed:
        raise ApiError(43004)
    msgtype, payload = message_payload(platform, data, MASS_TYPES)
    msg_id = platform.next_id()
    delivered = {**_with_articles(platform, msgtype, payload), "msg_id": msg_id}
    platform.deliver(openid, "mass", msgtype, delivered, "message/mass/preview")
    return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}


def _job(platform: Platform, req: Request) -> tuple[MassJob, dict[str, Any]]:
    data = req.json()
    try:
        job = platform.mass_jobs[int(data.get("msg_id"))]  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(47003, "msg_id") from exc
    return job, data


@route("/cgi-bin/message/mass/get")
def get(platform: Platform, req: Request) -> dict[str, Any]:
    """Job status: SEND_SUCCESS or DELETE."""
    job, _ = _job(platform, req)
    return {"msg_id": job.msg_id, "msg_status": job.status}


@route("/cgi-bin/message/mass/delete")
def delete(platform: Platform, req: Request) -> dict[str, Any]:
    """Invalidate the article pages (delivered cards stay in inboxes)."""
    job, data = _job(platform, req)
    if not data.get("article_idx"):
        job.status = "DELETE"
    return ok()
