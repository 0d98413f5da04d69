"""Pure delivery planner: for each follower, the channel WeChat allows at ``now``, or why none does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from posts import interactions, limits
from posts.audience import Recipient
from posts.script import SIMPLIFIED, TRADITIONAL
from posts.timing import BEIJING, beijing_next_month_start
from scheduler.errors import NEXT_WRITE
from scheduler.wechat_api import CUSTOM_SEND as CUSTOM
from scheduler.wechat_api import MASS_SEND, MASS_SENDALL
from scheduler.wechat_api import NOTICE_SEND as NOTICE
from scheduler.wechat_api import TEMPLATE_SEND as TEMPLATE

REASONS = {
    "unfollowed": "已取消关注 (43004): the follower no longer follows the account",
    "unknown": "不是本号的关注者 (40003): this openid does not follow the account",
    "window_closed": "窗口已关闭 (45015): follower has not interacted in 48 hours",
    "window_used": "窗口内条数已用完 (45047): the follower's customer-service window has no messages left",
    "no_template": "未配置该用途的模板 (wechat.templates.<purpose>): no template is configured for this purpose",
    "subscription_template": "订阅号不能发模板消息 (48001): template messages need a service account",
    "mass_month": "本月群发已满 4 条: the follower already received 4 mass sends this natural month",
    "mass_day": "今日群发额度已用完 (45028): a subscription account may mass-send once a day",
    "mass_no_tag": "无法群发 (no tag): this audience has no WeChat tag to mass-send to",
    "mass_single": (
        "只剩一人无法群发: outside the customer-service window, and the only follower of this post left for a mass "
        "send (a list mass send needs at least two; this audience has no tag to mass-send to)"
    ),
    "quota": "今日接口额度已用完 (45009): the API's daily quota is used up",
    "no_custom": "无客服消息权限 (48001): `wxbot account check` found this account cannot send custom messages",
    "no_template_api": "无模板消息权限 (48001): `wxbot account check` found this account cannot send templates",
    "no_mass": (
        "无群发权限 (48001): `wxbot account check` found this account cannot mass-send; publish the content as an "
        "article (`wxbot publish`) and the menu links to it"
    ),
}
"""Why a follower gets nothing, by code; ``reason`` adds when they can next be reached."""

UNREACHABLE = frozenset(
    {"window_closed", "window_used", "mass_month", "mass_day", "mass_no_tag", "mass_single", "no_custom", "no_mass"}
)
"""Codes of followers who still follow but cannot be reached by this post."""


def next_reachable(code: str, now: datetime) -> str | None:
    """When a follower left out for ``code`` can next be reached (dates in Asia/Shanghai, WeChat's calendar)."""
    if code == "mass_month":
        renew = beijing_next_month_start(now).astimezone(BEIJING)
        return f"on {renew:%Y-%m-%d} (Asia/Shanghai; the month's mass sends renew) or {NEXT_WRITE}"
    if code in ("mass_day", "quota"):
        return f"on {_tomorrow(now):%Y-%m-%d} (Asia/Shanghai; the daily quota renews) or {NEXT_WRITE}"
    if code in ("window_closed", "window_used", "mass_no_tag", "mass_single"):
        return NEXT_WRITE
    return None


def reason(code: str, now: datetime) -> str:
    """The operator's line for ``code``: what stops the send and when the follower can next be reached."""
    when = next_reachable(code, now)
    return REASONS[code] + (f"; reachable {when}" if when else "")


def _tomorrow(now: datetime) -> date:
    return now.astimezone(BEIJING).date() + timedelta(days=1)


@dataclass(frozen=True)
class Account:
    """What WeChat allows this account today."""

    account_type: str = "service"
    template_id: str | None = None
    remaining: Mapping[str, int] = field(default_factory=dict)
    """Calls left today per API path; a path not listed is unlimited."""
    mass_sends_today: int = 0
    """Successful sendall calls today (a subscription account has one a day)."""
    notice_template_id: str | None = None
    """The subscribe notice (订阅通知) that announces this post, when one is configured and its fields fit."""
    unavailable: frozenset[str] = frozenset()
    """Capabilities the account check found refused (posts/capabilities.py: custom, template, mass...)."""


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
    """custom, notice, template, mass or none (undeliverable: see reason)."""
    reason: str | None = None
    slice_key: str | None = None
    code: str | None = None
    """The reason's key in REASONS (channel none)."""


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
    notice: dict[str, object] | None = None
    """The subscribe notice the plan sends (purpose, template_id, page, fields), for the preview and the ledger."""
    notes: list[str] = field(default_factory=list)
    """Why a channel was not used at all (e.g. a notice whose fields do not fit), for the preview."""

    def counts(self) -> Counter[str]:
        return Counter(a.channel for a in self.assignments)

    def reasons(self) -> Counter[str]:
        return Counter(a.reason for a in self.assignments if a.reason)

    def codes(self) -> Counter[str]:
        return Counter(a.code for a in self.assignments if a.code)

    def unreachable(self) -> int:
        """Followers who still follow but whom this post cannot reach (see the reasons for when they can)."""
        return sum(1 for a in self.assignments if a.code in UNREACHABLE)


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


def _custom(r: Recipient, now: datetime, used: int, budget: _Budget, account: Account) -> str | None:
    """None if a customer-service message is possible (and reserves the call), else the reason key."""
    if "custom" in account.unavailable:
        return "no_custom"
    found = window(r, now)
    if not found.is_open:
        return "window_closed"
    if used >= found.quota:
        return "window_used"
    return None if budget.take(CUSTOM) else "quota"


def _template(account: Account, budget: _Budget) -> str | None:
    if account.account_type != "service":
        return "subscription_template"
    if "template" in account.unavailable:
        return "no_template_api"
    if not account.template_id:
        return "no_template"
    return None if budget.take(TEMPLATE) else "quota"


def _none(r: Recipient, code: str, now: datetime) -> Assignment:
    return Assignment(r.openid, r.follower_id, "none", reason(code, now), code=code)


def plan(
    recipients: Iterable[Recipient],
    policy: str,
    account: Account,
    now: datetime,
    *,
    window_used: Mapping[str, int] | None = None,
    mass_month: Mapping[str, int] | None = None,
    mass_target: MassTarget | None = None,
    notice_consents: Collection[str] | None = None,
) -> Plan:
    """Assign every recipient a channel under ``policy`` (auto, custom_only, template_only, mass).

    ``auto``: a customer-service message inside the follower's window; otherwise a subscribe notice if the follower
    holds a consent for the post's notice (``account.notice_template_id``); otherwise a mass send if the month's
    quota allows (an openid list on a service account, the tag or everyone on a subscription account); the rest
    get nothing, with the reason and when they can next be reached. Templates are never a fallback: only
    ``template_only`` (a post given a configured purpose) uses them.
    ``window_used``: customer-service messages each follower already got in the current window;
    ``mass_month``: mass sends each follower received this natural month; ``notice_consents``: followers holding
    an open consent for the notice. Nothing here does I/O.
    """
    consents = notice_consents or frozenset()
    window_used = window_used or {}
    mass_month = mass_month or {}
    budget = _Budget(account.remaining)
    out: list[Assignment] = []
    following = []
    for r in recipients:
        if not r.subscribed:
            out.append(_none(r, "unknown" if r.follower_id is None else "unfollowed", now))
        else:
            following.append(r)
    service = account.account_type == "service"
    sendall = _sendall_possible(account, mass_target)
    if policy == "mass" or (
        policy == "auto" and not service and sendall and _anyone_outside(following, now, window_used)
    ):
        return _mass_plan(following, out, account, budget, mass_month, mass_target, now, whole=True)
    rest: list[Recipient] = []
    for r in following:
        if policy == "template_only":
            code = _template(account, budget)
            if code is None:
                out.append(Assignment(r.openid, r.follower_id, "template"))
                continue
        else:
            code = _custom(r, now, window_used.get(r.openid, 0), budget, account)
            if code is None:
                out.append(Assignment(r.openid, r.follower_id, "custom"))
                continue
            if policy == "auto" and code != "quota":
                if _notice(r, account, consents, budget):
                    out.append(Assignment(r.openid, r.follower_id, "notice"))
                else:
                    rest.append(r)
                continue
        out.append(_none(r, code, now))
    if rest:
        whole = len(rest) == len(following)
        return _mass_plan(rest, out, account, budget, mass_month, mass_target, now, whole=whole)
    return Plan(out, [], budget.calls)


def _notice(r: Recipient, account: Account, consents: Collection[str], budget: _Budget) -> bool:
    """Whether a subscribe notice reaches ``r`` (and reserves the call): a notice is configured, the account may send
    notices, they consented."""
    return (
        bool(account.notice_template_id)
        and "notices" not in account.unavailable
        and r.openid in consents
        and budget.take(NOTICE)
    )


def _sendall_possible(account: Account, target: MassTarget | None) -> bool:
    return (
        target is not None
        and "mass" not in account.unavailable
        and account.mass_sends_today < limits.MASS_SENDS_PER_DAY_SUBSCRIPTION
        and account.remaining.get(MASS_SENDALL, 1) > 0
    )


def _anyone_outside(people: list[Recipient], now: datetime, used: Mapping[str, int]) -> bool:
    """Whether someone cannot get a customer-service message: window closed, or its messages used up."""
    for r in people:
        found = window(r, now)
        if not found.is_open or used.get(r.openid, 0) >= found.quota:
            return True
    return False


def _mass_plan(
    people: list[Recipient],
    out: list[Assignment],
    account: Account,
    budget: _Budget,
    mass_month: Mapping[str, int],
    target: MassTarget | None,
    now: datetime,
    *,
    whole: bool,
) -> Plan:
    """Mass-send ``people``; ``whole``: they are every follower of the audience (a tag send then reaches no one
    twice)."""
    slices: list[MassSlice] = []
    if "mass" in account.unavailable:
        out.extend(_none(r, "no_mass", now) for r in people)
        return Plan(out, [], budget.calls)
    if account.account_type != "service":
        code = None
        if target is None:
            code = "mass_no_tag"
        elif account.mass_sends_today >= limits.MASS_SENDS_PER_DAY_SUBSCRIPTION:
            code = "mass_day"
        elif not budget.take(MASS_SENDALL):
            code = "quota"
        if code is not None:
            out.extend(_none(r, code, now) for r in people)
            return Plan(out, [], budget.calls)
        return _sendall(people, out, target, budget, slices)  # type: ignore[arg-type]
    eligible = []
    for r in people:
        if mass_month.get(r.openid, 0) >= limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE:
            out.append(_none(r, "mass_month", now))
        else:
            eligible.append(r)
    if 0 < len(eligible) < limits.MASS_OPENID_LIST_MIN:
        if whole and target is not None and budget.take(MASS_SENDALL):
            return _sendall(eligible, out, target, budget, slices)  # WeChat itself filters those at 4 this month
        out.extend(_none(r, "mass_single", now) for r in eligible)
        return Plan(out, [], budget.calls)
    for script, group in _by_script(eligible):
        size = limits.MASS_OPENID_LIST_MAX
        chunks = [group[i : i + size] for i in range(0, len(group), size)]
        if len(chunks) > 1 and len(chunks[-1]) < limits.MASS_OPENID_LIST_MIN:
            chunks[-1].insert(0, chunks[-2].pop())  # 10,001 recipients: 9,999 + 2
        for n, chunk in enumerate(chunks, start=1):
            key = list_slice_key(n, script)
            if not budget.take(MASS_SEND):
                out.extend(_none(r, "quota", now) for r in chunk)
                continue
            slices.append(MassSlice(key, tuple(r.openid for r in chunk)))
            out.extend(Assignment(r.openid, r.follower_id, "mass", slice_key=key) for r in chunk)
    return Plan(out, slices, budget.calls)


def list_slice_key(n: int, script: str = SIMPLIFIED) -> str:
    """An openid-list slice's key: list:<n>, or list:<n>:t for the followers who read Traditional."""
    return f"list:{n}" if script == SIMPLIFIED else f"list:{n}:{script}"


def slice_script(key: str) -> str:
    """The script a mass slice's text is in: Traditional for a list:<n>:t slice; a tag or everyone gets one text,
    in Simplified (WeChat sends the same message to all of them)."""
    return TRADITIONAL if key.startswith("list:") and key.endswith(f":{TRADITIONAL}") else SIMPLIFIED


def _by_script(people: list[Recipient]) -> list[tuple[str, list[Recipient]]]:
    """The followers of an openid-list mass send per script, each group its own lists (a push to a mixed audience
    is rendered per follower). A group too small for a list send of its own goes with the other one, in
    Simplified."""
    traditional = [r for r in people if r.script == TRADITIONAL]
    simplified = [r for r in people if r.script != TRADITIONAL]
    if not traditional or not simplified:
        return [(TRADITIONAL if traditional else SIMPLIFIED, people)]
    if len(traditional) < limits.MASS_OPENID_LIST_MIN or len(simplified) < limits.MASS_OPENID_LIST_MIN:
        return [(SIMPLIFIED, people)]
    return [(SIMPLIFIED, simplified), (TRADITIONAL, traditional)]


def _sendall(
    people: list[Recipient], out: list[Assignment], target: MassTarget, budget: _Budget, slices: list[MassSlice]
) -> Plan:
    key = "all" if target.to_all else f"tag:{target.tag_id}"
    slices.append(MassSlice(key, tuple(r.openid for r in people), target.to_all, target.tag_id))
    out.extend(Assignment(r.openid, r.follower_id, "mass", slice_key=key) for r in people)
    return Plan(out, slices, budget.calls)
