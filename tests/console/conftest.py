"""A console on a fresh SQLite database with the shipped content pack, a clock the test moves, and one user of
each role (password ``PASSWORD``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from console.app import Console
from posts import accounts
from posts.content_sync import sync_catalog
from posts.loader import default_content_dir, load_catalog
from posts.operators import OperatorUser
from posts.settings import Settings, replace
from wxbot import consoleapp

PASSWORD = "correct horse battery"
USERS = {"editor1": "editor", "editor2": "editor", "reviewer1": "reviewer", "sender1": "sender", "admin1": "admin"}
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai, outside the quiet hours


@cache
def _hash() -> str:
    return accounts.hash_password(PASSWORD)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Site:
    console: Console
    sessions: sessionmaker[Session]
    clock: FakeClock
    settings: Settings

    def client(self) -> TestClient:
        return TestClient(self.console.app, base_url="http://console.test", follow_redirects=False)

    def signed_in(self, username: str) -> TestClient:
        client = self.client()
        response = sign_in(client, username, PASSWORD)
        assert response.status_code == 303, response.text
        return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    page = client.get("/signin")
    return client.post("/signin", data={"csrf": csrf_of(page.text), "username": username, "password": password})


@pytest.fixture
def site(settings: Settings, sessions: sessionmaker[Session]) -> Site:
    clock = FakeClock()
    settings = replace(settings, scheduler={"quiet_hours_start": "22:00", "quiet_hours_end": "08:00"})
    catalog, _ = load_catalog(default_content_dir())
    with sessions() as session:
        sync_catalog(session, catalog, clock())
        for name, role in USERS.items():  # one argon2 hash for all: hashing is slow by design
            session.add(OperatorUser(username=name, role=role, password_hash=_hash(), created_at=clock()))
            accounts.audit(session, "test", "user-add", f"user:{name}", at=clock(), after={"role": role})
        session.commit()
    return Site(consoleapp.build(settings, sessions, catalog, clock), sessions, clock, settings)
