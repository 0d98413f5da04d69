"""Template fields: at most 20 characters, no line breaks, cut only at a word boundary, time values WeChat accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from posts.template_fields import TemplateFieldError, fill, fit, wechat_time


def test_a_short_value_is_sent_as_it_is() -> None:
    assert fit("thing1", " 周六 20:00 专家答疑 ") == "周六 20:00 专家答疑"


def test_a_long_value_is_cut_at_a_word_boundary_never_inside_a_word_or_number() -> None:
    assert fit("thing1", "NurOwn：NurOwn向FDA提交3期试验申请材料并获受理") == "NurOwn…"
    assert fit("thing1", "Live Q&A with experts this Saturday evening") == "Live Q&A with…"
    assert len(fit("thing1", "Live Q&A with experts this Saturday evening")) <= 20


def test_a_bracketed_caveat_is_never_cut_off() -> None:
    with pytest.raises(TemplateFieldError, match="bracketed caveat"):
        fit("thing1", "XS228 渐冻症注册临床试验完成首例给药（非上市批准）")


@pytest.mark.parametrize("value", ["周六专家答疑直播预告本周请准时观看欢迎转发给需要的朋友们", "第一行\n第二行"])
def test_a_value_that_cannot_fit_is_refused_with_the_field_named(value: str) -> None:
    with pytest.raises(TemplateFieldError, match="template field thing3"):
        fit("thing3", value)


def test_time_is_a_valid_wechat_time_value_in_the_scheduler_timezone() -> None:
    due = datetime(2026, 12, 6, 16, 5, tzinfo=UTC)
    assert wechat_time(due, "Asia/Shanghai") == "2026年12月7日 00:05"
    spec = {"template_id": "T", "thing1": "title", "time2": "time", "thing3": "text"}
    assert fill(spec, title="直播预告", summary="", text="周六 20:00 专家答疑", due=due, tz="Asia/Shanghai") == {
        "thing1": "直播预告",
        "time2": "2026年12月7日 00:05",
        "thing3": "周六 20:00 专家答疑",
    }
