"""Engine, sessions and schema upgrades (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL mode switched on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def sqlite_writer_engine(url: str) -> Engine:
    """A one-connection engine on a SQLite file for a single writer thread that controls its own transactions.

    pysqlite's implicit BEGIN is switched off (``isolation_level=None``) and every SQLAlchemy transaction starts
    with ``BEGIN IMMEDIATE`` (the write lock is taken up front, never upgraded mid-transaction), so SAVEPOINT and
    RELEASE behave as SQLite documents them: the "pysqlite SAVEPOINT recipe". Other code keeps :func:`make_engine`.
    A caller may also open the transaction itself on the DB-API connection (``BEGIN IMMEDIATE``, as group commit does
    to spare SQLAlchemy's bookkeeping when no Session is needed): SQLAlchemy's ``begin`` then joins it.
    """
    from sqlalchemy.pool import StaticPool

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise ValueError("sqlite_writer_engine needs a SQLite file URL")
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 10, "isolation_level": None}, poolclass=StaticPool
    )
    event.listen(engine, "connect", _sqlite_pragmas)

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        if not conn.connection.driver_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (start-up calls this too)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
