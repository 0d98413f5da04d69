"""Scratch PostgreSQL databases for the benchmarks: created on the local service, dropped when done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text


def create_database(admin_url: str, name: str) -> str:
    """Create ``name`` beside ``admin_url``'s database and give its URL; an unreachable service ends the command."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise SystemExit(f"benchmarks: PostgreSQL not reachable at {admin_url} ({exc})") from exc
    finally:
        admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_databases(admin_url: str, names: list[str]) -> None:
    """Drop ``names`` (sessions still connected to them are ended)."""
    if not names:
        return
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def scratch_database(admin_url: str, name: str) -> Iterator[str]:
    """A new database's URL for the ``with`` block; dropped after it."""
    url = create_database(admin_url, name)
    try:
        yield url
    finally:
        drop_databases(admin_url, [name])
