"""The approval state machine (posts/approval.py): pure functions over rows, the time given."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from posts import approval, posting
from posts.approval import ApprovalError
from posts.operators import AuditEntry, OperatorNotice, OperatorUser
from posts.queue import Post
from tests.console.conftest import START, Site

UPDATE = "update:nurown/2025-04-10-ind-amendment"


def user(session: Session, name: str) -> OperatorUser:
    found = session.scalar(select(OperatorUser).where(OperatorUser.username == name))
    assert found is not None
    return found


def draft(session: Session, site: Site, author: str = "editor1", audience: str = "therapy:nurown", **kw) -> Post:  # type: ignore[no-untyped-def]
    return approval.compose(
        session,
        user(session, author),
        content=UPDATE,
        audience=audience,
        channel="auto",
        send_at=kw.get("send_at", START + timedelta(hours=1)),
        now=site.clock(),
        scheduling=site.settings.scheduler,
    )


def test_draft_review_approve_queue_makes_the_row_post_add_makes(site: Site) -> None:
    with site.sessions() as session:
        post = draft(session, site, send_at=START + timedelta(hours=13))  # 23:00 local: inside the quiet hours
        assert post.status == "draft" and post.created_by == "editor1"
        approval.submit(session, post, user(session, "editor1"), site.clock())
        assert post.status == "in_review"
        approval.approve(session, post, user(session, "reviewer1"), site.clock(), "sources checked")
        assert post.status == "approved" and post.data["approved_by"] == "reviewer1"
        approval.queue(session, post, user(session, "sender1"), site.clock(), site.settings.scheduler)
        cli = posting.add_post(
            session,
            content=UPDATE,
            audience="therapy:nurown",
            channel="auto",
            by="cli",
            now=site.clock(),
            scheduling=site.settings.scheduler,
            send_at=START + timedelta(hours=13),
        )
        for column in ("status", "content", "audience", "channel", "send_at", "due_at", "cron", "text"):
            assert getattr(post, column) == getattr(cli, column), column
        assert post.due_at is not None and post.due_at > post.send_at  # held past the quiet hours
        actions = [e.action for e in post.events]
        assert actions == ["draft", "submitted", "approved", "queued"]
        audit = list(session.scalars(select(AuditEntry).where(AuditEntry.target == f"post:{post.id}")))
        assert audit[-1].before["status"] == "approved" and audit[-1].after["status"] == "queued"


def test_nobody_approves_their_own_post(site: Site) -> None:
    with site.sessions() as session:
        post = draft(session, site, author="admin1", audience="therapy:nurown")
        approval.submit(session, post, user(session, "admin1"), site.clock())
        approval.approve(session, post, user(session, "admin1"), site.clock())  # an admin, to fewer than everyone
        assert post.status == "approved"
        everyone = draft(session, site, author="admin1", audience="all")
        approval.submit(session, everyone, user(session, "admin1"), site.clock())
        with pytest.raises(ApprovalError) as refused:
            approval.approve(session, everyone, user(session, "admin1"), site.clock())
        assert refused.value.code == "own_post_all"
        approval.approve(session, everyone, user(session, "reviewer1"), site.clock())
        assert everyone.status == "approved"


def test_a_reviewer_cannot_approve_a_post_they_wrote(site: Site) -> None:
    with site.sessions() as session:
        reviewer = user(session, "reviewer1")
        reviewer.role = "admin"  # wrote it as an admin, reviews as a reviewer
        post = draft(session, site, author="reviewer1", audience="all")
        approval.submit(session, post, reviewer, site.clock())
        reviewer.role = "reviewer"
        with pytest.raises(ApprovalError) as refused:
            approval.approve(session, post, reviewer, site.clock())
        assert refused.value.code == "own_post"
        assert not approval.moves(post, reviewer).approve


def test_roles_decide_who_does_what(site: Site) -> None:
    with site.sessions() as session:
        post = draft(session, site)
        with pytest.raises(ApprovalError, match="may not compose"):
            draft(session, site, author="sender1")
        approval.submit(session, post, user(session, "editor1"), site.clock())
        with pytest.raises(ApprovalError, match="may not review"):
            approval.approve(session, post, user(session, "editor2"), site.clock())
        approval.approve(session, post, user(session, "reviewer1"), site.clock())
        with pytest.raises(ApprovalError, match="may not queue"):
            approval.queue(session, post, user(session, "editor1"), site.clock(), site.settings.scheduler)
        with pytest.raises(ApprovalError, match="may not queue"):
            approval.queue(session, post, user(session, "reviewer1"), site.clock(), site.settings.scheduler)
        editor_moves = approval.moves(post, user(session, "editor1"))
        assert not editor_moves.queue and not editor_moves.approve
        assert approval.moves(post, user(session, "sender1")).queue


def test_editing_an_approved_post_sends_it_back_to_review(site: Site) -> None:
    with site.sessions() as session:
        post = draft(session, site)
        approval.submit(session, post, user(session, "editor1"), site.clock())
        approval.approve(session, post, user(session, "reviewer1"), site.clock())
        approval.edit(
            session,
            post,
            user(session, "editor2"),
            now=site.clock(),
            scheduling=site.settings.scheduler,
            content="section:opening",
            audience="therapy:nurown",
            channel="auto",
            send_at=START + timedelta(hours=2),
        )
        assert post.status == "in_review" and "approved_by" not in post.data
        with pytest.raises(ApprovalError):
            approval.queue(session, post, user(session, "sender1"), site.clock(), site.settings.scheduler)


def test_a_return_needs_a_reason_and_tells_the_author(site: Site) -> None:
    with site.sessions() as session:
        post = draft(session, site)
        approval.submit(session, post, user(session, "editor1"), site.clock())
        with pytest.raises(ApprovalError) as refused:
            approval.send_back(session, post, user(session, "reviewer1"), site.clock(), " ")
        assert refused.value.code == "comment_needed"
        approval.send_back(session, post, user(session, "reviewer1"), site.clock(), "来源日期不对")
        assert post.status == "draft"
        notes = approval.notices(session, "editor1")
        assert [(n.kind, n.detail) for n in notes] == [("returned", "来源日期不对")]


def test_a_post_not_approved_by_its_time_expires_and_its_author_is_told(site: Site) -> None:
    with site.sessions() as session:
        waiting = draft(session, site, send_at=START + timedelta(minutes=30))
        approval.submit(session, waiting, user(session, "editor1"), site.clock())
        approved = draft(session, site, author="editor2", send_at=START + timedelta(minutes=30))
        approval.submit(session, approved, user(session, "editor2"), site.clock())
        approval.approve(session, approved, user(session, "reviewer1"), site.clock())
        later = draft(session, site, send_at=START + timedelta(hours=3))
        cli_draft = posting.add_post(
            session,
            content=UPDATE,
            audience="all",
            channel="auto",
            by="cli",
            now=site.clock(),
            scheduling=site.settings.scheduler,
            send_at=START + timedelta(minutes=30),
            draft=True,
        )
        assert approval.expire_overdue(session, START + timedelta(minutes=30)) == []  # its minute: not yet past
        expired = approval.expire_overdue(session, START + timedelta(minutes=31))
        assert [p.id for p in expired] == [waiting.id, approved.id]
        assert waiting.status == approved.status == "expired"
        assert later.status == "draft" and cli_draft.status == "draft"  # a CLI draft waits for send-now
        assert {(n.username, n.kind) for n in session.scalars(select(OperatorNotice))} >= {
            ("editor1", "expired"),
            ("editor2", "expired"),
        }
        with pytest.raises(ApprovalError):
            approval.queue(session, approved, user(session, "sender1"), site.clock(), site.settings.scheduler)


def test_queueing_after_the_time_passed_is_refused(site: Site) -> None:
    with site.sessions() as session:
        post = draft(session, site, send_at=START + timedelta(minutes=10))
        approval.submit(session, post, user(session, "editor1"), site.clock())
        approval.approve(session, post, user(session, "reviewer1"), site.clock())
        with pytest.raises(ApprovalError) as refused:
            approval.queue(session, post, user(session, "sender1"), START + timedelta(minutes=11),
                           site.settings.scheduler)  # fmt: skip
        assert refused.value.code == "past"


def test_an_editor_withdraws_their_own_waiting_post_but_not_a_queued_one(site: Site) -> None:
    with site.sessions() as session:
        post = draft(session, site)
        approval.cancel(session, post, user(session, "editor1"), site.clock())
        assert post.status == "cancelled"
        other = draft(session, site)
        approval.submit(session, other, user(session, "editor1"), site.clock())
        approval.approve(session, other, user(session, "reviewer1"), site.clock())
        approval.queue(session, other, user(session, "sender1"), site.clock(), site.settings.scheduler)
        with pytest.raises(ApprovalError):
            approval.cancel(session, other, user(session, "editor1"), site.clock())
        approval.cancel(session, other, user(session, "sender1"), site.clock())
        assert other.status == "cancelled"


def test_the_command_line_cannot_send_a_console_post_before_its_approval(site: Site) -> None:
    with site.sessions() as session:
        post = draft(session, site)
        with pytest.raises(posting.PostError, match="waits for a reviewer's approval"):
            posting.send_now(session, post.id, "cli", site.clock())
        approval.submit(session, post, user(session, "editor1"), site.clock())
        with pytest.raises(posting.PostError, match="waits for a reviewer's approval"):
            posting.send_now(session, post.id, "cli", site.clock())
        with pytest.raises(posting.PostError, match="nothing to retry"):
            posting.retry(session, post.id, "cli", site.clock())
        approval.approve(session, post, user(session, "reviewer1"), site.clock())
        assert posting.send_now(session, post.id, "cli", site.clock()).status == "queued"
