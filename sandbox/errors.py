"""WeChat error codes and the exception the sandbox raises to answer with one."""

from __future__ import annotations

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40006: "invalid media size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40052: "invalid action name",
    40053: "invalid action info, please check document",
    40125: "invalid appsecret",
    40130: "invalid openid list size, at least two openid",
    40164: "invalid ip",
    40249: "template is blocked",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    41006: "media_id missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit, must slower, retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45029: "qrcode count out of limit",
    45047: "out of response count limit",
    45056: "too many tags",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "too many tag now, no need to add new",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    53600: "Article ID 无效",
}


class ApiError(Exception):
    """A WeChat API failure: answered as HTTP 200 with JSON errcode/errmsg (plus extra fields)."""

    def __init__(self, errcode: int, detail: str = "", **extra: object) -> None:
        self.errcode = errcode
        base = ERRMSG.get(errcode, "error")
        self.errmsg = f"{base} {detail}".strip() if detail else base
        self.extra = extra
        super().__init__(f"{errcode}: {self.errmsg}")


class SandboxError(Exception):
    """Misuse of the sandbox's Python API (e.g. clicking a menu key that does not exist)."""
