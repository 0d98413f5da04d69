"""No surprise sends: `post add` asks before a post to everyone or one due now, refuses a post whose recipients
have no mass send left this month, and `wxbot followers budget` shows what each audience has left."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from posts.models import InboundEvent
from posts.queue import Delivery, Post
from tests.scheduler.conftest import World
from tests.scheduler.test_cli import CLOCKS, UPDATE, config, wxbot  # noqa: F401  (config is a fixture)
from wxbot.cli import app
from wxbot.context import AppContext


def mass_received(world: World, openid: str, times: int) -> None:
    """``openid`` got ``times`` mass sends of ours this month."""
    with world.sessions() as session:
        for _ in range(times):
            post = Post(content=UPDATE, audience="all", channel="mass", status="sent", created_at=world.now())
            session.add(post)
            session.flush()
            row = Delivery(post_id=post.id, openid=openid, channel="mass", state="sent", sent_at=world.now())
            session.add(row)
        session.commit()


def posts(world: World) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count()).select_from(Post).where(Post.content == "section:opening")) or 0


def test_add_needs_to_be_told_when(world: World, config: Path) -> None:  # noqa: F811
    world.follow(1)
    code, output = wxbot(config, "post", "add", "--content", "section:opening", "--by", "王医生")
    assert code == 2 and "say when: --at 'YYYY-MM-DD HH:MM', --cron '...', or --now" in output
    code, output = wxbot(config, "post", "add", "--content", "section:opening", "--now", "--at", "2099-01-01 09:00")
    assert code == 2 and "--now sends at once" in output
    assert posts(world) == 0


@pytest.mark.parametrize(
    "args",
    [
        ("--now",),  # everyone, at once
        ("--at", "2099-01-01 09:00"),  # everyone, later
        ("--now", "--to"),  # a few, at once
    ],
)
def test_without_a_terminal_and_without_yes_it_refuses_in_one_line(
    world: World,
    config: Path,  # noqa: F811
    args: tuple[str, ...],
) -> None:
    few = ",".join(world.follow(2))
    args = (*args, few) if args[-1] == "--to" else args
    code, output = wxbot(config, "post", "add", "--content", "section:opening", *args, "--by", "王医生")
    assert code == 2, output
    assert output.strip().splitlines() == [
        "wxbot: this post goes to everyone or at once: confirm it in a terminal, or add --yes"
    ]
    assert posts(world) == 0


def test_a_later_post_to_a_few_is_queued_without_a_question(world: World, config: Path) -> None:  # noqa: F811
    (openid,) = world.follow(1)
    args = ("--content", "section:opening", "--to", openid, "--at", "2099-01-01 09:00")
    code, output = wxbot(config, "post", "add", *args)
    assert code == 0 and "queued: section:opening → test:" in output and "Queue it?" not in output
    assert posts(world) == 1


def test_the_confirmation_states_audience_channels_and_the_month_quota(
    world: World,
    config: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("wxbot.commands.post_checks.interactive", lambda: True)
    world.follow(1, interact="message", prefix="oTalk")
    quiet = world.follow(2, prefix="oQuiet")
    mass_received(world, quiet[0], 3)
    args = ["--config", str(config), "post", "add", "--content", "section:opening", "--now", "--by", "王医生"]
    runner = CliRunner()
    declined = runner.invoke(app, args, input="n\n", obj=AppContext(clock=CLOCKS[config]))
    assert declined.exit_code == 2 and "not queued (not confirmed)" in declined.output
    assert posts(world) == 0
    agreed = runner.invoke(app, args, input="y\n", obj=AppContext(clock=CLOCKS[config]))
    assert agreed.exit_code == 0, agreed.output
    assert "all: 3 followers, now; channels: custom 1, mass 2" in agreed.output
    assert (
        "month quota: 2 followers each spend 1 of their 4 mass sends this month "
        "(1 will have none left until 2027-01-01 (Asia/Shanghai))"
    ) in agreed.output
    assert "Queue it?" in agreed.output and "queued: section:opening → all via auto" in agreed.output
    assert posts(world) == 1


def test_a_mass_post_whose_recipients_have_no_mass_send_left_is_refused(world: World, config: Path) -> None:  # noqa: F811
    openids = world.follow(2)
    for openid in openids:
        mass_received(world, openid, 4)
    code, output = wxbot(config, "post", "add", "--content", "section:opening", "--channel", "mass", "--now", "--yes")
    assert code == 2, output
    assert "all 2 recipients have used this month's 4 mass sends" in output and "renew on 2027-01-01" in output
    assert posts(world) == 0


def test_mass_sends_made_outside_the_product_count_for_those_who_followed_before(
    world: World,
    config: Path,  # noqa: F811
) -> None:
    early = world.follow(2, prefix="oEarly")
    with world.sessions() as session:  # four MASSSENDJOBFINISH pushes whose MsgID is none of ours
        for n in range(4):
            session.add(
                InboundEvent(
                    openid="oSystem",
                    msg_type="event",
                    event="masssendjobfinish",
                    key=f"9900{n}",
                    received_at=world.now() + timedelta(seconds=n + 1),
                )
            )
        session.commit()
    code, output = wxbot(config, "post", "add", "--content", "section:opening", "--channel", "mass", "--now", "--yes")
    assert code == 2 and "all 2 recipients have used this month's 4 mass sends" in output
    code, output = wxbot(config, "followers", "budget", "--audience", "all")
    assert code == 0, output
    assert "4 mass sends made outside wxbot this month" in output
    assert all(f"{o}: received 4, 0 left" in output for o in early)


def test_followers_budget_per_audience_with_the_renewal_date(world: World, config: Path) -> None:  # noqa: F811
    first, second = world.follow(2)
    mass_received(world, first, 1)
    code, output = wxbot(config, "followers", "budget")
    assert code == 0, output
    assert "they renew on 2027-01-01 (Asia/Shanghai)" in output
    assert "all: 2 followers" in output and "therapy:nurown: 0 followers" in output
    assert f"{first}: received 1, 3 left" in output and f"{second}: received 0, 4 left" in output
    code, output = wxbot(config, "followers", "budget", "--audience", "therapy:cure-all")
    assert code == 2 and "unknown therapy 'cure-all'" in output
