"""Content that follows the database: every process rebuilds what it renders from when a sync changed the pack.

The database is the shared truth: ``wxbot content reload`` (or any start-up) syncs the files into content_item
and bumps content_version (posts/content_sync.py). Each running process holds a :class:`LiveContent`: a snapshot
built from one version of the catalog, swapped for a new one when :meth:`LiveContent.refresh` sees the version
move on. The bot refreshes from a timer thread (its hot path only reads an attribute); the scheduler refreshes at
the start of every tick, so it never sends with content older than the database's.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts.catalog import (
    Catalog,
    KeywordRule,
    QuestionRules,
    Reference,
    Scene,
    Section,
    Text,
    Therapy,
    Update,
    UrgentRules,
)
from posts.content_sync import CONTENT_VERSION_ID
from posts.models import ContentItem, ContentVersion
from posts.render import Renderer
from posts.script import ScriptTerms

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
"""How often a running bot looks at the content version (one primary-key read)."""
LIVE_SWITCH_SECONDS = 2
"""Longest wait before every running process serves a reload: the bot's refresh, or one scheduler tick."""

T = TypeVar("T")


def current_version(session: Session) -> int:
    """The content version in the database (0 before the first sync)."""
    row = session.get(ContentVersion, CONTENT_VERSION_ID)
    return row.version if row is not None else 0


def catalog_from_db(session: Session) -> Catalog:
    """The catalog as the last sync wrote it into content_item (one query)."""
    rows = session.scalars(select(ContentItem).order_by(ContentItem.kind, ContentItem.position, ContentItem.id)).all()
    by_kind: dict[str, list[ContentItem]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)

    def items(kind: str, cls: type[T]) -> list[T]:
        return [from_json(cls, row.data) for row in by_kind.get(kind, [])]

    texts = {row.position: from_json(Text, row.data) for row in by_kind.get("text", [])}
    return Catalog(
        sections=tuple(sorted(items("section", Section), key=lambda s: s.order)),
        therapies=_with_operator_items(
            {t.key: t for t in items("therapy", Therapy)}, items("update", Update), by_kind.get("therapy-facts", [])
        ),
        references={r.id: r for r in items("reference", Reference)},
        welcomes={w.key: w for w in items("welcome", Text)},
        scenes={s.key: s for s in items("scene", Scene)},
        keywords=tuple(items("keyword", KeywordRule)),
        commands=tuple(items("command", KeywordRule)),
        help=texts.get(1),
        disclaimer=texts.get(2),
        questions=next(iter(items("questions", QuestionRules)), None),
        script=next(iter(items("script", ScriptTerms)), ScriptTerms()),
        urgent=next(iter(items("urgent", UrgentRules)), None),
    )


def _with_operator_items(
    therapies: dict[str, Therapy], updates: list[Update], facts: list[ContentItem]
) -> dict[str, Therapy]:
    """The therapies with the updates written in the console (an update of the same key replaces the pack's) and the
    phase and status a console revision set."""
    out = dict(therapies)
    for update in updates:
        therapy = out.get(update.therapy)
        if therapy is not None:
            stream = [u for u in therapy.updates if u.key != update.key] + [update]
            stream.sort(key=lambda u: (u.date, u.key), reverse=True)
            out[therapy.key] = dataclasses.replace(therapy, updates=tuple(stream))
    for row in facts:
        therapy = out.get(row.key)
        if therapy is not None:
            known = {k: v for k, v in row.data.items() if k in ("phase", "status") and v}
            out[therapy.key] = dataclasses.replace(therapy, **known)
    return out


def from_json(tp: Any, value: Any) -> Any:
    """The inverse of posts.content_sync.to_json for the catalog's dataclasses (dates, tuples, optionals)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        tp = next(arg for arg in get_args(tp) if arg is not type(None))
        origin = get_origin(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp)
        known = {f.name for f in dataclasses.fields(tp)}
        return tp(**{name: from_json(hints[name], v) for name, v in value.items() if name in known})
    if origin is tuple:
        return tuple(from_json(get_args(tp)[0], v) for v in value)
    if tp is date and isinstance(value, str):
        return date.fromisoformat(value)
    return value


@dataclass(frozen=True)
class Content:
    """What the scheduler and the CLI render from: one catalog and its renderer."""

    catalog: Catalog
    renderer: Renderer


def content_builder(base_url: str) -> Callable[[Catalog], Content]:
    return lambda catalog: Content(catalog, Renderer(catalog, base_url))


class LiveContent(Generic[T]):
    """The current snapshot (``current``) built from the newest content version this process has seen."""

    def __init__(self, sessions: sessionmaker[Session], build: Callable[[Catalog], T], initial: T) -> None:
        """``initial`` is built from the catalog now in the database (start-up synced it just before)."""
        self._sessions = sessions
        self._build = build
        self.current = initial
        with sessions() as session:
            self.version = current_version(session)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Rebuild from the database if its content version moved on; True if this swapped the snapshot."""
        with self._lock:
            with self._sessions() as session:
                version = current_version(session)
                if version == self.version:
                    return False
                catalog = catalog_from_db(session)
            self.current = self._build(catalog)
            log.info("content: now serving content version %d (was %d)", version, self.version)
            self.version = version
            return True

    def watch(self, interval: float = REFRESH_SECONDS) -> LiveContent[T]:
        """Refresh every ``interval`` seconds from a daemon thread until :meth:`close`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, args=(interval,), name="content-watch", daemon=True)
            self._thread.start()
        return self

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # the database may be briefly away: keep serving the snapshot, try again
                log.warning("content: could not check the content version", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class Current:
    """Stands in for one attribute of a LiveContent's snapshot: every attribute read goes to the current one."""

    __slots__ = ("_live", "_name")

    def __init__(self, live: LiveContent[Any], name: str) -> None:
        self._live = live
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(getattr(self._live.current, self._name), attr)
