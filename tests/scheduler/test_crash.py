"""kill -9 in the middle of a 5,000-recipient send, then a restart: everyone gets the post exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, insert, select

from posts.models import Follower
from posts.queue import Delivery
from tests.scheduler.test_send import World, notice, status

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 5_000


def worker(world: World, post_id: int) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "tests.scheduler.send_worker", world.settings.database.url]
    args += [world.settings.wechat.api_base_url, str(post_id)]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_send_then_restart_delivers_each_recipient_exactly_once(world: World) -> None:
    openids = world.platform.add_followers(RECIPIENTS, prefix="oKill")
    with world.sessions() as session:
        rows = [{"openid": o, "subscribed": True, "created_at": world.now()} for o in openids]
        session.execute(insert(Follower), rows)
        session.commit()
    post_id = notice(world, send_at=None)  # template sends: one call per recipient
    with world.sessions() as session:  # the worker runs on the real clock
        from datetime import UTC, datetime

        from posts.queue import Post

        session.get(Post, post_id).due_at = datetime.now(UTC)
        session.commit()

    first = worker(world, post_id)
    deadline = time.monotonic() + 60
    while len(world.platform.template_sends) < RECIPIENTS // 3 and time.monotonic() < deadline:
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    delivered_before = len(world.platform.template_sends)
    assert 0 < delivered_before < RECIPIENTS
    with world.sessions() as session:
        states = Counter(dict(session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()))
    assert states["planned"] > 0

    second = worker(world, post_id)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    with world.sessions() as session:
        rows = session.execute(
            select(Delivery.state, Delivery.errcode, Delivery.reason, func.count()).group_by(
                Delivery.state, Delivery.errcode, Delivery.reason
            )
        ).all()
    assert out.strip() == "sent", rows
    assert status(world, post_id) == "sent"
    received = Counter()
    for openid in openids:
        received[len(world.platform.inbox(openid))] += 1
    assert received == {1: RECIPIENTS}
