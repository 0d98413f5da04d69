"""posts/preview.py shapes a plan into what the phone frame shows, without importing the scheduler."""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from posts.compose import Message
from posts.preview import summarize


@dataclass
class A:
    channel: str
    code: str | None = None


@dataclass
class P:
    assignments: list[A]
    skipped: list[str] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)

    def counts(self) -> Counter[str]:
        return Counter(a.channel for a in self.assignments)


PLAN = P([A("custom"), A("mass"), A("mass"), A("none", "window_closed")], ["oSkipped"], Counter({"/x": 1}))


def test_the_split_the_reasons_the_quota_and_the_disclaimer() -> None:
    message = Message(title="T", text="正文\n\n本内容仅供参考，不构成诊断或治疗建议。\n")
    shown = summarize(PLAN, message, disclaimer_text="本内容仅供参考，不构成诊断或治疗建议。\n更多……",
                      left_today={"/x": 9})  # fmt: skip
    assert shown.total == 4 and shown.channels == {"custom": 1, "mass": 2, "none": 1}
    assert shown.unreachable == {"window_closed": 1} and shown.skipped == 1
    assert shown.calls == {"/x": 1} and shown.left_today == {"/x": 9}
    assert shown.disclaimer is True and shown.size == len(message.text.encode())


def test_a_missing_disclaimer_is_reported_and_a_digest_of_nothing_sends_nothing() -> None:
    shown = summarize(PLAN, Message(title="T", text="正文\n"), disclaimer_text="本内容仅供参考。")
    assert shown.disclaimer is False
    assert summarize(PLAN, None, disclaimer_text="x").nothing is True


def test_preview_needs_no_scheduler_import() -> None:
    tree = ast.parse(Path(summarize.__code__.co_filename).read_text(encoding="utf-8"))
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(name.startswith("scheduler") for name in names)


def test_the_dry_runs_words_have_one_home_for_the_console_and_the_cli() -> None:
    """Channel names, reasons, API calls and problems are posts/preview.yaml's: the console page and `wxbot post
    preview` say them alike, and console/messages.yaml does not say them again."""
    import yaml

    from console.words import MESSAGES, say, table
    from posts import preview

    own = yaml.safe_load(MESSAGES.read_text(encoding="utf-8"))
    for group in ("delivery_channels", "reasons", "calls", "preview_problems"):
        assert group not in own
        assert table()[group] == preview.words()[group]
    assert say("delivery_channels", "notice") == preview.say("delivery_channels", "notice") == "订阅通知"
    assert preview.say("calls", "/cgi-bin/message/mass/preview") == "群发预览（发给自己看）"
    assert "/cgi-bin" not in preview.say("calls", "/cgi-bin/some/new/api")  # never an API path on screen
