"""The channels a send goes by, each behind one small protocol: ``Channel.send(api, items) -> outcomes``.

A channel knows one way of reaching followers through the WeChat client (scheduler/wechat_api.py) and nothing of
the database: the loop in scheduler/delivery.py claims its rows, hands them over as ``Item``s, and records each
``Outcome`` with the one retry policy (scheduler/errors.py). A channel says whether WeChat deduplicates its call
(then a lost answer is retried; otherwise it is "unknown" and never resent) and how many rows one claim takes.

What a follower reads is composed per item, in the channel: each item carries the script its reader reads
(Simplified or Traditional, posts/script.py: a follower's own for custom and template messages, the slice's for a
list mass send), and a post's channels are given the composition step (scheduler/sender.py ``Composer``: the text in
that script, or an article sent as mpnews).

Adding a channel: a class with ``name``, ``deduplicated``, ``batch`` and ``send`` below, a typed call in
scheduler/wechat_api.py, and the rows it sends from (scheduler/rows.py: a post's deliveries of that channel are
``LedgerRows(post_id, name)``); the subscribe notice (scheduler/notice_channel.py) is one, with rows of its own that
take the follower's consent as they are claimed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from posts.script import SIMPLIFIED
from scheduler import errors
from scheduler.errors import Action, WeChatError
from scheduler.tags import tag_users
from scheduler.wechat_api import WeChatApi


@dataclass
class Item:
    """One claimed unit of work: a delivery row, a mass batch, or an outbox row (``row``, for the loop)."""

    row: Any
    openid: str | None = None
    key: str = ""
    """The idempotency key WeChat deduplicates by (template client_msg_id, mass clientmsgid), if any."""
    attempts: int = 1
    openids: tuple[str, ...] | None = None
    """A mass send to an openid list."""
    tag_id: int | None = None
    """A mass send to one tag (neither: to everyone)."""
    payload: dict[str, Any] = field(default_factory=dict)
    """An outbox row's own payload (its message, its therapy)."""
    script: str = SIMPLIFIED
    """The script its reader reads (posts/script.py): the follower's, or a list mass slice's."""


@dataclass(frozen=True)
class Outcome:
    """What WeChat answered for one item: its msg id, or the error."""

    msg_id: str | None = None
    error: WeChatError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Channel(Protocol):
    name: str
    """custom, template, mass, tags (a post's delivery rows carry it as their channel)."""
    deduplicated: bool
    """Whether WeChat deduplicates the call, so a lost answer may be retried without a second message."""
    batch: int
    """Rows per claim: 1 where a crash must leave at most one row in doubt."""
    retried: bool
    """Whether a transient error is retried (errors.decide); False: its first error is final."""

    def send(self, api: WeChatApi, items: Sequence[Item]) -> list[Outcome]:
        """One outcome per item, in order; fewer when an error makes the rest pointless (they are not called)."""
        ...


def _each(items: Sequence[Item], call: Callable[[Item], str | None]) -> list[Outcome]:
    """Call once per item; stop after an error that holds for every row of the channel (permanent, or the API's
    daily quota used up): no point making the other calls."""
    out: list[Outcome] = []
    for item in items:
        try:
            out.append(Outcome(msg_id=call(item)))
        except WeChatError as exc:
            out.append(Outcome(error=exc))
            if errors.action(exc.errcode) is Action.POST or exc.errcode == errors.DAILY_QUOTA:
                break
    return out


@dataclass
class CustomMessages:
    """Customer-service messages (inside the follower's window); WeChat does not deduplicate them."""

    message: Callable[[str], dict[str, Any]] | None = None
    """A post's message in a script; None: each item carries its own (outbox rows)."""
    name: str = "custom"
    deduplicated: bool = False
    batch: int = 1
    retried: bool = True

    def send(self, api: WeChatApi, items: Sequence[Item]) -> list[Outcome]:
        def one(item: Item) -> None:
            body = self.message(item.script) if self.message else dict(item.payload.get("message") or {})
            api.send_custom(str(item.openid), body)

        return _each(items, one)


@dataclass
class TypingIndicator:
    """The "typing…" indicator an operator shows while answering (console inbox): shown for seconds, so a failure is
    recorded and never retried."""

    name: str = "typing"
    deduplicated: bool = False
    batch: int = 1
    retried: bool = False

    def send(self, api: WeChatApi, items: Sequence[Item]) -> list[Outcome]:
        return _each(items, lambda item: api.send_typing(str(item.openid)))


@dataclass
class TemplateMessages:
    """Template messages of one configured purpose (service notices only), deduplicated by client_msg_id."""

    template_id: str
    fields: Callable[[str], tuple[dict[str, str], str | None]]
    """The fields and the link in a script."""
    name: str = "template"
    deduplicated: bool = True
    batch: int = 100
    retried: bool = True

    def send(self, api: WeChatApi, items: Sequence[Item]) -> list[Outcome]:
        def one(item: Item) -> str | None:
            fields, url = self.fields(item.script)
            return api.send_template(str(item.openid), self.template_id, fields, item.key, url)

        return _each(items, one)


@dataclass
class MassSends:
    """Mass sends: one call per batch (an openid list, a tag, everyone), deduplicated by clientmsgid."""

    message: Callable[[WeChatApi, str], dict[str, Any]]
    """The batch's payload in its slice's script: a text, or a fresh mpnews draft (a draft is consumed by its send)."""
    name: str = "mass"
    deduplicated: bool = True
    batch: int = 1
    retried: bool = True

    def send(self, api: WeChatApi, items: Sequence[Item]) -> list[Outcome]:
        def one(item: Item) -> str | None:
            openids = list(item.openids) if item.openids is not None else None
            return api.send_mass(self.message(api, item.script), item.key, openids=openids, tag_id=item.tag_id)

        return _each(items, one)


@dataclass
class TagChanges:
    """The bot's tag_add / tag_remove rows: grouped by therapy and direction, 50 openids a call.

    ``tag_for(therapy)`` is the therapy's tag id (created on first use); a group shares its call's outcome.
    """

    tag_for: Callable[[str], int]
    name: str = "tags"
    deduplicated: bool = True
    batch: int = 200
    retried: bool = True

    def send(self, api: WeChatApi, items: Sequence[Item]) -> list[Outcome]:
        groups: dict[tuple[bool, str], list[int]] = defaultdict(list)
        for n, item in enumerate(items):
            groups[(bool(item.payload.get("add")), str(item.payload.get("therapy", "")))].append(n)
        out: list[Outcome | None] = [None] * len(items)
        for (add, therapy), members in groups.items():
            try:
                tag_id = self.tag_for(therapy)
                tag_users(api, tag_id, [str(items[n].openid) for n in members if items[n].openid], add=add)
                result = Outcome()
            except WeChatError as exc:
                result = Outcome(error=exc)
            for n in members:
                out[n] = result
        return [o for o in out if o is not None]
