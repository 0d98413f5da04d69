"""Shared fixtures: settings on a temporary SQLite file, an upgraded database, PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from posts import db
from posts.settings import Settings, load_settings, replace
from tests import faketime

faketime.install()  # a no-op unless .ci/run moved the wall clock

PG_ADMIN_URL = os.environ.get("WXBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults with the database in a temporary folder."""
    base = load_settings(env={})
    return replace(base, database={"url": f"sqlite:///{tmp_path / 'wxbot.db'}"})


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = db.make_engine(settings.database.url)
    db.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return db.session_factory(engine)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the machine's service, dropped afterwards."""
    name = f"wxbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the service must run in CI: fail, do not skip
        pytest.fail(f"PostgreSQL service not reachable at {PG_ADMIN_URL}: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
