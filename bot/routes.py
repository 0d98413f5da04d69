"""The one routing table: (message type or event, key) -> handler, built from the content catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

from bot.handlers import Handler, follow, jobs, menu, other, text
from bot.message import Inbound
from posts.catalog import Catalog, section_group

MEDIA = ("image", "voice", "video", "shortvideo", "location", "link")
STATIC_CLICKS: dict[str, Handler] = {
    "TOC": menu.toc,
    "HELP": menu.help_,
    "MY_SUBSCRIPTIONS": menu.mine,
    "SUBSCRIBE": menu.subscribe_options,
}


def key_part(key: str) -> str:
    """A content key as it appears in a menu key: upper case, ``-`` as ``_`` (neuronata-r -> NEURONATA_R)."""
    return re.sub(r"[^A-Z0-9]+", "_", key.upper()).strip("_")


@dataclass(frozen=True)
class Routes:
    table: dict[tuple[str, str], Handler] = field(default_factory=dict)
    fallback: Handler = other.unknown

    def resolve(self, message: Inbound) -> Handler:
        if message.is_event:
            if message.event == "click":
                return self.table.get(("click", message.event_key), menu.unknown_click)
            return self.table.get(("event", message.event), self.fallback)
        return self.table.get((message.msg_type, ""), self.fallback)

    @property
    def click_keys(self) -> frozenset[str]:
        return frozenset(key for kind, key in self.table if kind == "click")


def build_routes(catalog: Catalog) -> Routes:
    """Every route, in one place; CLICK keys follow the catalog (sections, section groups, therapies)."""
    table: dict[tuple[str, str], Handler] = {
        ("text", ""): text.answer,
        ("event", "subscribe"): follow.followed,
        ("event", "scan"): follow.scanned,
        ("event", "unsubscribe"): follow.unfollowed,
        ("event", "view"): menu.viewed,
        ("event", "templatesendjobfinish"): jobs.finished,
        ("event", "masssendjobfinish"): jobs.finished,
        **{(kind, ""): other.media for kind in MEDIA},
        **{("click", key): handler for key, handler in STATIC_CLICKS.items()},
    }
    groups: dict[str, int] = {}
    for section in catalog.sections:
        table["click", f"SECTION_{key_part(section.key)}"] = partial(menu.section, key=section.key)
        groups[section_group(section.key)] = groups.get(section_group(section.key), 0) + 1
    for prefix in groups:
        table["click", f"GROUP_{key_part(prefix)}"] = partial(menu.group, prefix=prefix)
    for key in catalog.therapies:
        part = key_part(key)
        table["click", f"THERAPY_{part}_LATEST"] = partial(menu.therapy_latest, key=key)
        table["click", f"THERAPY_{part}_TIMELINE"] = partial(menu.therapy_timeline, key=key)
        table["click", f"THERAPY_{part}_SUBSCRIBE"] = partial(menu.therapy_subscribe, key=key)
    return Routes(table=table)
