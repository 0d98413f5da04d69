"""Renders the catalog: WeChat text bodies (templates/text/) and mobile content pages (templates/html/)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from posts import addresses
from posts.catalog import Catalog, Reference, Section, Therapy, Update
from posts.limits import TEXT_REPLY_MAX_BYTES, utf8_len
from posts.plaintext import markdown, markdown_to_text
from posts.textchecks import cited_ids

TEMPLATES = Path(__file__).with_name("templates")
CONSOLE_TEMPLATES = Path(__file__).resolve().parents[1] / "console" / "templates"
"""The operator console's pages (console/templates/console/*.html.j2): found by the same environment, autoescaped."""
INDEX_PATH = addresses.INDEX_PATH
_CITE_HTML = re.compile(r"\[(\d{1,4})\]")
SHORT_BODY_MAX_BYTES = 400
"""The one rule for the footer: a message whose body (everything before the footer) is at most this many UTF-8 bytes
closes with the disclaimer's one-line form (disclaimer.md ``short``, which points to the full text); a longer one
closes with the full disclaimer. See :meth:`Renderer.close`."""
CLOSED_KEPT = 2048
"""Closed texts a Renderer keeps (:meth:`Renderer.close`); the oldest are dropped all at once past it."""


@dataclass(frozen=True)
class TextBody:
    """A WeChat text body as a follower sees it, its UTF-8 size and whether one passive reply can carry it."""

    text: str
    size: int
    fits: bool
    page_path: str | None = None
    """The content page with the same content (send a link to it when the text does not fit)."""
    core: str = ""
    """The text before the footer: a reply that adds a line adds it here and closes again (Renderer.close)."""


@dataclass(frozen=True)
class GroupCard:
    """The one article that answers a section group: a title, a short list of its sections and its page."""

    title: str
    description: str
    page_path: str


@dataclass(frozen=True)
class ArticleBody:
    """A section or update as a WeChat article: title, digest, inline-safe HTML, the page it mirrors."""

    title: str
    digest: str
    html: str
    source_url: str


_CITE_ARTICLE = re.compile(r'<a class="cite" href="#ref-(\d{1,4})">\[\d{1,4}\]</a>')


def host(url: str) -> str:
    """The host of ``url`` without a leading www., for short source labels."""
    try:
        name = urlsplit(url).hostname or url
    except ValueError:
        return url
    return name.removeprefix("www.")


@cache
def environment() -> Environment:
    """The one Jinja2 environment: text/ templates unescaped, html/ and console/ templates autoescaped."""
    env = Environment(
        loader=FileSystemLoader([TEMPLATES, CONSOLE_TEMPLATES]),
        autoescape=lambda name: bool(name) and name.startswith(("html/", "console/")),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        auto_reload=False,  # templates ship with the code: no stat() of the file on every render
    )
    env.filters["host"] = host
    return env


class Paths:
    """Stable page paths (posts.addresses): /p/, /p/s/<section>, /p/g/<group>, /p/t/<therapy>[/<update>]."""

    index = INDEX_PATH
    section = staticmethod(addresses.section_path)
    group = staticmethod(addresses.group_path)
    therapy = staticmethod(addresses.therapy_path)
    update = staticmethod(addresses.update_path)


def markdown_html(source: str) -> Markup:
    """Markdown as safe HTML (raw HTML in the source is escaped); [n] citations link to the source list."""
    html = markdown().render(source)
    return Markup(_CITE_HTML.sub(r'<a class="cite" href="#ref-\1">[\1]</a>', html))


@dataclass(frozen=True)
class NoticeOffer:
    """The subscribe notice therapy pages and replies offer ("notify me of the next update of this therapy").

    ``template_id``: the notice announcing updates (``[wechat.notices.<purpose>]`` serving "update"), shown through
    WeChat's ``wx-open-subscribe`` tag; ``simulate_url``: the WeChat stand-in's address (demo and tests), where a
    plain link makes the stand-in push the popup's accept to the bot."""

    template_id: str
    simulate_url: str = ""


def notice_offer(template_id: str | None, simulate_url: str = "") -> NoticeOffer | None:
    return NoticeOffer(template_id, simulate_url.rstrip("/")) if template_id else None


class Renderer:
    """Text bodies and pages for one catalog; ``base_url`` (no trailing slash) makes page URLs absolute."""

    def __init__(self, catalog: Catalog, base_url: str = "", notice_offer: NoticeOffer | None = None) -> None:
        self.catalog = catalog
        self.base_url = base_url.rstrip("/")
        self.notice_offer = notice_offer
        self.env = environment()
        self.paths = Paths()
        self._footers: dict[str, str] = {}
        self._closed: dict[tuple[str, str, str], str] = {}
        self._disclaimer: tuple[str | None, str] = (None, "")

    # ----- shared ---------------------------------------------------------------------------------------------

    def page_url(self, path: str) -> str:
        return self.base_url + path

    @property
    def disclaimer_text(self) -> str:
        """The full disclaimer as plain text (converted once per disclaimer body: every reply closes with it)."""
        found = self.catalog.disclaimer
        if found is None:
            return ""
        if self._disclaimer[0] != found.body:
            self._disclaimer = (found.body, markdown_to_text(found.body))
        return self._disclaimer[1]

    @property
    def disclaimer_short(self) -> str:
        """The disclaimer's one-line form (the full text when the pack gives none)."""
        found = self.catalog.disclaimer
        return found.short.strip() if found and found.short.strip() else self.disclaimer_text

    def closing(self, body: str) -> str:
        """The disclaimer that closes ``body``: the one-line form for a short body, else the full text."""
        return self.disclaimer_short if utf8_len(body.strip()) <= SHORT_BODY_MAX_BYTES else self.disclaimer_text

    def close(self, body: str) -> str:
        """``body`` with the one footer (templates/text/_footer.txt.j2): the disclaimer is always the last thing.

        Every follower-facing text goes through here: reply bodies, the bot's own texts (Context.say), keyword
        replies and pushes. The same body under the same disclaimer closes the same way, so a closed text is kept
        (a keyword reply is closed once per content version, not once per push)."""
        found = self.catalog.disclaimer
        key = (body, found.body, found.short) if found is not None else (body, "", "")
        closed = self._closed.get(key)
        if closed is None:
            if len(self._closed) >= CLOSED_KEPT:
                self._closed.clear()
            closed = (body.strip() + "\n" + self._footer(self.closing(body))).strip()
            self._closed[key] = closed
        return closed

    def _footer(self, disclaimer: str) -> str:
        """The footer around one form of the disclaimer (two forms: rendered once each, then reused)."""
        found = self._footers.get(disclaimer)
        if found is None:
            if len(self._footers) > 8:  # a content reload changed the disclaimer: forget the old forms
                self._footers.clear()
            found = self.env.get_template("text/_footer.txt.j2").render(disclaimer_text=disclaimer)
            self._footers[disclaimer] = found
        return found

    def _body(self, core: str, page_path: str | None, close: bool = True) -> TextBody:
        core = core.strip() + "\n"
        text = self.close(core) + "\n" if close else core
        size = utf8_len(text)
        return TextBody(text=text, size=size, fits=size <= TEXT_REPLY_MAX_BYTES, page_path=page_path, core=core)

    def with_extra(self, body: TextBody, extra: str) -> TextBody:
        """``body`` with ``extra`` lines added before its footer (the disclaimer stays last)."""
        return self._body(f"{body.core.strip()}\n\n{extra.strip()}", body.page_path)

    def _text(self, template: str, page_path: str | None = None, close: bool = True, **ctx: Any) -> TextBody:
        name = template if template.startswith("text/") else f"text/{template}"
        context = {"catalog": self.catalog, "notice_offer": self.notice_offer, **ctx}
        return self._body(self.env.get_template(name).render(**context), page_path, close)

    def render_text(self, template: str, **ctx: Any) -> TextBody:
        """Any text template (name relative to templates/text/) for free text posts, closed with the footer."""
        return self._text(template, None, **ctx)

    def _page(self, template: str, **ctx: Any) -> str:
        found = self.catalog.disclaimer
        disclaimer = Markup("")
        if found:
            disclaimer = Markup("<strong>{}</strong>\n").format(found.title) + markdown_html(found.body)
        context = {
            "disclaimer_html": disclaimer,
            "paths": self.paths,
            "index_path": INDEX_PATH,
            "notice_offer": self.notice_offer,
            **ctx,
        }
        return self.env.get_template(f"html/{template}").render(**context)

    def _sources(self, ids: Iterable[int]) -> list[Reference]:
        refs = self.catalog.references
        return [refs[i] for i in sorted(set(ids)) if i in refs]

    def _section(self, key: str) -> Section:
        found = self.catalog.section(key)
        if found is None:
            raise KeyError(f"unknown section {key!r}")
        return found

    def _group(self, prefix: str) -> tuple[Section, ...]:
        found = self.catalog.group(prefix)
        if not found:
            raise KeyError(f"unknown section group {prefix!r}")
        return found

    def _therapy(self, key: str) -> Therapy:
        found = self.catalog.therapy(key)
        if found is None:
            raise KeyError(f"unknown therapy {key!r}")
        return found

    def _update(self, therapy: str, key: str) -> tuple[Therapy, Update]:
        found = self.catalog.update(therapy, key)
        if found is None:
            raise KeyError(f"unknown update {therapy!r}/{key!r}")
        return self._therapy(therapy), found

    def _references_text(self) -> str:
        refs = sorted(self.catalog.references.values(), key=lambda r: r.id)
        return "\n\n".join(f"[{r.id}] {r.publisher}，{r.date}\n{r.title}\n{r.url}" for r in refs)

    # ----- WeChat text bodies (KeyError for an unknown key) -----------------------------------------------------

    def _section_source(self, section: Section) -> str:
        """The section's Markdown body; the disclaimer section's is the pack's disclaimer.md."""
        if section.body_from == "disclaimer":
            return self.catalog.disclaimer.body if self.catalog.disclaimer else ""
        return section.body

    def section(self, key: str) -> TextBody:
        section = self._section(key)
        extra: dict[str, Any] = {}
        if section.body_from == "references":
            body, sources = self._references_text(), []
        else:
            source = self._section_source(section)
            body, sources = markdown_to_text(source), self._sources([*section.sources, *cited_ids(source)])
        if section.body_from == "disclaimer":
            extra["close"] = False  # the body is the disclaimer: it is already last, not twice
        return self._text("section.txt.j2", Paths.section(key), section=section, body=body, sources=sources, **extra)

    def group(self, prefix: str) -> GroupCard:
        """The one-article answer to a section group: title and list from templates/text/group_*.txt.j2."""
        sections = self._group(prefix)
        title = self.env.get_template("text/group_title.txt.j2").render(sections=sections).strip()
        description = self.env.get_template("text/group_summary.txt.j2").render(sections=sections).strip()
        return GroupCard(title=title, description=description, page_path=Paths.group(prefix))

    def therapy(self, key: str) -> TextBody:
        therapy = self._therapy(key)
        ids = [*therapy.sources, *cited_ids(therapy.body)]
        if therapy.latest:
            ids += cited_ids(therapy.latest.body)
        return self._text(
            "therapy.txt.j2",
            Paths.therapy(key),
            therapy=therapy,
            body=markdown_to_text(therapy.body),
            latest=therapy.latest,
            sources=self._sources(ids),
            page_url=self.page_url(Paths.therapy(key)),
        )

    def timeline(self, key: str) -> TextBody:
        return self._text("timeline.txt.j2", Paths.therapy(key), therapy=self._therapy(key))

    def update(self, therapy: str, key: str) -> TextBody:
        found, update = self._update(therapy, key)
        return self._text(
            "update.txt.j2",
            Paths.update(therapy, key),
            therapy=found,
            update=update,
            body=markdown_to_text(update.body),
            sources=self._sources([*update.sources, *cited_ids(update.body)]),
        )

    def welcome(self, key: str) -> TextBody:
        found = self.catalog.welcomes.get(key)
        if found is None:
            raise KeyError(f"unknown welcome {key!r}")
        return self._text("welcome.txt.j2", None, text=found, body=markdown_to_text(found.body))

    def help(self) -> TextBody:
        found = self.catalog.help
        if found is None:
            raise KeyError("the pack has no help text")
        return self._text("help.txt.j2", None, text=found, body=markdown_to_text(found.body))

    def toc(self) -> TextBody:
        therapies = list(self.catalog.therapies.values())
        sections, guide = self.catalog.part(addresses.REVIEW_PART), self.catalog.guide
        return self._text("toc.txt.j2", INDEX_PATH, sections=sections, guide=guide, therapies=therapies)

    def subscriptions(self, therapy_keys: Sequence[str]) -> TextBody:
        """A follower's list of subscribed therapies (unknown keys are left out)."""
        therapies = [t for k in therapy_keys if (t := self.catalog.therapy(k))]
        return self._text("subscriptions.txt.j2", None, therapies=therapies)

    # ----- pages (HTML strings) ---------------------------------------------------------------------------------

    def not_found_page(self) -> str:
        """The page for an address with no content (404), with the same look, way back and footer as the others."""
        return self._page("not_found.html.j2")

    def index_page(self) -> str:
        return self._page(
            "index.html.j2",
            sections=self.catalog.part(addresses.REVIEW_PART),
            guide=self.catalog.guide,
            therapies=self.catalog.therapies.values(),
        )

    def section_page(self, key: str) -> str:
        section = self._section(key)
        therapy = self.catalog.therapy(section.therapy) if section.therapy else None
        references = sorted(self.catalog.references.values(), key=lambda r: r.id)
        source = self._section_source(section)
        extra: dict[str, Any] = {}
        if section.body_from == "disclaimer":
            extra["disclaimer_html"] = Markup("")  # the body is the disclaimer: not again in the footer
        return self._page(
            "section.html.j2",
            section=section,
            therapy=therapy,
            body_html=markdown_html(source),
            references=references,
            sources=self._sources([*section.sources, *cited_ids(source)]),
            **extra,
        )

    def group_page(self, prefix: str) -> str:
        sections = self._group(prefix)
        return self._page("group.html.j2", title=self.group(prefix).title, sections=sections)

    def therapy_page(self, key: str) -> str:
        therapy = self._therapy(key)
        return self._page(
            "therapy.html.j2",
            therapy=therapy,
            section=self.catalog.section(therapy.section),
            body_html=markdown_html(therapy.body),
            sources=self._sources([*therapy.sources, *cited_ids(therapy.body)]),
        )

    def update_page(self, therapy: str, key: str) -> str:
        found, update = self._update(therapy, key)
        return self._page(
            "update.html.j2",
            therapy=found,
            update=update,
            body_html=markdown_html(update.body),
            sources=self._sources([*update.sources, *cited_ids(update.body)]),
        )

    # ----- WeChat articles (draft/add content) ------------------------------------------------------------------

    def article(self, ref: str) -> ArticleBody:
        """``section:<key>`` or ``update:<therapy>/<key>`` as article HTML WeChat keeps: no script, style or class
        (citations stay as plain [n]); KeyError for unknown content, ValueError for another kind."""
        kind, _, value = ref.partition(":")
        if kind == "section":
            section = self._section(value)
            source = self._section_source(section)
            extra: dict[str, Any] = {"disclaimer_html": Markup("")} if section.body_from == "disclaimer" else {}
            html = self._page(
                "article_section.html.j2",
                section=section,
                body_html=_article_html(source),
                references=sorted(self.catalog.references.values(), key=lambda r: r.id),
                sources=[] if section.body_from else self._sources([*section.sources, *cited_ids(source)]),
                review=section.review,
                **extra,
            )
            return ArticleBody(section.title, section.summary, html, self.page_url(Paths.section(value)))
        if kind == "update":
            therapy_key, _, key = value.partition("/")
            therapy, update = self._update(therapy_key, key)
            html = self._page(
                "article_update.html.j2",
                therapy=therapy,
                update=update,
                body_html=_article_html(update.body),
                sources=self._sources([*update.sources, *cited_ids(update.body)]),
                review=update.review,
            )
            return ArticleBody(update.title, therapy.name, html, self.page_url(Paths.update(therapy_key, key)))
        raise ValueError(f"only sections and updates become articles, not {ref!r}")


def _article_html(source: str) -> Markup:
    """Markdown as article HTML: the page's citation links become plain [n] (an article has no anchors)."""
    return Markup(_CITE_ARTICLE.sub(r"[\1]", str(markdown_html(source))))
