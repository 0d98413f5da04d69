"""The pure planner: windows, channel policies, quotas and mass-send caps, with `now` as a parameter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from posts import interactions
from posts.audience import Recipient
from posts.interactions import Window
from scheduler.planner import (
    CUSTOM,
    MASS_SEND,
    MASS_SENDALL,
    REASONS,
    TEMPLATE,
    Account,
    MassTarget,
    plan,
    reason,
    window,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SERVICE = Account("service", "tmpl")


def person(n: int, kind: str | None = None, ago: timedelta = timedelta(0)) -> Recipient:
    """A follower whose last interaction was ``kind``, ``ago`` before NOW, as the bot records it."""
    values = interactions.columns(interactions.of_kind(kind), NOW - ago) if kind else {}
    return Recipient(f"o{n:027d}", n, True, **values)  # type: ignore[arg-type]


def test_windows_message_48_hours_five_events_one_minute_three() -> None:
    assert window(person(1, "message", timedelta(hours=47)), NOW) == Window(True, 5, NOW - timedelta(hours=47))
    assert window(person(1, "message", timedelta(hours=49)), NOW).is_open is False
    assert window(person(1, "click", timedelta(seconds=59)), NOW) == Window(True, 3, NOW - timedelta(seconds=59))
    assert window(person(1, "follow", timedelta(seconds=61)), NOW).is_open is False
    assert window(person(1, "view", timedelta(seconds=1)), NOW).is_open is False
    assert window(person(1), NOW).is_open is False


def test_scancode_taps_open_the_one_minute_window() -> None:
    for kind in ("scancode_push", "scancode_waitmsg"):
        assert window(person(1, kind, timedelta(seconds=10)), NOW) == Window(True, 3, NOW - timedelta(seconds=10))


def test_a_view_tap_or_an_unknown_event_after_a_message_keeps_the_48_hour_window() -> None:
    talked = NOW - timedelta(hours=2)
    for kind in ("view", "other"):
        later = interactions.columns(interactions.of_kind(kind), NOW - timedelta(minutes=5))
        r = replace(person(1, "message", timedelta(hours=2)), **{k: v for k, v in later.items() if v is not None})
        assert r.last_interaction_kind == kind
        assert window(r, NOW) == Window(True, 5, talked)
        assert plan([r], "custom_only", SERVICE, NOW).assignments[0].channel == "custom"


def test_the_48_hour_window_wins_when_both_are_open() -> None:
    r = replace(person(1, "message", timedelta(hours=3)), last_event_at=NOW - timedelta(seconds=5))
    assert window(r, NOW) == Window(True, 5, NOW - timedelta(hours=3))
    assert window(replace(r, last_message_at=None), NOW) == Window(True, 3, NOW - timedelta(seconds=5))


def test_auto_custom_inside_window_mass_outside_never_a_template() -> None:
    people = [person(1, "message", timedelta(hours=1)), person(2), person(3)]
    result = plan(people, "auto", SERVICE, NOW)
    assert [a.channel for a in result.assignments] == ["custom", "mass", "mass"]
    assert result.calls == {CUSTOM: 1, MASS_SEND: 1}


def test_auto_reports_followers_over_their_month_quota_with_the_next_date() -> None:
    people = [person(1, "message", timedelta(hours=1)), person(2), person(3), person(4)]
    result = plan(people, "auto", SERVICE, NOW, mass_month={people[3].openid: 4})
    assert result.counts() == {"custom": 1, "mass": 2, "none": 1}
    assert result.unreachable() == 1
    (left_out,) = [a for a in result.assignments if a.channel == "none"]
    assert left_out.code == "mass_month"
    assert left_out.reason == (
        f"{REASONS['mass_month']}; reachable on 2027-01-01 (Asia/Shanghai; the month's mass sends renew) "
        "or when they next write to the account"
    )


def test_the_month_renews_on_the_first_in_beijing_even_late_on_the_31st_utc() -> None:
    late = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 2027-01-01 00:30 in Beijing
    assert "on 2027-02-01" in reason("mass_month", late)
    assert "on 2027-01-01" in reason("mass_month", late - timedelta(hours=1))


def test_one_follower_outside_the_window_gets_the_true_reason_not_40130() -> None:
    people = [person(1, "message", timedelta(hours=1)), person(2)]
    result = plan(people, "auto", SERVICE, NOW, mass_target=MassTarget(to_all=True))
    assert [a.channel for a in result.assignments] == ["custom", "none"]
    assert result.assignments[1].code == "mass_single"
    assert "40130" not in (result.assignments[1].reason or "")
    assert result.assignments[1].reason.endswith("reachable when they next write to the account")  # type: ignore[union-attr]


def test_a_lone_follower_outside_the_window_is_reached_by_a_tag_send_when_nobody_else_is_in_it() -> None:
    result = plan([person(2)], "auto", SERVICE, NOW, mass_target=MassTarget(tag_id=101))
    assert result.counts() == {"mass": 1}
    assert [(s.key, s.tag_id) for s in result.slices] == [("tag:101", 101)]
    assert result.calls == {MASS_SENDALL: 1}


def test_templates_are_never_a_fallback_for_auto() -> None:
    result = plan([person(n) for n in range(3)], "auto", SERVICE, NOW)
    assert TEMPLATE not in result.calls and "template" not in result.counts()


def test_window_quota_counts_messages_already_sent_in_it() -> None:
    talked = person(1, "click", timedelta(seconds=10))
    result = plan([talked], "custom_only", SERVICE, NOW, window_used={talked.openid: 3})
    assert result.assignments[0].code == "window_used"
    assert result.assignments[0].reason == reason("window_used", NOW)


def test_template_quota_exhaustion_is_reported_not_dropped() -> None:
    account = Account("service", "tmpl", remaining={TEMPLATE: 2})
    result = plan([person(n) for n in range(4)], "template_only", account, NOW)
    assert result.counts() == {"template": 2, "none": 2}
    assert result.codes() == {"quota": 2}


def test_subscription_account_has_no_template_messages() -> None:
    result = plan([person(1)], "template_only", Account("subscription"), NOW)
    assert result.assignments[0].reason == REASONS["subscription_template"]


def test_template_only_needs_a_template_for_the_posts_purpose() -> None:
    result = plan([person(1)], "template_only", Account("service"), NOW)
    assert result.codes() == {"no_template": 1}


def test_unfollowed_and_unknown_recipients_are_undeliverable() -> None:
    gone = Recipient("oGone", 7, subscribed=False)
    stranger = Recipient("oStranger", None, subscribed=False)
    result = plan([gone, stranger], "auto", SERVICE, NOW)
    assert [a.code for a in result.assignments] == ["unfollowed", "unknown"]
    assert [a.reason for a in result.assignments] == [REASONS["unfollowed"], REASONS["unknown"]]


def test_service_mass_respects_four_a_month_and_slices_of_10000() -> None:
    people = [person(n) for n in range(10_003)]
    capped = people[0].openid
    result = plan(people, "mass", SERVICE, NOW, mass_month={capped: 4})
    assert result.codes() == {"mass_month": 1}
    assert [len(s.openids) for s in result.slices] == [10_000, 2]
    assert result.calls == {MASS_SEND: 2}


def test_subscription_auto_uses_one_sendall_when_someone_is_outside_the_window() -> None:
    people = [person(1, "message", timedelta(hours=1)), person(2)]
    account = Account("subscription")
    result = plan(people, "auto", account, NOW, mass_target=MassTarget(tag_id=101))
    assert result.counts() == {"mass": 2}
    assert [(s.key, s.tag_id) for s in result.slices] == [("tag:101", 101)]
    again = plan(people, "auto", Account("subscription", mass_sends_today=1), NOW, mass_target=MassTarget(True))
    assert again.counts() == {"custom": 1, "none": 1}


def test_subscription_mass_needs_a_tag_and_daily_quota() -> None:
    people = [person(1), person(2)]
    assert plan(people, "mass", Account("subscription"), NOW).codes() == {"mass_no_tag": 2}
    used = Account("subscription", mass_sends_today=1)
    result = plan(people, "mass", used, NOW, mass_target=MassTarget(True))
    assert result.codes() == {"mass_day": 2}
    assert "reachable on 2026-12-02 (Asia/Shanghai; the daily quota renews)" in (result.assignments[0].reason or "")


def test_planning_100k_followers_gives_each_one_channel() -> None:
    """The whole audience of a large account is planned in one pass, each follower once (its speed is measured by
    `python -m benchmarks.plan`, not timed here)."""
    people = [person(n, "message" if n % 10 == 0 else None, timedelta(hours=1)) for n in range(100_000)]
    result = plan(people, "auto", SERVICE, NOW)
    assert result.counts() == {"custom": 10_000, "mass": 90_000}
    assert len({a.openid for a in result.assignments}) == 100_000
