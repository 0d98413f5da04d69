"""The token broker: one refresh under concurrency, every call at the configured base URL, bounded retries."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posts.clock import system_clock as utcnow
from posts.settings import Settings
from sandbox import Platform
from scheduler.errors import WeChatError
from scheduler.lease import DbLeases
from scheduler.token_broker import DbTokenStore, TokenBroker
from scheduler.wechat_api import make_api


def test_concurrent_brokers_refresh_once(sessions: sessionmaker[Session]) -> None:
    calls: list[bool] = []

    def fetch(force: bool) -> tuple[str, int]:
        calls.append(force)
        time.sleep(0.2)
        return "TOKEN-1", 7200

    store, leases = DbTokenStore(sessions), DbLeases(sessions)
    brokers = [TokenBroker("wxapp", fetch, store, leases) for _ in range(8)]
    got: list[str] = []
    threads = [threading.Thread(target=lambda b=b: got.append(b.token())) for b in brokers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == ["TOKEN-1"] * 8
    assert calls == [False]


def test_threads_sharing_one_broker_refresh_once(sessions: sessionmaker[Session]) -> None:
    """The tick and the outbox job share one broker (one lease holder): the lease alone cannot keep them apart."""
    calls: list[bool] = []

    def fetch(force: bool) -> tuple[str, int]:
        calls.append(force)
        time.sleep(0.2)
        return "TOKEN-1", 7200

    broker = TokenBroker("wxapp", fetch, DbTokenStore(sessions), DbLeases(sessions))
    got: list[str] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            got.append(broker.token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert got == ["TOKEN-1"] * 6
    assert calls == [False]


def test_refused_token_is_refreshed_once_forcing_only_if_wechat_returns_it_again(
    sessions: sessionmaker[Session],
) -> None:
    answers = iter([("A", 7200), ("A", 7200), ("B", 7200)])
    calls: list[bool] = []

    def fetch(force: bool) -> tuple[str, int]:
        calls.append(force)
        return next(answers)

    broker = TokenBroker("wxapp", fetch, DbTokenStore(sessions), DbLeases(sessions))
    assert broker.token() == "A"
    assert broker.refused("A") == "B"
    assert calls == [False, False, True]
    assert broker.refused("A") == "B"  # another caller with the old token: no new fetch
    assert len(calls) == 3


def test_token_near_expiry_is_refreshed_ahead(sessions: sessionmaker[Session]) -> None:
    store = DbTokenStore(sessions)
    store.put("wxapp", "OLD", utcnow() + timedelta(seconds=100), "test")
    broker = TokenBroker("wxapp", lambda force: ("NEW", 7200), store, DbLeases(sessions))
    assert broker.token() == "NEW"


def test_processes_share_one_stable_token_from_the_stand_in(
    wx_settings: Settings, sessions: sessionmaker[Session], platform: Platform
) -> None:
    clients = [make_api(wx_settings, sessions) for _ in range(6)]
    errors: list[Exception] = []

    def work(client: object) -> None:
        try:
            for _ in range(3):
                client.call("/cgi-bin/tags/get", method="GET")  # type: ignore[attr-defined]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert platform.api_calls("/cgi-bin/stable_token") == 1
    assert platform.api_calls("/cgi-bin/token") == 0
    assert sum(c.broker.refreshes for c in clients) == 1  # type: ignore[union-attr]


def test_persistent_40001_is_bounded(
    wx_settings: Settings, sessions: sessionmaker[Session], platform: Platform
) -> None:
    client = make_api(wx_settings, sessions)
    platform.inject_fault("tags/get", "error", count=None, errcode=40001)
    with pytest.raises(WeChatError) as caught:
        client.call("/cgi-bin/tags/get", method="GET")
    assert caught.value.errcode == 40001
    assert client.usage["/cgi-bin/tags/get"] == 2  # the call and one retry, never a recursion
    assert client.usage["/cgi-bin/stable_token"] <= 3


def test_expired_token_42001_refreshes_and_retries(
    wx_settings: Settings, sessions: sessionmaker[Session], platform: Platform
) -> None:
    client = make_api(wx_settings, sessions)
    client.call("/cgi-bin/tags/get", method="GET")
    platform.tokens.expire_all()
    assert "tags" in client.call("/cgi-bin/tags/get", method="GET")
    assert client.broker.refreshes == 2  # type: ignore[union-attr]
