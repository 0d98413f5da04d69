"""The topology of docs/deploy.md, run here without Docker: db upgrade, serve ×2 workers, scheduler run ×2."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from tests.production import procs
from tests.production.conftest import Stack


def lease_holder(db_url: str) -> str | None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT holder FROM lease WHERE name = 'scheduler' AND expires_at > now()")).first()
            return row[0] if row else None
    finally:
        engine.dispose()


@pytest.mark.time_limit(90)
def test_documented_topology_answers_and_sends(stack: Stack) -> None:
    web = stack.serve()
    workers = procs.children(web.pid)
    assert len(workers) == 2, f"expected 2 web workers, found {workers}"
    first, second = stack.scheduler("scheduler-a"), stack.scheduler("scheduler-b")
    db_url = stack.env["WXBOT_DATABASE_URL"]
    procs.wait_for(lambda: lease_holder(db_url), 30, "a scheduler to take the lease", first)
    holder = lease_holder(db_url)
    assert holder is not None
    assert str(first.pid) in holder or str(second.pid) in holder
    assert first.alive() and second.alive()

    result = stack.admin("POST", "/sandbox/simulate", action="follow", openid="oDeploy0001")
    assert result["status"] == "delivered" and result["reply_kind"] == "message", result
    result = stack.admin("POST", "/sandbox/simulate", action="send_text", openid="oDeploy0001", text="订阅 NurOwn")
    assert result["status"] == "delivered" and result["reply_kind"] == "message", result

    out = procs.wxbot(
        stack.env, "post", "add", "--content", "digest", "--audience", "test:oDeploy0001", "--now", "--yes"
    )
    assert "post 1" in out, out
    procs.wait_for(lambda: len(stack.inbox("oDeploy0001")) >= 3, 30, "the post in the follower's inbox", first)
    time.sleep(0.5)
    kinds = [record["kind"] for record in stack.inbox("oDeploy0001")]
    assert kinds.count("reply") == 2 and len(kinds) == 3, kinds
