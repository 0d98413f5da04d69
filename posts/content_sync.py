"""Writes a loaded Catalog to the database: content items, therapy updates and QR scenes (idempotent upserts)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from posts.catalog import Catalog
from posts.models import ContentItem, ContentVersion, QrScene, TherapyUpdate

CONTENT_VERSION_ID = 1
"""The id of content_version's one row."""
OPERATOR = "operator"
"""content_item.origin of an item published from the console (posts/revisions.py): a sync keeps it as it is."""
SYNC_LOCK_KEY = 7_740_031
"""PostgreSQL advisory lock taken for the length of a sync's transaction."""


@dataclass
class SyncResult:
    """What one sync did: rows per kind now present, and how many were inserted, changed or removed."""

    items: dict[str, int] = field(default_factory=dict)
    updates: int = 0
    scenes: int = 0
    inserted: int = 0
    changed: int = 0
    removed: int = 0
    version: int = 0
    """The content version in the database after the sync."""
    kept: int = 0
    """Items written in the console (origin "operator") that the sync left as they are."""
    version_changed: bool = False
    """The pack differs from what running processes served: they rebuild from version ``version``."""

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.items.items())
        return (
            f"{kinds}; therapy updates {self.updates}; QR scenes {self.scenes} "
            f"(inserted {self.inserted}, changed {self.changed}, removed {self.removed})"
            + (f"; kept {self.kept} written in the console" if self.kept else "")
        )


def to_json(value: Any) -> Any:
    """A dataclass (or value) as JSON-ready data: dates as ISO strings, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def checksum(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Item:
    kind: str
    key: str
    position: int
    title: str
    body: str
    data: dict[str, Any]
    path: str


def content_items(catalog: Catalog) -> Iterator[_Item]:
    """Every item of the catalog as a content_item row (kinds: section, therapy, welcome, scene, keyword,
    command, text, script, reference, questions, urgent). A keyword rule's key is its item_key (posts.catalog), so
    an edit of it in the console keeps replacing the pack's rule when rules are added to the file."""
    for section in catalog.sections:
        yield _Item("section", section.key, section.order, section.title, section.body, to_json(section), section.path)
    for i, therapy in enumerate(catalog.therapies.values(), start=1):
        yield _Item("therapy", therapy.key, i, therapy.name, therapy.body, to_json(therapy), therapy.path)
    for i, welcome in enumerate(catalog.welcomes.values(), start=1):
        yield _Item("welcome", welcome.key, i, welcome.title, welcome.body, to_json(welcome), welcome.path)
    for i, scene in enumerate(catalog.scenes.values(), start=1):
        yield _Item("scene", scene.key, i, scene.purpose, "", to_json(scene), "scenes.yaml")
    keys: set[str] = set()
    for i, rule in enumerate(catalog.keywords, start=1):
        key = rule.item_key
        if key in keys:  # two rules of the same match and first pattern: the later one is told apart by its place
            key = f"{key}#{i}"
        keys.add(key)
        yield _Item("keyword", key, i, " / ".join(rule.patterns), rule.reply or "", to_json(rule), "keywords.yaml")
    for i, rule in enumerate(catalog.commands, start=1):
        yield _Item("command", str(i), i, " / ".join(rule.patterns), "", to_json(rule), "keywords.yaml")
    for i, text in enumerate((catalog.help, catalog.disclaimer), start=1):
        if text is not None:
            yield _Item("text", text.key, i, text.title, text.body, to_json(text), text.path)
    yield _Item("script", "script", 1, "", "", to_json(catalog.script), "script.yaml")
    for ref in sorted(catalog.references.values(), key=lambda r: r.id):
        yield _Item("reference", str(ref.id), ref.id, ref.title, ref.url, to_json(ref), "references.yaml")
    if catalog.questions is not None:
        questions = catalog.questions
        yield _Item("questions", "questions", 1, "questions", "", to_json(questions), "questions.yaml")
    if catalog.urgent is not None:
        yield _Item("urgent", "urgent", 1, "urgent", "", to_json(catalog.urgent), catalog.urgent.path)


def sync_catalog(session: Session, catalog: Catalog, now: datetime) -> SyncResult:
    """Make the database mirror ``catalog`` as loaded at ``now``; running it twice changes nothing the second time.

    Content items and therapy updates that left the pack are deleted, except what operators wrote in the console
    (content items of origin "operator", posts/revisions.py): a sync never changes or removes those. QR scenes
    are upserted but never deleted (their WeChat tickets stay valid). When the pack changed, the content version
    goes up by one, which every running process watches (posts/live.py). The caller commits (e.g. inside
    posts.db.session_scope).
    """
    result = SyncResult()
    if session.get_bind().dialect.name == "postgresql":
        # Processes starting together (web, two schedulers) sync one after the other, not into each other's inserts.
        session.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK_KEY})
    _sync_items(session, catalog, result, now)
    _sync_updates(session, catalog, result, now)
    _sync_scenes(session, catalog, result, now)
    _bump_version(session, catalog, result, now)
    session.flush()
    return result


def pack_checksum(catalog: Catalog) -> str:
    """One digest of everything the pack holds (items, updates inside their therapies, scenes)."""
    return checksum([[i.kind, i.key, i.position, i.title, i.body, i.data, i.path] for i in content_items(catalog)])


def _bump_version(session: Session, catalog: Catalog, result: SyncResult, now: datetime) -> None:
    digest = pack_checksum(catalog)
    row = session.get(ContentVersion, CONTENT_VERSION_ID)
    if row is None:
        row = ContentVersion(id=CONTENT_VERSION_ID, version=0, checksum="", changed_at=now)
        session.add(row)
    if row.checksum != digest:
        row.version, row.checksum, row.changed_at = row.version + 1, digest, now
        result.version_changed = True
    result.version = row.version


def _sync_items(session: Session, catalog: Catalog, result: SyncResult, now: datetime) -> None:
    existing = {(row.kind, row.key): row for row in session.scalars(select(ContentItem))}
    seen: set[tuple[str, str]] = set()
    for item in content_items(catalog):
        seen.add((item.kind, item.key))
        result.items[item.kind] = result.items.get(item.kind, 0) + 1
        digest = checksum([item.position, item.title, item.body, item.data, item.path])
        row = existing.get((item.kind, item.key))
        if row is not None and row.origin == OPERATOR:
            result.kept += 1  # written in the console: the pack never overwrites it
            continue
        if row is None:
            row = ContentItem(kind=item.kind, key=item.key, loaded_at=now)
            session.add(row)
            result.inserted += 1
        elif row.checksum == digest:
            continue
        else:
            result.changed += 1
        row.position, row.title, row.body, row.data = item.position, item.title, item.body, item.data
        row.path, row.checksum, row.loaded_at = item.path, digest, now
    for ident, row in existing.items():
        if ident in seen:
            continue
        if row.origin == OPERATOR:
            result.kept += 1
        else:
            session.delete(row)
            result.removed += 1


def _sync_updates(session: Session, catalog: Catalog, result: SyncResult, now: datetime) -> None:
    existing = {(row.therapy_key, row.key): row for row in session.scalars(select(TherapyUpdate))}
    operator_updates = select(ContentItem.key).where(ContentItem.kind == "update", ContentItem.origin == OPERATOR)
    written = session.scalars(operator_updates)
    seen: set[tuple[str, str]] = {tuple(key.split("/", 1)) for key in written}  # type: ignore[misc]
    for therapy in catalog.therapies.values():
        for update in therapy.updates:
            if (therapy.key, update.key) in seen:
                continue  # the console's revision of this update stays
            seen.add((therapy.key, update.key))
            result.updates += 1
            values = {
                "published_on": update.date,
                "title": update.title,
                "body": update.body,
                "source_url": update.source,
            }
            row = existing.get((therapy.key, update.key))
            if row is None:
                session.add(TherapyUpdate(therapy_key=therapy.key, key=update.key, loaded_at=now, **values))
                result.inserted += 1
            elif any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                row.loaded_at = now
                result.changed += 1
    for ident, row in existing.items():
        if ident not in seen:
            session.delete(row)
            result.removed += 1


def _sync_scenes(session: Session, catalog: Catalog, result: SyncResult, now: datetime) -> None:
    existing = {row.key: row for row in session.scalars(select(QrScene))}
    for scene in catalog.scenes.values():
        result.scenes += 1
        values = {"purpose": scene.purpose, "welcome_key": scene.welcome, "therapy_key": scene.therapy}
        row = existing.get(scene.key)
        if row is None:
            session.add(QrScene(key=scene.key, created_at=now, **values))
            result.inserted += 1
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            result.changed += 1
