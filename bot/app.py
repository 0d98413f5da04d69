"""The web app: /wechat, content pages /p/..., /healthz, /metrics; with bot.http1, the only modules that know HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.callback import Callback
from bot.credentials import credentials_for
from bot.crypto import random_prefix
from bot.dispatch import Dispatcher
from bot.handlers import Renderer
from bot.livecontent import BotContent, bot_content, bot_content_builder
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.metrics import Metrics
from bot.pipeline import HTML, Pipeline, Response, TooLarge
from bot.store import Store
from bot.texts import Texts
from posts.addresses import parse_page
from posts.analytics import PageViews
from posts.catalog import Catalog
from posts.clock import Clock, system_clock
from posts.limits import CALLBACK_MAX_BODY_BYTES
from posts.live import Current, LiveContent
from posts.render import Renderer as PackRenderer
from posts.render import notice_offer
from posts.script import PAGE_PARAM, SIMPLIFIED, TRADITIONAL, converter, script_of
from posts.settings import Settings

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Payload Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}


class WebApp:
    """The web app: a WSGI callable (the demo, tests, any WSGI server); :mod:`bot.http1` serves it in `wxbot serve`.

    Build it with :func:`create_app`. Both faces share everything below ``__call__``: the routes, the one /wechat
    path (:class:`bot.pipeline.Pipeline`) and what a failure looks like; they differ only in how a push waits for
    its commit (a blocked thread here, an awaited future there).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        renderer: Renderer,
        pipeline: Pipeline,
        texts: Texts,
        clock: Clock,
        content: LiveContent[BotContent] | None = None,
        views: PageViews | None = None,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.renderer = renderer
        self.pipeline = pipeline
        self.metrics = pipeline.metrics
        self.texts = texts
        self.clock = clock
        self.content = content
        """The content version this app serves; :meth:`watch_content` follows the database's."""
        self.views = views
        """Counts each page served (posts.analytics.PageViews): in memory, flushed as one INSERT now and then."""

    @property
    def dispatcher(self) -> Dispatcher:
        return self.pipeline.dispatcher

    def watch_content(self) -> WebApp:
        """Follow content reloads: within about a second, pages and replies come from the database's newest pack."""
        if self.content is not None:
            self.content.watch()
        return self

    def close(self) -> None:
        """Stop the store (group commit, its pool); no more pushes are answered."""
        if self.content is not None:
            self.content.close()
        self.flush_views()
        self.pipeline.close()

    def flush_views(self) -> None:
        """Write the page views counted so far (a failure is logged; the counts wait for the next flush)."""
        if self.views is None:
            return
        try:
            self.views.flush()
        except Exception:
            log.exception("page views: could not write the counts (kept for the next flush)")

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        route = route_label(path)
        try:
            if route == "wechat":
                response = self._wechat(method, environ)
            else:
                response = self.respond(route, method, path, environ.get("QUERY_STRING", ""))
                if route == "page" and self.views is not None and self.views.due():
                    self.flush_views()
        except Exception:
            response = self.failure(route, method, path)
        self.metrics.count_request(route, response.status)
        start_response(
            _STATUS.get(response.status, f"{response.status} Unknown"),
            [("Content-Type", response.content_type), ("Content-Length", str(len(response.body)))],
        )
        return [response.body]

    def _wechat(self, method: str, environ: Environ) -> Response:
        query = parse_query(environ.get("QUERY_STRING", ""))
        early = self.pipeline.check(method, query)
        if early is not None:
            return early
        try:
            body: bytes | TooLarge = _read_body(environ, CALLBACK_MAX_BODY_BYTES)
        except TooLarge as exc:
            body = exc
        return self.pipeline.handle(query, body)

    # --- everything else ---

    def respond(self, route: str, method: str, path: str, query: str = "") -> Response:
        """Pages, health, metrics, 404 and 405: every route but /wechat. A page with ``?script=t`` is in Traditional."""
        if method not in ("GET", "HEAD"):
            return Response(405, "method not allowed")
        if route == "page":
            return self._page(path, script_of(parse_query(query).get(PAGE_PARAM)) if query else SIMPLIFIED)
        if route == "healthz":
            return self._health()
        if route == "metrics":
            return Response(200, self.metrics.render(), METRICS_CONTENT_TYPE)
        return self._not_found()

    def failure(self, route: str, method: str, path: str) -> Response:
        """The answer when handling raised (logged here): WeChat must never see a 500 or a traceback."""
        log.exception("unhandled error on %s %s", method, path)
        # An empty 200 means "no reply" to WeChat and stops its retries.
        return Response(200) if route == "wechat" else Response(500, "internal error")

    def _page(self, path: str, script: str = SIMPLIFIED) -> Response:
        page = parse_page(path)
        html: str | None = None
        kind, keys = (page.kind, page.keys) if page is not None else ("", ())
        if kind == "index":
            html = self.renderer.index_page()
        elif kind == "section" and self.catalog.section(keys[0]):
            html = self.renderer.section_page(keys[0])
        elif kind == "group" and self.catalog.group(keys[0]):
            html = self.renderer.group_page(keys[0])
        elif kind == "therapy" and self.catalog.therapy(keys[0]):
            html = self.renderer.therapy_page(keys[0])
        elif kind == "update" and self.catalog.update(keys[0], keys[1]):
            html = self.renderer.update_page(keys[0], keys[1])
        if html is not None and script == TRADITIONAL:
            html = converter(self.catalog.script).page(html)
        if html is not None and self.views is not None:
            self.views.count(path)
        return Response(200, html, HTML) if html is not None else self._not_found()

    def _not_found(self) -> Response:
        return Response(404, self.renderer.not_found_page(), HTML)

    def _health(self) -> Response:
        checked_at = self.clock().isoformat(timespec="seconds")
        try:
            with self.sessions() as session:
                session.execute(select(1))
        except Exception as exc:
            log.warning("health check: database unavailable: %s", exc)
            body = {"status": "unavailable", "database": "unavailable", "checked_at": checked_at}
            return Response(503, json.dumps(body), "application/json")
        body = {"status": "ok", "database": "ok", "checked_at": checked_at}
        return Response(200, json.dumps(body), "application/json")


def route_label(path: str) -> str:
    """The route a path belongs to: wechat, page, healthz, metrics or other (also the metrics label)."""
    if path in ("/wechat", "/wechat/"):
        return "wechat"
    if path == "/p" or path.startswith("/p/"):
        return "page"
    if path == "/healthz":
        return "healthz"
    if path == "/metrics":
        return "metrics"
    return "other"


def parse_query(query: str) -> dict[str, str]:
    """The query string as a dict (last value wins, blanks kept), as ``dict(parse_qsl(query, True))`` gives it.

    WeChat's callback query is plain ASCII (hex signatures, digits, an openid): split it directly, and leave
    anything percent- or plus-encoded to ``parse_qsl``.
    """
    if "%" in query or "+" in query:
        return dict(parse_qsl(query, keep_blank_values=True))
    out: dict[str, str] = {}
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            out[name] = value
    return out


def _read_body(environ: Environ, limit: int) -> bytes:
    """At most ``limit`` bytes of the body; :class:`TooLarge` if Content-Length or the body itself is longer."""
    declared = environ.get("CONTENT_LENGTH") or ""
    length = int(declared) if declared.strip().isdigit() else None
    if length is not None and length > limit:
        raise TooLarge
    stream = environ["wsgi.input"]
    want = limit + 1 if length is None else length
    chunks: list[bytes] = []
    got = 0
    while got < want:
        chunk = stream.read(min(65536, want - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    if got > limit:
        raise TooLarge
    return b"".join(chunks)


def create_app(
    settings: Settings,
    sessions: sessionmaker[Session],
    catalog: Catalog,
    renderer: Renderer,
    *,
    store: Store,
    random: Callable[[], str] = random_prefix,
    clock: Clock = system_clock,
) -> WebApp:
    """The web app for these settings, database, content and renderer (``random``/``clock`` for tests).

    ``store`` persists each push's answer (bot.store): the composition root chooses and builds it
    (wxbot.runtime.bot_store), so the app never looks at the database's dialect. ``catalog`` is the pack as
    start-up synced it; after :meth:`WebApp.watch_content` the app follows the database.
    """
    texts = Texts()
    base_url = getattr(renderer, "base_url", settings.server.base_url)
    notices = settings.wechat.notices
    offer = notice_offer(notices.offered(), settings.wechat.api_base_url if notices.simulate else "")
    if offer is not None and getattr(renderer, "notice_offer", None) != offer:
        renderer = PackRenderer(catalog, base_url, notice_offer=offer)
    live = LiveContent(sessions, bot_content_builder(base_url, offer), bot_content(catalog, renderer))
    current: Any = {name: Current(live, name) for name in ("pages", "catalog", "renderer", "routes")}
    dispatcher = Dispatcher(store, current["catalog"], current["renderer"], texts, current["routes"], clock=clock)
    pipeline = Pipeline(Callback(credentials_for(settings.wechat), random=random), dispatcher, Metrics())
    views = PageViews(sessions, settings.scheduler.timezone, clock)
    return WebApp(sessions, current["pages"], current["renderer"], pipeline, texts, clock, live, views)
