"""Fixtures for the bot: a small catalog built in code, a renderer, and the app served over real HTTP."""

from __future__ import annotations

import asyncio
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.app import WebApp
from bot.credentials import Credentials, credentials_for
from bot.http1 import HttpServer
from posts import db
from posts.catalog import Catalog, KeywordRule, Scene, Section, Text, Therapy, Update
from posts.loader import default_content_dir, load_catalog
from posts.render import GroupCard, Renderer
from posts.settings import Settings, replace
from tests.bot.wechat import GH, WeChat
from wxbot.runtime import bot_app, bot_store

TOKEN = "spamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx2c2769f8efd9abc2"
BASE_URL = "http://bot.test"


def _section(key: str, order: int, title: str, therapy: str | None = None, body: str = "正文") -> Section:
    return Section(key, order, title, f"{title}的摘要", body, (1,), date(2025, 5, 1), therapy)


def _therapy(key: str, name: str, aliases: tuple[str, ...], updates: tuple[Update, ...]) -> Therapy:
    return Therapy(
        key=key, name=name, aliases=aliases, developer="d", country="c", cell_type="MSC", cell_source="自体",
        phase="3", design="随机", enrolment="200", endpoints=("ALSFRS-R",), status=f"{name}状态",
        status_date=date(2025, 4, 10), section=f"clinical-{key}", sources=(1,), milestones=(), updates=updates,
    )  # fmt: skip


@cache
def pack_commands() -> tuple[KeywordRule, ...]:
    """The command rules (help, subscribe, ...) of the shipped pack's keywords.yaml: the bot has no others."""
    return load_catalog(default_content_dir())[0].commands


def small_catalog() -> Catalog:
    nurown_update = Update("nurown", "2025-04-10-ind", date(2025, 4, 10), "NurOwn提交IND修正案", "正文", "src")
    therapies = {
        "nurown": _therapy("nurown", "NurOwn", ("MSC-NTF",), (nurown_update,)),
        "neuronata-r": _therapy("neuronata-r", "Neuronata-R", ("lenzumestrocel", "Neuronata R"), ()),
    }
    return Catalog(
        sections=(
            _section("opening", 1, "开篇"),
            _section("research-protection", 2, "保护神经"),
            _section("research-models", 3, "疾病模型", body="长" * 3000),
            _section("clinical-nurown", 4, "美国NurOwn", therapy="nurown"),
            _section("outlook", 5, "展望"),
        ),
        therapies=therapies,
        welcomes={
            "default": Text("default", "欢迎", "欢迎关注"),
            "nurown": Text("nurown", "NurOwn欢迎", "欢迎了解NurOwn"),
        },
        scenes={
            "poster": Scene("poster", "海报", "default"),
            "nurown": Scene("nurown", "NurOwn海报", "nurown", therapy="nurown"),
        },
        keywords=(
            KeywordRule("exact", ("你好",), reply="你好！回复目录查看章节。"),
            KeywordRule("contains", ("副作用",), ref="section:research-protection"),
            KeywordRule("contains", ("试验]]>",), reply="含有]]>的回复"),
        ),
        commands=pack_commands(),
        help=Text("help", "帮助", "帮助正文"),
    )


@dataclass(frozen=True)
class Body:
    text: str
    size: int
    fits: bool
    page_path: str
    core: str = ""


class FakeRenderer:
    """Stands in for posts.render.Renderer in unit-level tests: marks every reply with what it renders."""

    def __init__(self, catalog: Catalog, base_url: str = BASE_URL) -> None:
        self.catalog = catalog
        self.base_url = base_url
        self._real = Renderer(catalog)
        self.disclaimer_text = self._real.disclaimer_text

    def _body(self, text: str, path: str) -> Body:
        size = len(text.encode("utf-8"))
        return Body(text, size, size <= 2048, path, text)

    def close(self, body: str) -> str:
        return self._real.close(body)

    def with_extra(self, body: Body, extra: str) -> Body:
        return self._body(f"{body.core}\n\n{extra}", body.page_path)

    def section(self, key: str) -> Body:
        s = self.catalog.section(key)
        assert s is not None
        return self._body(f"SECTION {key}\n{s.body}", f"/p/s/{key}")

    def group(self, prefix: str) -> GroupCard:
        return GroupCard(f"GROUP {prefix}", f"{len(self.catalog.group(prefix))} sections", f"/p/g/{prefix}")

    def therapy(self, key: str) -> Body:
        return self._body(f"THERAPY {key}", f"/p/t/{key}")

    def timeline(self, key: str) -> Body:
        return self._body(f"TIMELINE {key}", f"/p/t/{key}")

    def update(self, therapy: str, key: str) -> Body:
        return self._body(f"UPDATE {therapy}/{key}", f"/p/t/{therapy}/{key}")

    def welcome(self, key: str) -> Body:
        return self._body(f"WELCOME {key}", "/p/")

    def help(self) -> Body:
        return self._body("HELP", "/p/")

    def toc(self) -> Body:
        return self._body("TOC", "/p/")

    def subscriptions(self, therapy_keys: list[str]) -> Body:
        return self._body("SUBSCRIPTIONS " + ",".join(therapy_keys) if therapy_keys else "SUBSCRIPTIONS none", "/p/")

    def page_url(self, path: str) -> str:
        return self.base_url + path

    def index_page(self) -> str:
        return "<html>INDEX</html>"

    def section_page(self, key: str) -> str:
        return f"<html>SECTION PAGE {key}</html>"

    def group_page(self, prefix: str) -> str:
        return f"<html>GROUP PAGE {prefix}</html>"

    def therapy_page(self, key: str) -> str:
        return f"<html>THERAPY PAGE {key}</html>"

    def update_page(self, therapy: str, key: str) -> str:
        return f"<html>UPDATE PAGE {therapy}/{key}</html>"

    def not_found_page(self) -> str:
        return Renderer(self.catalog).not_found_page()  # the real one: it holds no content of its own


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@dataclass
class LiveBot:
    url: str
    app: WebApp
    sessions: sessionmaker[Session]
    credentials: Credentials
    wechat: WeChat
    server: str = "http1"


@contextmanager
def _wsgiref(app: WebApp) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _http1(app: WebApp) -> Iterator[int]:
    """The HTTP/1.1 server `wxbot serve` runs in each worker (bot.http1), on an event loop in a thread of the test."""
    server = HttpServer(app)
    loop = asyncio.new_event_loop()
    started = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = started.result(10)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(5), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def bot_settings(settings: Settings, mode: str, **wechat: str) -> Settings:
    values = {"app_id": APP_ID, "token": TOKEN, "encoding_aes_key": AES_KEY, "original_id": GH, "message_mode": mode}
    return replace(settings, wechat={**values, **wechat})


@contextmanager
def serve_with(
    settings: Settings, sessions: sessionmaker[Session], catalog: Catalog, mode: str = "plain", **kwargs: Any
) -> Iterator[LiveBot]:
    """The app on an ephemeral port over real HTTP for the duration of the block.

    ``server="http1"`` (the default) serves it as `wxbot serve` does: bot.http1, pushes awaited on an event loop;
    ``server="wsgi"`` as the demo does: the stdlib's threaded WSGI server, one blocked thread per push.
    """
    configured = bot_settings(settings, mode, **kwargs.pop("wechat", None) or {})
    renderer = kwargs.pop("renderer", None) or FakeRenderer(catalog)
    server = kwargs.pop("server", "http1")
    app = bot_app(configured, sessions, catalog, renderer, **kwargs)
    creds = credentials_for(configured.wechat)
    try:
        with (_http1 if server == "http1" else _wsgiref)(app) as port:
            url = f"http://127.0.0.1:{port}"
            yield LiveBot(url, app, sessions, creds, WeChat(url, creds), server)
    finally:
        app.close()


@pytest.fixture
def catalog() -> Catalog:
    return small_catalog()


@pytest.fixture
def serve(settings: Settings, sessions: sessionmaker[Session], catalog: Catalog) -> Iterator[Callable[..., LiveBot]]:
    """Start the app over real HTTP in a given mode; every server is stopped after the test."""
    with ExitStack() as stack:
        yield lambda mode="plain", **kwargs: stack.enter_context(
            serve_with(settings, sessions, catalog, mode, **kwargs)
        )


@pytest.fixture(params=["plain", "compat", "safe", "plain-wsgi"])
def bot(request: pytest.FixtureRequest, serve: Callable[..., LiveBot]) -> LiveBot:
    """The app in each message mode under `wxbot serve`'s server (bot.http1), and in plaintext under the demo's WSGI
    server."""
    mode, _, server = request.param.partition("-")
    return serve(mode, server=server or "http1")


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    """A migrated, empty PostgreSQL database of the machine's service (tests marked ``postgres``)."""
    engine = db.make_engine(pg_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_store(pg: Engine) -> Iterator[Any]:
    """The production store on :func:`pg`: PostgreSQL group commit (bot.store.postgres.PgGroupCommit)."""
    from bot.store.postgres import PgGroupCommit

    settings = replace(Settings(), database={"url": pg.url.render_as_string(hide_password=False)})
    made = bot_store(replace(settings, server={"store": "group_commit"}), db.session_factory(pg))
    assert isinstance(made, PgGroupCommit)
    yield made
    made.close()
