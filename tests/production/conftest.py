"""Fixtures for the production tests: a time limit per test, services restored afterwards, a running stack."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import psycopg
import pytest
import requests

from tests.conftest import PG_ADMIN_URL
from tests.production import procs
from tests.production.db import dsn
from tests.production.services import ensure_postgres, ensure_redis

DEFAULT_LIMIT = 90.0


class TimeLimitExceeded(Exception):
    """A production test ran past its time limit."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "time_limit(seconds): fail the test after this many seconds (SIGALRM)")


@pytest.fixture(autouse=True)
def time_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test here is bounded: SIGALRM raises in the test's main thread after its limit."""
    marker = request.node.get_closest_marker("time_limit")
    seconds = float(marker.args[0]) if marker else DEFAULT_LIMIT

    def _expired(_signum: int, _frame: FrameType | None) -> None:
        raise TimeLimitExceeded(f"{request.node.nodeid} ran longer than {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards over a new connection (the tests restart the service)."""
    name = f"wxbot_prod_{uuid.uuid4().hex[:10]}"
    ensure_postgres()
    try:
        with psycopg.connect(dsn(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:  # the service must run in CI: fail, do not skip
        pytest.fail(f"PostgreSQL service not reachable at {PG_ADMIN_URL}: {exc}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        ensure_postgres()
        with psycopg.connect(dsn(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def services() -> Iterator[None]:
    """PostgreSQL and Redis up before the test and, whatever it did to them, after it."""
    ensure_postgres()
    ensure_redis()
    try:
        yield
    finally:
        ensure_postgres()
        ensure_redis()


@dataclass
class Stack:
    """The stand-in (as WeChat), `wxbot serve` and any schedulers, on one fresh PostgreSQL database."""

    tmp: Path
    env: dict[str, str]
    sandbox: procs.Proc
    web: procs.Proc | None = None
    schedulers: list[procs.Proc] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.env["WXBOT_SERVER_PORT"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox_url(self) -> str:
        return str(self.sandbox.info["url"])

    def admin(self, method: str, route: str, **json: object) -> dict:
        resp = requests.request(method, self.sandbox_url + route, json=json or None, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def inbox(self, openid: str) -> list[dict]:
        return self.admin("GET", f"/sandbox/inbox/{openid}")["inbox"]

    def serve(self) -> procs.Proc:
        self.web = procs.start_serve(self.tmp, self.env)
        return self.web

    def scheduler(self, name: str) -> procs.Proc:
        proc = procs.start_scheduler(self.tmp, self.env, name)
        self.schedulers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in [*self.schedulers, self.web, self.sandbox]:
            if proc is not None:
                proc.stop()


def make_stack(tmp: Path, db_url: str, *, redis_url: str = "", workers: int = 2, followers: int = 0) -> Stack:
    port = procs.free_port()
    sandbox = procs.start_sandbox(tmp, f"http://127.0.0.1:{port}/wechat", followers)
    env = procs.production_env(db_url, port=port, api_url=sandbox.info["url"], redis_url=redis_url, workers=workers)
    stack = Stack(tmp, env, sandbox)
    try:
        procs.wxbot(env, "db", "upgrade")
    except BaseException:
        stack.stop()
        raise
    return stack


@pytest.fixture
def stack(tmp_path: Path, pg_url: str, services: None) -> Iterator[Stack]:
    """The production topology on this machine; the web server and schedulers are started by the test."""
    running = make_stack(tmp_path, pg_url)
    try:
        yield running
    finally:
        running.stop()
