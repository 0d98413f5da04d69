"""WeChat error codes in plain words, and what the sender does about each (retry, fall back, give up).

A call that got no answer is one of two kinds: it failed before the request left (connection refused, DNS,
connect timeout), so WeChat did nothing and it is safe to retry; or the request may have reached WeChat and
the answer was lost (read timeout, connection closed while waiting, an empty or malformed answer), so the
outcome is unknown. An unknown outcome is retried only on APIs WeChat deduplicates (template send by
client_msg_id, mass send by clientmsgid, tag changes, tokens); on the others (custom/send) it is recorded
as unknown and left to the operator, so nobody gets a message twice.
"""

from __future__ import annotations

from enum import Enum


class WeChatError(Exception):
    """A non-zero errcode (or a transport failure, errcode None) from WeChat's API."""

    def __init__(self, errcode: int | None, errmsg: str = "", data: dict | None = None) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.data = data or {}


class TransportError(WeChatError):
    """No answer from WeChat (errcode None); ``sent`` says whether the request may have reached it."""

    def __init__(self, errmsg: str, *, sent: bool) -> None:
        super().__init__(None, errmsg)
        self.sent = sent


class Action(Enum):
    RETRY = "retry"
    """Transient: try again later with backoff (or in the next window for daily quotas)."""
    FALLBACK = "fallback"
    """The channel is closed for this follower: try the next channel."""
    RECIPIENT = "recipient"
    """Permanent for this follower: record and move on."""
    POST = "post"
    """Permanent for every follower of this post (configuration, permission, content)."""
    UNKNOWN = "unknown"
    """The request may have reached WeChat and the answer was lost: record as unknown, never resend blindly."""


TEMPLATE_BLOCKED = 40249
"""WeChat blocked the template (misuse): permanent for the whole post, never retried."""
TRANSIENT = frozenset({-1, 45009, 45011, 45066, None})
WINDOW = frozenset({45015, 45047})
RECIPIENT = frozenset({43004, 40003, 49003, 43101})
NOT_DEDUPLICATED = frozenset({"/cgi-bin/message/custom/send", "/cgi-bin/message/subscribe/bizsend"})
"""APIs WeChat does not deduplicate: a second call after a lost answer may deliver a second message."""

PLAIN = {
    -1: "系统繁忙 (-1): WeChat was busy; retried with backoff",
    None: "网络错误: WeChat could not be reached (connection refused, DNS or connect timeout); retried",
    40001: "凭证无效 (40001): the access token was refused even after one refresh",
    40003: "无效 openid (40003): this openid does not belong to the account",
    40037: "模板无效 (40037): the template id is wrong or was deleted",
    40130: "群发至少两人 (40130): a list mass send needs at least two openids",
    40249: "模板已被封禁 (40249): WeChat blocked this template; recorded as blocked and not retried",
    42001: "凭证过期 (42001): the access token expired even after one refresh",
    43004: "已取消关注 (43004): the follower no longer follows the account",
    43101: "订阅通知未授权 (43101): the follower refused the notice or has no consent left; not retried",
    45002: "内容过长 (45002): the message is too long",
    45009: "今日接口额度已用完 (45009): the API's daily quota is used up; retried tomorrow",
    45011: "调用太频繁 (45011): per-minute limit reached; retried next minute",
    45015: "窗口已关闭 (45015): follower has not interacted in 48 hours",
    45028: "今日群发额度已用完 (45028): no mass-send quota left",
    45047: "窗口内条数已用完 (45047): the customer-service window has no messages left",
    45065: "群发已提交 (45065): WeChat already has this mass send (same clientmsgid)",
    45066: "群发重试太快 (45066): retried within a minute",
    47003: "参数无效 (47003): WeChat rejected a field of the message",
    48001: "无接口权限 (48001): the account lacks this API (type or verification)",
    49003: "openid 不属于本号 (49003): openid does not belong to this account",
}


UNKNOWN_PLAIN = (
    "结果未知: the request may have reached WeChat but no answer came ({errmsg}); WeChat does not deduplicate "
    "this message, so it is not resent automatically"
)
UNKNOWN_RETRIED = "网络错误: WeChat's answer was lost ({errmsg}); retried (WeChat deduplicates this call)"


def plain(errcode: int | None, errmsg: str = "") -> str:
    """One line an operator understands."""
    return PLAIN.get(errcode, f"微信错误 ({errcode}): {errmsg}".strip())


def describe(exc: WeChatError, path: str) -> str:
    """The operator's line for a failed call to ``path``: a lost answer says whether it was resent."""
    if isinstance(exc, TransportError) and exc.sent:
        return (UNKNOWN_PLAIN if path in NOT_DEDUPLICATED else UNKNOWN_RETRIED).format(errmsg=exc.errmsg)
    return plain(exc.errcode, exc.errmsg)


def outcome(exc: WeChatError, path: str) -> Action:
    """What to do after ``exc`` from ``path``: the one retry policy, by error class and by API."""
    if isinstance(exc, TransportError) and exc.sent:
        return Action.UNKNOWN if path in NOT_DEDUPLICATED else Action.RETRY
    return action(exc.errcode)


def retry_now(exc: WeChatError, path: str) -> bool:
    """Whether a call may be repeated at once with backoff: WeChat busy (-1), or no answer where that is safe."""
    return exc.errcode in (-1, None) and outcome(exc, path) is Action.RETRY


def action(errcode: int | None) -> Action:
    if errcode in TRANSIENT:
        return Action.RETRY
    if errcode in WINDOW:
        return Action.FALLBACK
    if errcode in RECIPIENT:
        return Action.RECIPIENT
    return Action.POST
