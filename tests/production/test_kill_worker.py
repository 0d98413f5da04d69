"""kill -9 the web worker that is handling a push: WeChat's retry is answered, the side effects happen once."""

from __future__ import annotations

import os
import signal
import threading

import psycopg
import pytest

from tests.production import procs
from tests.production.conftest import Stack
from tests.production.db import dsn, rows, scalar

OPENID = "oKillWorker0001"


def waiting_client_port(url: str, database: str) -> int | None:
    """The client port of a backend of ``database`` that waits on a row lock (the stalled push)."""
    found = rows(
        url,
        "SELECT client_port FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
        database,
    )
    return int(found[0][0]) if found else None


@pytest.mark.time_limit(90)
def test_sigkill_of_the_busy_worker_then_wechat_retry_is_answered_once(stack: Stack) -> None:
    web = stack.serve()
    url = stack.env["WXBOT_DATABASE_URL"]
    database = url.rsplit("/", 1)[1]
    assert stack.admin("POST", "/sandbox/simulate", action="follow", openid=OPENID)["status"] == "delivered"

    # Hold the follower's row: the push below stalls inside a worker, mid-transaction, until we let go.
    blocker = psycopg.connect(dsn(url))
    blocker.execute("SELECT id FROM follower WHERE openid = %s FOR UPDATE", (OPENID,))
    outcome: dict[str, dict] = {}
    push = threading.Thread(
        target=lambda: outcome.update(
            result=stack.admin("POST", "/sandbox/simulate", action="send_text", openid=OPENID, text="订阅 NurOwn")
        )
    )
    push.start()
    try:
        procs.wait_for(lambda: waiting_client_port(url, database), 10, "the push to stall on the row lock", web)
        port = waiting_client_port(url, database)
        assert port is not None
        workers = procs.children(web.pid)
        victim = procs.pid_of_local_port(port, workers)
        assert victim is not None, f"no worker among {workers} owns the connection from port {port}"
        os.kill(victim, signal.SIGKILL)
    finally:
        blocker.rollback()
        blocker.close()
    push.join(30)
    assert not push.is_alive()

    result = outcome["result"]
    assert result["status"] == "delivered" and result["reply_kind"] == "message", result
    assert result["attempts"] >= 2, result  # the first delivery died with the worker; WeChat's retry was answered
    inbox = stack.inbox(OPENID)
    assert [r["msgtype"] for r in inbox] == ["news", "text"] or len(inbox) == 2, inbox
    assert all(r["msgtype"] != "service_unavailable" for r in inbox), inbox
    texts = rows(url, "SELECT dedup_key FROM inbound_event WHERE openid = %s AND msg_type = 'text'", OPENID)
    assert len(texts) == 1, texts
    assert scalar(url, "SELECT count(*) FROM seen_message WHERE dedup_key = %s", texts[0][0]) == 1
    subs = rows(
        url,
        "SELECT s.therapy_key FROM subscription s JOIN follower f ON f.id = s.follower_id WHERE f.openid = %s",
        OPENID,
    )
    assert subs == [("nurown",)], subs
    assert scalar(url, "SELECT count(*) FROM outbox WHERE openid = %s AND kind = 'tag_add'", OPENID) == 1

    # the supervisor replaced the killed worker and the server keeps answering.
    procs.wait_for(
        lambda: len(procs.children(web.pid)) == 2 and victim not in procs.children(web.pid),
        20,
        "the supervisor to respawn the worker",
        web,
    )
    assert procs.http_ok(f"{stack.url}/healthz")
