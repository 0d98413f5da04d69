"""Pure delivery planner: for each follower, the channel WeChat allows at ``now``, or why none does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from posts import interactions, limits
from posts.audience import Recipient

CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
MASS_SEND = "/cgi-bin/message/mass/send"
MASS_SENDALL = "/cgi-bin/message/mass/sendall"

REASONS = {
    "unfollowed": "已取消关注 (43004): the follower no longer follows the account",
    "unknown": "不是本号的关注者 (40003): this openid does not follow the account",
    "window_closed": "窗口已关闭 (45015): follower has not interacted in 48 hours",
    "window_used": "窗口内条数已用完 (45047): the follower's customer-service window has no messages left",
    "no_template": "未配置模板 (wechat.template_ids): no template id is configured for pushes",
    "subscription_template": "订阅号不能发模板消息 (48001): template messages need a service account",
    "mass_month": "本月群发已满 4 条: the follower already received 4 mass sends this natural month",
    "mass_day": "今日群发额度已用完 (45028): a subscription account may mass-send once a day",
    "mass_no_tag": "无法群发 (no tag): this audience has no WeChat tag to mass-send to",
    "mass_single": "群发至少两人 (40130): a list mass send needs at least two recipients",
    "quota": "今日接口额度已用完 (45009): the API's daily quota is used up",
}


@dataclass(frozen=True)
class Account:
    """What WeChat allows this account today."""

    account_type: str = "service"
    template_id: str | None = None
    remaining: Mapping[str, int] = field(default_factory=dict)
    """Calls left today per API path; a path not listed is unlimited."""
    mass_sends_today: int = 0
    """Successful sendall calls today (a subscription account has one a day)."""


@dataclass(frozen=True)
class MassTarget:
    """Where a sendall may go: everyone, or one tag; None when the audience has neither."""

    to_all: bool = False
    tag_id: int | None = None


@dataclass(frozen=True)
class Assignment:
    openid: str
    follower_id: int | None
    channel: str
    """custom, template, mass or none (undeliverable: see reason)."""
    reason: str | None = None
    slice_key: str | None = None


@dataclass(frozen=True)
class MassSlice:
    key: str
    """all, tag:<id> or list:<n>."""
    openids: tuple[str, ...]
    to_all: bool = False
    tag_id: int | None = None


@dataclass
class Plan:
    assignments: list[Assignment]
    slices: list[MassSlice]
    calls: Counter[str]
    """API calls the plan uses, per path."""
    skipped: list[str] = field(default_factory=list)
    """Followers left out: they already received this content as a welcome or a reply (posts/received.py)."""

    def counts(self) -> Counter[str]:
        return Counter(a.channel for a in self.assignments)

    def reasons(self) -> Counter[str]:
        return Counter(a.reason for a in self.assignments if a.reason)


def window(recipient: Recipient, now: datetime) -> interactions.Window:
    """The customer-service window open at ``now``: its quota in all and since when it counts (48 h wins)."""
    return interactions.window(recipient.last_message_at, recipient.last_event_at, now)


class _Budget:
    def __init__(self, remaining: Mapping[str, int]) -> None:
        self.left = dict(remaining)
        self.calls: Counter[str] = Counter()

    def take(self, path: str, n: int = 1) -> bool:
        if path in self.left:
            if self.left[path] < n:
                return False
            self.left[path] -= n
        self.calls[path] += n
        return True


def _custom(r: Recipient, now: datetime, used: int, budget: _Budget) -> str | None:
    """None if a customer-service message is possible (and reserves the call), else the reason key."""
    found = window(r, now)
    if not found.is_open:
        return "window_closed"
    if used >= found.quota:
        return "window_used"
    return None if budget.take(CUSTOM) else "quota"


def _template(account: Account, budget: _Budget) -> str | None:
    if account.account_type != "service":
        return "subscription_template"
    if not account.template_id:
        return "no_template"
    return None if budget.take(TEMPLATE) else "quota"


def plan(
    recipients: Iterable[Recipient],
    policy: str,
    account: Account,
    now: datetime,
    *,
    window_used: Mapping[str, int] | None = None,
    mass_month: Mapping[str, int] | None = None,
    mass_target: MassTarget | None = None,
) -> Plan:
    """Assign every recipient a channel under ``policy`` (auto, custom_only, template_only, mass).

    ``window_used``: customer-service messages each follower already got in the current window;
    ``mass_month``: mass sends each follower received this natural month. Nothing here does I/O.
    """
    window_used = window_used or {}
    mass_month = mass_month or {}
    budget = _Budget(account.remaining)
    people = list(recipients)
    out: list[Assignment] = []
    mass_people: list[Recipient] = []
    following = []
    for r in people:
        if not r.subscribed:
            out.append(
                Assignment(
                    r.openid, r.follower_id, "none", REASONS["unknown" if r.follower_id is None else "unfollowed"]
                )
            )
        else:
            following.append(r)
    service = account.account_type == "service"
    sendall = _sendall_possible(account, mass_target)
    if policy == "mass" or (policy == "auto" and not service and sendall and _anyone_outside(following, now)):
        return _mass_plan(following, out, account, budget, mass_month, mass_target)
    for r in following:
        reason: str | None = "window_closed"
        if policy in ("auto", "custom_only"):
            reason = _custom(r, now, window_used.get(r.openid, 0), budget)
            if reason is None:
                out.append(Assignment(r.openid, r.follower_id, "custom"))
                continue
        if policy in ("auto", "template_only"):
            template_reason = _template(account, budget)
            if template_reason is None:
                out.append(Assignment(r.openid, r.follower_id, "template"))
                continue
            reason = template_reason if policy == "template_only" else reason
            if policy == "auto" and service and template_reason == "no_template":
                if mass_month.get(r.openid, 0) < limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE:
                    mass_people.append(r)
                    continue
                reason = "mass_month"
        out.append(Assignment(r.openid, r.follower_id, "none", REASONS[reason]))
    if mass_people:
        return _mass_plan(mass_people, out, account, budget, mass_month, None)
    return Plan(out, [], budget.calls)


def _sendall_possible(account: Account, target: MassTarget | None) -> bool:
    return (
        target is not None
        and account.mass_sends_today < limits.MASS_SENDS_PER_DAY_SUBSCRIPTION
        and account.remaining.get(MASS_SENDALL, 1) > 0
    )


def _anyone_outside(people: list[Recipient], now: datetime) -> bool:
    return any(not window(r, now).is_open for r in people)


def _mass_plan(
    people: list[Recipient],
    out: list[Assignment],
    account: Account,
    budget: _Budget,
    mass_month: Mapping[str, int],
    target: MassTarget | None,
) -> Plan:
    slices: list[MassSlice] = []
    if account.account_type != "service":
        reason = None
        if target is None:
            reason = "mass_no_tag"
        elif account.mass_sends_today >= limits.MASS_SENDS_PER_DAY_SUBSCRIPTION:
            reason = "mass_day"
        elif not budget.take(MASS_SENDALL):
            reason = "quota"
        if reason is not None:
            out.extend(Assignment(r.openid, r.follower_id, "none", REASONS[reason]) for r in people)
            return Plan(out, [], budget.calls)
        key = "all" if target.to_all else f"tag:{target.tag_id}"  # type: ignore[union-attr]
        slices.append(MassSlice(key, tuple(r.openid for r in people), target.to_all, target.tag_id))  # type: ignore[union-attr]
        out.extend(Assignment(r.openid, r.follower_id, "mass", slice_key=key) for r in people)
        return Plan(out, slices, budget.calls)
    eligible = []
    for r in people:
        if mass_month.get(r.openid, 0) >= limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE:
            out.append(Assignment(r.openid, r.follower_id, "none", REASONS["mass_month"]))
        else:
            eligible.append(r)
    if len(eligible) < limits.MASS_OPENID_LIST_MIN:
        out.extend(Assignment(r.openid, r.follower_id, "none", REASONS["mass_single"]) for r in eligible)
        return Plan(out, [], budget.calls)
    size = limits.MASS_OPENID_LIST_MAX
    chunks = [eligible[i : i + size] for i in range(0, len(eligible), size)]
    if len(chunks) > 1 and len(chunks[-1]) < limits.MASS_OPENID_LIST_MIN:
        chunks[-1].insert(0, chunks[-2].pop())  # 10,001 recipients: 9,999 + 2
    for n, chunk in enumerate(chunks, start=1):
        key = f"list:{n}"
        if not budget.take(MASS_SEND):
            out.extend(Assignment(r.openid, r.follower_id, "none", REASONS["quota"]) for r in chunk)
            continue
        slices.append(MassSlice(key, tuple(r.openid for r in chunk)))
        out.extend(Assignment(r.openid, r.follower_id, "mass", slice_key=key) for r in chunk)
    return Plan(out, slices, budget.calls)


def fallback(policy: str, account: Account) -> str | None:
    """The channel to try when a customer-service message meets a closed window (45015/45047)."""
    if policy == "auto" and account.account_type == "service" and account.template_id:
        return "template"
    return None
