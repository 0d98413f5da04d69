"""The benchmark commands still run against the current code (their figures live in docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from benchmarks import batch_sql


@pytest.mark.parametrize("scenario", ["keyword", "click"])
@pytest.mark.parametrize(("before_0020", "connections"), [(True, 1), (False, 1), (False, 2)])
def test_batch_sql_times_every_statement_of_a_batch(scenario: str, before_0020: bool, connections: int) -> None:
    figures = batch_sql.run(scenario, batch=4, pushes=40, before_0020=before_0020, connections=connections)
    assert set(figures) == {*batch_sql.STEPS, "total"}
    assert all(figures[step] > 0 for step in batch_sql.STEPS)
    assert figures["total"] == pytest.approx(sum(figures[step] for step in batch_sql.STEPS))


@pytest.mark.postgres
def test_callback_counts_the_cpu_of_the_backends_of_its_database(pg_url: str) -> None:
    """benchmarks.callback's PostgreSQL column: the CPU of the backends connected to the bench's database only."""
    import psycopg
    from sqlalchemy.engine import make_url

    from benchmarks.callback import database_cpu

    url = make_url(pg_url)
    assert database_cpu(None) is None
    assert database_cpu("wxbot_no_such_database") == 0.0
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        before = database_cpu(url.database)
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
        after = database_cpu(url.database)
    assert before is not None and after is not None and after - before >= 0.05


@pytest.mark.postgres
def test_pg_batch_times_the_workers_statement(pg_url: str) -> None:
    """benchmarks.pg_batch runs bot.store.postgres's own statement: every push claimed, logged, its follower kept."""
    from sqlalchemy import func, select
    from sqlalchemy.engine import make_url

    from benchmarks import pg_batch
    from posts import db
    from posts.models import Follower, InboundEvent, SeenMessage

    engine = db.make_engine(pg_url)
    db.upgrade(engine)
    conninfo = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    figures = pg_batch.run(conninfo, [1, 4], batches=5)
    assert set(figures) == {1, 4} and all(wall > 0 and cpu >= 0 for wall, cpu in figures.values())
    with engine.connect() as conn:
        counts = [conn.scalar(select(func.count()).select_from(m)) for m in (SeenMessage, InboundEvent, Follower)]
    engine.dispose()
    pushes = pg_batch.FOLLOWERS + 10 * 1 + 5 * 1 + 10 * 4 + 5 * 4  # the followers' first pushes, warm-up, timed
    assert counts == [pushes, pushes, pg_batch.FOLLOWERS]


def test_callback_gives_each_server_its_better_wrk_thread_count() -> None:
    from benchmarks.callback import Result, best_of_threads

    def measured(rps: float, threads: int) -> Result:
        return Result("werobot", "plain", "click", 16, int(rps * 6), 6.0, 1.0, 5.0, 0, 1.0, None, threads)

    runs = [measured(7000, 1), measured(8000, 2), measured(7200, 1), measured(7900, 2)]
    best = best_of_threads(runs)
    assert [r.wrk_threads for r in best] == [2, 2]
    assert [round(r.rps) for r in best] == [8000, 7900]
    assert best_of_threads([]) == []


def test_callback_also_compares_with_the_best_single_peer_measurement() -> None:
    """A peer measurement with an idle gunicorn worker lowers the peer's median, never the stricter ratio."""
    from benchmarks.callback import Result, ratio_to_best_single

    def measured(server: str, rps: float, threads: int) -> Result:
        return Result(server, "plain", "keyword", 16, int(rps * 6), 6.0, 1.0, 5.0, 0, 1.0, None, threads)

    ours = [measured("wxbot-sqlite", 13000, 1), measured("wxbot-sqlite", 14000, 1)]
    peers = [measured("werobot", 2600, 1), measured("werobot", 6200, 1), measured("wechatpy", 4800, 2)]
    assert ratio_to_best_single(ours, peers) == pytest.approx(13500 / 6200)
    assert ratio_to_best_single([], peers) is None and ratio_to_best_single(ours, []) is None


@pytest.mark.postgres
def test_scratch_databases_keep_the_admin_urls_query(pg_url: str) -> None:
    """A --pg-admin-url with a query (a Unix socket's ``?host=``, a timeout) names the new database, query kept."""
    from uuid import uuid4

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from benchmarks.scratchdb import create_database, drop_databases

    admin = make_url(pg_url).set(query={"connect_timeout": "5"}).render_as_string(hide_password=False)
    name = f"wxbot_scratch_{uuid4().hex[:8]}"
    url = create_database(admin, name)
    try:
        assert make_url(url).database == name and make_url(url).query == {"connect_timeout": "5"}
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == name
        engine.dispose()
    finally:
        drop_databases(admin, [name])
