"""What a post says: parse its content reference and render the message followers get (one per post)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from posts.catalog import Catalog, Update

CONTENT_KINDS = ("section", "update", "digest", "text")


class ContentError(ValueError):
    """A content reference that does not exist, phrased as one line."""


class Body(Protocol):
    text: str
    page_path: str | None


class Renderer(Protocol):
    """The subset of posts.render.Renderer a post needs."""

    def section(self, key: str) -> Body: ...

    def update(self, therapy: str, key: str) -> Body: ...

    def render_text(self, template: str, **ctx: Any) -> Body: ...

    def page_url(self, path: str) -> str: ...


@dataclass(frozen=True)
class Message:
    """The rendered post: the full text (custom and mass sends) plus short fields for template messages."""

    title: str
    text: str
    url: str = ""
    day: str = ""
    summary: str = ""
    updates: tuple[str, ...] = field(default=())
    """Digest: the update references it covers."""


def check_content(ref: str, catalog: Catalog, text: str = "") -> str:
    """The normalised reference, or ContentError naming what is unknown."""
    kind, _, value = ref.strip().partition(":")
    if kind == "section":
        if catalog.section(value) is None:
            raise ContentError(f"unknown section {value!r} (see `wxbot content list`)")
    elif kind == "update":
        therapy, _, key = value.partition("/")
        if catalog.therapy(therapy) is None:
            raise ContentError(f"unknown therapy {therapy!r} (known: {', '.join(sorted(catalog.therapies))})")
        if catalog.update(therapy, key) is None:
            raise ContentError(f"unknown update {key!r} of therapy {therapy!r}")
    elif kind in ("digest", "text") and not value:
        if kind == "text" and not text.strip():
            raise ContentError("a text post needs --text")
    else:
        raise ContentError(f"unknown content {ref!r}: use section:<key>, update:<therapy>/<key>, digest or text")
    return ref.strip()


def updates_since(catalog: Catalog, since: date | None, until: date | None = None) -> list[Update]:
    """Every therapy update published after ``since`` (and up to ``until``), newest first."""
    found = [
        u
        for t in catalog.therapies.values()
        for u in t.updates
        if (since is None or u.date > since) and (until is None or u.date <= until)
    ]
    return sorted(found, key=lambda u: (u.date, u.therapy, u.key), reverse=True)


def _url(renderer: Renderer, body: Body) -> str:
    return renderer.page_url(body.page_path) if body.page_path else ""


def compose(
    ref: str,
    catalog: Catalog,
    renderer: Renderer,
    *,
    text: str = "",
    since: date | None = None,
    until: date | None = None,
    title: str = "",
) -> Message | None:
    """The message for a content reference (None: a digest with nothing new)."""
    kind, _, value = ref.partition(":")
    if kind == "section":
        section = catalog.section(value)
        if section is None:
            raise ContentError(f"unknown section {value!r}")
        body = renderer.section(value)
        return Message(section.title, body.text, _url(renderer, body), section.updated.isoformat(), section.summary)
    if kind == "update":
        therapy, _, key = value.partition("/")
        update = catalog.update(therapy, key)
        if update is None:
            raise ContentError(f"unknown update {value!r}")
        body = renderer.update(therapy, key)
        name = catalog.therapies[therapy].name
        return Message(f"{name}：{update.title}", body.text, _url(renderer, body), update.date.isoformat(), name)
    if kind == "digest":
        items = updates_since(catalog, since, until)
        if not items:
            return None
        rows = []
        for u in items:
            page = renderer.update(u.therapy, u.key)
            rows.append(
                {
                    "therapy_name": catalog.therapies[u.therapy].name,
                    "title": u.title,
                    "date": u.date.isoformat(),
                    "url": _url(renderer, page),
                }
            )
        label = since.isoformat() if since else "最近"
        body = renderer.render_text("post_digest.txt.j2", updates=rows, since_label=label)
        day = items[0].date.isoformat()
        refs = tuple(f"{u.therapy}/{u.key}" for u in items)
        return Message("渐冻症干细胞治疗进展汇总", body.text, rows[0]["url"], day, f"{len(items)} 条新进展", refs)
    if kind == "text":
        heading = title or "渐冻症干细胞治疗资讯"
        body = renderer.render_text("post_text.txt.j2", title=heading, text=text.strip())
        return Message(heading, body.text, "", "", text.strip().splitlines()[0] if text.strip() else "")
    raise ContentError(f"unknown content {ref!r}")
