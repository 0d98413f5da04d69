"""`wxbot post add`'s guards against surprise sends: the confirmation it asks for, and posts it refuses.

A post to everyone, or one due now, is queued only after the operator confirmed a statement of what it
spends: the audience size, the channels, and the month's mass sends it uses up. `--yes` confirms in advance
(scripts, tests); without a terminal to ask and without `--yes` the post is refused. A mass post none of
whose recipients has a mass send left this month is refused outright (it could only fail).
"""

from __future__ import annotations

import sys
from datetime import datetime

import typer
from sqlalchemy.orm import Session

from posts import limits, mass_budget
from posts.posting import PostError
from posts.timing import BEIJING, beijing_next_month_start
from scheduler.planner import Plan

GONE = frozenset({"unfollowed", "unknown"})


def interactive() -> bool:
    """Whether a person can answer a question on this terminal."""
    return sys.stdin.isatty()


def renews_on(now: datetime) -> str:
    return f"{beijing_next_month_start(now).astimezone(BEIJING):%Y-%m-%d} (Asia/Shanghai)"


def refuse_spent_month(plan: Plan, now: datetime) -> None:
    """PostError when every follower of the audience has used this month's mass sends."""
    following = [a for a in plan.assignments if a.code not in GONE]
    if following and all(a.code == "mass_month" for a in following):
        raise PostError(
            f"all {len(following)} recipients have used this month's {limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE} "
            f"mass sends: nobody would receive it; they renew on {renews_on(now)} "
            "(`wxbot followers budget` shows each audience)"
        )


ACCOUNT_CANNOT = frozenset({"no_custom", "no_mass", "no_template_api"})
"""Reasons of the capability profile (`wxbot account check`): the account itself cannot send this way."""


def refuse_what_the_account_cannot(plan: Plan) -> None:
    """PostError when the account check found that no channel can reach any follower of the audience."""
    following = [a for a in plan.assignments if a.code not in GONE]
    if following and all(a.code in ACCOUNT_CANNOT for a in following):
        raise PostError(f"this account cannot send it to any of the {len(following)} recipients: {following[0].reason}")


def statement(session: Session, plan: Plan, audience: str, when: str, account_type: str, now: datetime) -> str:
    """What queueing this post will do: who, when, through which channels, and the month's quota it spends."""
    counts = plan.counts()
    channels = ", ".join(f"{channel} {n}" for channel, n in sorted(counts.items()) if channel != "none") or "none"
    lines = [f"{audience}: {len(plan.assignments)} followers, {when}; channels: {channels}"]
    mass = [a.openid for a in plan.assignments if a.channel == "mass"]
    if mass and account_type == "service":
        got = mass_budget.received_this_month(session, now, mass)
        last = sum(1 for o in mass if got.get(o, 0) + 1 >= limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE)
        lines.append(
            f"month quota: {len(mass)} followers each spend 1 of their "
            f"{limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE} mass sends this month ({last} will have none left "
            f"until {renews_on(now)})"
        )
    elif mass:
        lines.append("quota: today's one mass send of this subscription account")
    if plan.unreachable():
        lines.append(f"not reachable this month: {plan.unreachable()} followers (`wxbot post preview` says why)")
    return "\n".join(lines)


def confirm(text: str, yes: bool) -> None:
    """Go on only if the operator agreed: ``--yes``, or "y" at the prompt; PostError otherwise."""
    if yes:
        return
    if not interactive():
        raise PostError("this post goes to everyone or at once: confirm it in a terminal, or add --yes")
    typer.echo(text)
    if not typer.confirm("Queue it?", default=False):
        raise PostError("not queued (not confirmed)")
