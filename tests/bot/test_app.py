"""The web app's other routes: content pages, 404, /healthz, /metrics."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.bot.conftest import LiveBot
from tests.bot.wechat import text_push


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/p/", 200, "INDEX"),
        ("/p", 200, "INDEX"),
        ("/p/s/outlook", 200, "SECTION PAGE outlook"),
        ("/p/g/research", 200, "GROUP PAGE research"),
        ("/p/g/nope", 404, "页面不存在"),
        ("/p/t/nurown", 200, "THERAPY PAGE nurown"),
        ("/p/t/nurown/2025-04-10-ind", 200, "UPDATE PAGE nurown/2025-04-10-ind"),
        ("/p/s/nope", 404, "页面不存在"),
        ("/p/t/nope", 404, "页面不存在"),
        ("/p/t/nurown/nope", 404, "页面不存在"),
        ("/p/x/y/z", 404, "页面不存在"),
        ("/", 404, "页面不存在"),
    ],
)
def test_pages(serve: Callable[..., LiveBot], path: str, status: int, needle: str) -> None:
    bot = serve("plain")
    resp = bot.wechat.request("GET", path)
    assert resp.status == status
    assert needle in resp.body.decode()
    assert resp.headers["Content-Type"].startswith("text/html")


def test_healthz_checks_the_database(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    resp = bot.wechat.request("GET", "/healthz")
    assert resp.status == 200
    assert json.loads(resp.body)["database"] == "ok"
    bot.sessions.kw["bind"].dispose()
    bot.sessions.configure(bind=None)
    resp = bot.wechat.request("GET", "/healthz")
    assert resp.status == 503 and json.loads(resp.body)["status"] == "unavailable"


def test_metrics_count_requests_replies_and_latency(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    bot.wechat.push(text_push("帮助"))
    bot.wechat.request("GET", "/p/s/nope")
    text = bot.wechat.request("GET", "/metrics").body.decode()
    assert 'wxbot_http_requests_total{route="wechat",status="200"} 1.0' in text
    assert 'wxbot_http_requests_total{route="page",status="404"} 1.0' in text
    assert 'wxbot_replies_total{kind="text"} 1.0' in text
    assert "wxbot_callback_seconds_count 1.0" in text
