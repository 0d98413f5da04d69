"""WeChat error codes in plain words, and what the sender does about each (retry, fall back, give up).

A call that got no answer is one of two kinds: it failed before the request left (connection refused, DNS,
connect timeout), so WeChat did nothing and it is safe to retry; or the request may have reached WeChat and
the answer was lost (read timeout, connection closed while waiting, an empty or malformed answer), so the
outcome is unknown. An unknown outcome is retried only on APIs WeChat deduplicates (template send by
client_msg_id, mass send by clientmsgid, tag changes, tokens); on the others (custom/send) it is recorded
as unknown and left to the operator, so nobody gets a message twice.

``decide`` is the one retry policy, for every send (a post's deliveries, its mass batches, the bot's outbox rows):
what happens to the row after an error, by error class, and when a retry is due. A retry waits on its own row
(``not_before``): the rest of the send goes on meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from posts.timing import beijing_day_start


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
BUSY = -1
DAILY_QUOTA = 45009
RATE_LIMITED = frozenset({45011, 45066})
TRANSIENT = frozenset({BUSY, DAILY_QUOTA, *RATE_LIMITED, None})
WINDOW = frozenset({45015, 45047})
RECIPIENT = frozenset({43004, 40003, 49003, 43101})
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
"""The access token was refused: the client refreshes it once and repeats the call once (scheduler/wechat_api.py)."""
MASS_DUPLICATE = 45065
"""A mass send WeChat already has (same clientmsgid, 24 h): the answer carries the original msg_id, a success."""
TAG_EXISTS = 45157
UNKNOWN_TAG = 45159

NEXT_WRITE = "when they next write to the account"
"""When a follower outside the customer-service window can next be reached."""

MAX_ATTEMPTS = 5
"""Tries per row (a delivery, a mass batch, an outbox row) for a transient error; then it is failed."""
BACKOFF_SECONDS = 1.0
"""The n-th retry of a row waits BACKOFF_SECONDS × 2^(n-1): 1, 2, 4, 8 s (WeChat busy is brief)."""
RATE_LIMIT_SECONDS = 60.0
"""45011 / 45066 (per-minute limits): the row waits a minute."""

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


def describe(exc: WeChatError, *, deduplicated: bool) -> str:
    """The operator's line for a failed call: a lost answer says whether it is resent (only where WeChat
    deduplicates the call)."""
    if isinstance(exc, TransportError) and exc.sent:
        return (UNKNOWN_RETRIED if deduplicated else UNKNOWN_PLAIN).format(errmsg=exc.errmsg)
    return plain(exc.errcode, exc.errmsg)


def outcome(exc: WeChatError, *, deduplicated: bool) -> Action:
    """What to do after ``exc``, by error class and by whether WeChat deduplicates the call."""
    if isinstance(exc, TransportError) and exc.sent:
        return Action.RETRY if deduplicated else Action.UNKNOWN
    return action(exc.errcode)


@dataclass(frozen=True)
class Decision:
    """What becomes of one row after an error: its next state, the operator's reason, when a retry is due."""

    action: Action
    state: str
    """planned (retried at ``retry_at``), unknown, undeliverable or failed."""
    reason: str
    errcode: int | None
    retry_at: datetime | None = None

    @property
    def daily_quota(self) -> bool:
        """45009: the API is used up for the Beijing day; the channel's other rows wait too."""
        return self.errcode == DAILY_QUOTA and self.state == "planned"

    @property
    def blocked(self) -> bool:
        return self.errcode == TEMPLATE_BLOCKED

    @property
    def whole_channel(self) -> bool:
        """Permanent for every row of the same channel (configuration, permission, content): no more calls."""
        return self.action is Action.POST


def backoff(errcode: int | None, attempts: int) -> timedelta:
    """How long a row waits after its ``attempts``-th failed try (per row: the rest of the send goes on)."""
    if errcode in RATE_LIMITED:
        return timedelta(seconds=RATE_LIMIT_SECONDS)
    return timedelta(seconds=BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))


def decide(exc: WeChatError, *, deduplicated: bool, attempts: int, now: datetime) -> Decision:
    """The one retry policy: after ``exc`` on a row tried ``attempts`` times, what the row becomes.

    transient (-1, no answer where safe, 45011, 45066): retried after ``backoff``, at most MAX_ATTEMPTS tries;
    45009: retried at the next Beijing day; a lost answer WeChat does not deduplicate: unknown, never resent;
    a closed window: undeliverable until the follower writes; everything else: failed.
    """
    act = outcome(exc, deduplicated=deduplicated)
    code = exc.errcode
    reason = describe(exc, deduplicated=deduplicated)
    if act is Action.UNKNOWN:
        return Decision(act, "unknown", reason, code)
    if act is Action.RETRY:
        if code == DAILY_QUOTA:
            return Decision(act, "planned", reason, code, beijing_day_start(now) + timedelta(days=1))
        if attempts >= MAX_ATTEMPTS:
            return Decision(act, "failed", f"{reason} (gave up after {attempts} tries)", code)
        return Decision(act, "planned", reason, code, now + backoff(code, attempts))
    if act is Action.FALLBACK:  # never a template instead: templates are not for news
        return Decision(act, "undeliverable", f"{plain(code, exc.errmsg)}; reachable {NEXT_WRITE}", code)
    return Decision(act, "failed", plain(code, exc.errmsg), code)


def action(errcode: int | None) -> Action:
    if errcode in TRANSIENT:
        return Action.RETRY
    if errcode in WINDOW:
        return Action.FALLBACK
    if errcode in RECIPIENT:
        return Action.RECIPIENT
    return Action.POST
