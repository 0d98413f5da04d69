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
    REASONS,
    TEMPLATE,
    Account,
    MassTarget,
    plan,
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


def test_auto_custom_inside_window_template_outside() -> None:
    people = [person(1, "message", timedelta(hours=1)), person(2)]
    result = plan(people, "auto", SERVICE, NOW)
    assert [a.channel for a in result.assignments] == ["custom", "template"]
    assert result.calls == {CUSTOM: 1, TEMPLATE: 1}


def test_window_quota_counts_messages_already_sent_in_it() -> None:
    talked = person(1, "click", timedelta(seconds=10))
    result = plan([talked], "custom_only", SERVICE, NOW, window_used={talked.openid: 3})
    assert result.assignments[0].reason == REASONS["window_used"]


def test_template_quota_exhaustion_is_reported_not_dropped() -> None:
    account = Account("service", "tmpl", remaining={TEMPLATE: 2})
    result = plan([person(n) for n in range(4)], "template_only", account, NOW)
    assert result.counts() == {"template": 2, "none": 2}
    assert result.reasons() == {REASONS["quota"]: 2}


def test_subscription_account_has_no_template_messages() -> None:
    result = plan([person(1)], "template_only", Account("subscription"), NOW)
    assert result.assignments[0].reason == REASONS["subscription_template"]


def test_unfollowed_and_unknown_recipients_are_undeliverable() -> None:
    gone = Recipient("oGone", 7, subscribed=False)
    stranger = Recipient("oStranger", None, subscribed=False)
    result = plan([gone, stranger], "auto", SERVICE, NOW)
    assert [a.reason for a in result.assignments] == [REASONS["unfollowed"], REASONS["unknown"]]


def test_service_mass_respects_four_a_month_and_slices_of_10000() -> None:
    people = [person(n) for n in range(10_003)]
    capped = people[0].openid
    result = plan(people, "mass", SERVICE, NOW, mass_month={capped: 4})
    assert result.reasons() == {REASONS["mass_month"]: 1}
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
    assert plan(people, "mass", Account("subscription"), NOW).reasons() == {REASONS["mass_no_tag"]: 2}
    used = Account("subscription", mass_sends_today=1)
    assert plan(people, "mass", used, NOW, mass_target=MassTarget(True)).reasons() == {REASONS["mass_day"]: 2}


def test_planning_100k_followers_is_fast() -> None:
    import time

    people = [person(n, "message" if n % 10 == 0 else None, timedelta(hours=1)) for n in range(100_000)]
    started = time.perf_counter()
    result = plan(people, "auto", SERVICE, NOW)
    assert time.perf_counter() - started < 2.0
    assert result.counts() == {"custom": 10_000, "template": 90_000}
