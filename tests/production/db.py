"""Direct PostgreSQL access for the production tests (psycopg, no app code)."""

from __future__ import annotations

from typing import Any

import psycopg


def dsn(url: str) -> str:
    """A libpq URL from the SQLAlchemy one."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn(url), autocommit=True, connect_timeout=5) as conn:
        return list(conn.execute(sql, params).fetchall())


def scalar(url: str, sql: str, *params: Any) -> Any:
    found = rows(url, sql, *params)
    return found[0][0] if found else None
