"""PostgreSQL restarted under traffic, Redis stopped: the bot answers cleanly and recovers without a restart."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from loadtest.pushes import Account, Push, build
from tests.production import procs, services
from tests.production.conftest import Stack, make_stack
from tests.production.db import rows, scalar

ACCOUNT = Account(
    procs.SECRETS["WXBOT_WECHAT_TOKEN"],
    procs.APP_ID,
    procs.ORIGINAL_ID,
    procs.SECRETS["WXBOT_WECHAT_ENCODING_AES_KEY"],
    "safe",
)
FIRST_MSG_ID = 5_000_000


def post(port: int, push: Push) -> tuple[int, bytes]:
    """One push over a fresh connection: (HTTP status, body), or (0, error name) when the connection failed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", push.path, body=push.body, headers={"Content-Type": "text/xml"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except OSError as exc:
        return 0, type(exc).__name__.encode()
    finally:
        conn.close()


@pytest.mark.time_limit(90)
def test_postgres_restart_during_traffic_fails_cleanly_then_recovers(stack: Stack) -> None:
    web = stack.serve()
    workers = sorted(procs.children(web.pid))
    pushes = build(ACCOUNT, "/wechat", 600, 40, first_msg_id=FIRST_MSG_ID)
    answers: list[tuple[float, int, bytes]] = []

    def traffic() -> None:
        for push in pushes[:300]:
            started = time.monotonic()
            answers.append((started, *post(stack.port, push)))
            time.sleep(0.02)

    sender = threading.Thread(target=traffic)
    sender.start()
    time.sleep(1.0)
    services.stop_postgres()
    down_at = time.monotonic()  # from here until up_at the database is certainly down
    time.sleep(2.0)
    up_at = time.monotonic()
    services.start_postgres()
    sender.join(60)
    assert not sender.is_alive()

    statuses = Counter(status for _, status, _ in answers)
    assert set(statuses) == {200}, statuses  # never a 500, never a refused connection
    assert not any(b"Traceback" in body or b"Error" in body for _, _, body in answers)
    during = [body for at, _, body in answers if down_at < at < up_at]
    assert during and all(body == b"" for body in during), [
        (round(at - down_at, 2), len(body)) for at, _, body in answers
    ]

    # Recovery without a restart: the same processes answer every push again.
    procs.wait_for(lambda: procs.http_ok(f"{stack.url}/healthz"), 20, "/healthz after the restart", web)
    late = [post(stack.port, push) for push in pushes[300:340]]
    assert all(status == 200 and body for status, body in late), Counter(s for s, _ in late)
    assert sorted(procs.children(web.pid)) == workers
    # Every answered push is recorded once. A push whose COMMIT reached the server as it stopped may be recorded
    # though its connection broke before the acknowledgement (so it was answered empty): at most the one in flight
    # (the sender waits for each answer), sent before the stop, and a redelivery of it gets the stored reply.
    url = stack.env["WXBOT_DATABASE_URL"]
    recorded = {
        int(key.removeprefix("msg:")) - FIRST_MSG_ID for (key,) in rows(url, "SELECT dedup_key FROM seen_message")
    }
    answered = {i for i, (_, _, body) in enumerate(answers) if body} | set(range(300, 340))
    assert answered <= recorded, sorted(answered - recorded)
    ambiguous = recorded - answered
    assert len(ambiguous) <= 1 and all(answers[i][0] < down_at for i in ambiguous), sorted(ambiguous)
    assert scalar(url, "SELECT count(*) FROM inbound_event") == len(recorded)
    for i in ambiguous:
        status, body = post(stack.port, pushes[i])
        assert status == 200 and body, (status, body)
    assert scalar(url, "SELECT count(*) FROM inbound_event") == len(recorded)


@pytest.fixture
def redis_stack(tmp_path: Path, pg_url: str, services: None) -> Stack:
    running = make_stack(tmp_path, pg_url, redis_url="redis://127.0.0.1:6379/5")
    yield running  # type: ignore[misc]
    running.stop()


def redis_get(key: str) -> str:
    import subprocess

    done = subprocess.run(["redis-cli", "-n", "5", "get", key], capture_output=True, text=True, timeout=10)
    return done.stdout.strip()


@pytest.mark.time_limit(90)
def test_redis_down_bot_answers_and_token_broker_falls_back_to_the_database(redis_stack: Stack) -> None:
    stack = redis_stack
    url = stack.env["WXBOT_DATABASE_URL"]
    stack.serve()
    scheduler = stack.scheduler("scheduler-a")
    procs.wait_for(lambda: redis_get("wxbot:lease:scheduler"), 30, "the scheduler's lease in Redis", scheduler)
    assert scalar(url, "SELECT count(*) FROM lease WHERE name = 'scheduler'") == 0

    services.stop_redis()
    result = stack.admin("POST", "/sandbox/simulate", action="follow", openid="oNoRedis0001")
    assert result["status"] == "delivered" and result["reply_kind"] == "message", result
    out = procs.wxbot(
        stack.env, "post", "add", "--content", "section:opening", "--audience", "test:oNoRedis0001", "--now", "--yes"
    )
    post_id = int(out.split()[1])
    status = "SELECT status FROM post WHERE id = %s"
    procs.wait_for(lambda: scalar(url, status, post_id) == "sent", 45, "the post sent without Redis", scheduler)
    kinds = [r["kind"] for r in stack.inbox("oNoRedis0001")]
    assert kinds.count("reply") == 1 and len(kinds) == 2, kinds
    leases = {name for (name,) in rows(url, "SELECT name FROM lease")}
    assert "scheduler" in leases, leases  # the scheduler's lease fell back to the database
    # The token was read from the database's copy: written there beside Redis when it was fetched (the scheduler's
    # start-up jobs call WeChat before Redis stops), or refreshed under a database lease if none was fresh.
    assert scalar(url, "SELECT count(*) FROM access_token WHERE app_id = %s", procs.APP_ID) == 1
    assert "fall back to the database" in scheduler.output()
