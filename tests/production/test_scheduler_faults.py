"""The schedulers under faults: kill -9 of the active one mid-send, and the stand-in answering -1 or timing out."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.production import procs
from tests.production.conftest import Stack, make_stack
from tests.production.db import dsn, rows, scalar

TEMPLATE_SEND = "message/template/send"


def notice(text: str) -> tuple[str, ...]:
    """`post add` arguments of a service notice to everyone: templates carry only a configured purpose's notices."""
    body = ("--content", "text", "--title", "线上答疑", "--text", text, "--audience", "all")
    return (*body, "--channel", "template_only", "--purpose", "event_notice", "--now", "--yes")


def openids(count: int) -> list[str]:
    """The openids `python -m sandbox --followers N` creates."""
    return [f"oSbx{i:024d}" for i in range(count)]


def add_followers(url: str, ids: list[str]) -> None:
    """The same followers on our side; a service notice goes out to each of them as a template message."""
    with psycopg.connect(dsn(url)) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO follower (openid, subscribed, created_at) VALUES (%s, true, now())", [(o,) for o in ids]
        )


def post_status(url: str, post_id: int) -> str | None:
    return scalar(url, "SELECT status FROM post WHERE id = %s", post_id)


def templates_received(stack: Stack, ids: list[str]) -> Counter[int]:
    """How many followers received 0, 1, 2... template messages (read from the stand-in's inboxes)."""
    counts: Counter[int] = Counter()
    for openid in ids:
        counts[sum(1 for r in stack.inbox(openid) if r["kind"] == "template")] += 1
    return counts


def lease_pid(url: str) -> int | None:
    holder = scalar(url, "SELECT holder FROM lease WHERE name = 'scheduler' AND expires_at > now()")
    return int(holder.split(":")[1]) if holder else None


@pytest.fixture
def crowd(tmp_path: Path, pg_url: str, services: None) -> Iterator[Stack]:
    running = make_stack(tmp_path, pg_url, followers=1000)
    try:
        add_followers(pg_url, openids(1000))
        yield running
    finally:
        running.stop()


@pytest.mark.time_limit(150)
def test_kill_the_active_scheduler_mid_send_the_standby_finishes_exactly_once(crowd: Stack) -> None:
    url = crowd.env["WXBOT_DATABASE_URL"]
    ids = openids(1000)
    # ~5 ms per template call, so the send lasts long enough to be interrupted.
    crowd.admin("POST", "/sandbox/faults", path=TEMPLATE_SEND, kind="slow", delay=0.005, count=None)
    first, second = crowd.scheduler("scheduler-a"), crowd.scheduler("scheduler-b")
    procs.wait_for(lambda: lease_pid(url), 30, "a scheduler to take the lease", first)
    active = first if lease_pid(url) == first.pid else second
    standby = second if active is first else first
    assert lease_pid(url) == active.pid

    out = procs.wxbot(crowd.env, "post", "add", *notice("周六 20:00 专家答疑"))
    post_id = int(out.split()[1])
    sent = "SELECT count(*) FROM delivery WHERE post_id = %s AND state = 'sent'"
    procs.wait_for(lambda: scalar(url, sent, post_id) >= 200, 60, "200 sends", active)
    os.kill(active.pid, signal.SIGKILL)
    active.popen.wait(10)
    assert scalar(url, sent, post_id) < len(ids), "the send finished before the kill: nothing was tested"

    procs.wait_for(lambda: post_status(url, post_id) == "sent", 90, "the standby to finish the post", standby)
    assert lease_pid(url) == standby.pid
    states = rows(url, "SELECT state, count(*) FROM delivery WHERE post_id = %s GROUP BY state", post_id)
    assert states == [("sent", len(ids))], states
    assert templates_received(crowd, ids) == Counter({1: len(ids)})


@pytest.mark.time_limit(120)
def test_busy_and_timeouts_are_retried_nothing_lost_or_doubled(crowd: Stack) -> None:
    url = crowd.env["WXBOT_DATABASE_URL"]
    ids = openids(1000)[:30]
    with psycopg.connect(dsn(url), autocommit=True) as conn:  # only 30 of the crowd follow on our side
        conn.execute("DELETE FROM follower WHERE NOT (openid = ANY(%s))", (ids,))
    scheduler = crowd.scheduler("scheduler-a")

    crowd.admin("POST", "/sandbox/faults", path=TEMPLATE_SEND, kind="busy", count=2)  # errcode -1 twice
    out = procs.wxbot(crowd.env, "post", "add", *notice("周六 20:00 专家答疑"))
    first = int(out.split()[1])
    procs.wait_for(lambda: post_status(url, first) == "sent", 60, "the first post despite -1", scheduler)
    assert crowd.admin("GET", "/sandbox/faults")["faults"] == []

    # One call answered only after the client's 10 s timeout: WeChat did send it; the retry must not double it.
    crowd.admin("POST", "/sandbox/faults", path=TEMPLATE_SEND, kind="slow", delay=10.5, count=1)
    out = procs.wxbot(crowd.env, "post", "add", *notice("周日 10:00 康复讲座"))
    second = int(out.split()[1])
    procs.wait_for(lambda: post_status(url, second) == "sent", 60, "the second post despite a timeout", scheduler)
    assert crowd.admin("GET", "/sandbox/faults")["faults"] == []  # the slow answer did happen
    assert templates_received(crowd, ids) == Counter({2: len(ids)})
