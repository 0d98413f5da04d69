"""The text routes come only from the pack's keywords.yaml: commands first, then exact, then contains rules."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from bot.handlers import text
from bot.routes import DEFAULT, TextRoutes, build_routes, text_routes
from posts.catalog import KeywordRule
from posts.loader import default_content_dir, load_catalog
from tests.bot.conftest import small_catalog


def answer_for(catalog: object, word: str) -> tuple[object, str] | None:
    found = text_routes(catalog)._first(word)  # type: ignore[arg-type]
    return None if found is DEFAULT else (found.answer, found.captured)  # type: ignore[attr-defined]


def test_a_command_word_is_routed_only_because_the_pack_names_it() -> None:
    catalog = small_catalog()
    assert answer_for(catalog, "帮助") == (text.help_, "")
    without = replace(catalog, commands=tuple(r for r in catalog.commands if r.command != "help"))
    assert answer_for(without, "帮助") is None  # no word is routed by code: the default reply answers
    renamed = replace(without, commands=(KeywordRule("exact", ("求助",), command="help"), *without.commands))
    assert answer_for(renamed, "求助") == (text.help_, "")


def test_rules_are_tried_commands_then_exact_then_contains() -> None:
    catalog = replace(
        small_catalog(),
        keywords=(
            KeywordRule("contains", ("订阅",), reply="contains"),
            KeywordRule("exact", ("订阅nurown",), reply="exact"),
        ),
    )
    assert answer_for(catalog, "订阅nurown") == (text.subscribe_to, "nurown")
    only_keywords = replace(catalog, commands=())
    found = answer_for(only_keywords, "订阅nurown")
    assert found is not None and found[0].keywords == {"reply": "exact", "ref": None}  # type: ignore[attr-defined]


def test_captures_numbers_command_rests_and_therapies() -> None:
    catalog = small_catalog()
    assert answer_for(catalog, "12") == (text.section_number, "12")
    assert answer_for(catalog, "取消订阅nurown") == (text.unsubscribe_from, "nurown")
    assert answer_for(catalog, "nurown时间线") == (text.timeline, "nurown")
    assert answer_for(catalog, "时间线msc-ntf") == (text.timeline, "nurown")
    assert answer_for(catalog, "neuronatar") == (text.therapy, "neuronata-r")


def test_the_text_route_is_the_one_built_from_the_pack() -> None:
    routed = build_routes(small_catalog()).table["text", ""]
    assert isinstance(routed, TextRoutes)
    shape = [(r.match, r.patterns) for r in routed.rules]
    assert shape == [(r.match, r.patterns) for r in text_routes(small_catalog()).rules]
    assert shape[:3] == [("exact", ("帮助", "help", "?", "？")), ("exact", ("目录", "toc", "contents")), shape[2]]


def test_loader_refuses_a_command_rule_with_a_reply_or_an_unknown_command(tmp_path: Path) -> None:
    pack = tmp_path / "content"
    shutil.copytree(default_content_dir(), pack)
    path = pack / "keywords.yaml"
    rules = path.read_text(encoding="utf-8")
    path.write_text(
        rules.replace("  command: mine\n", "  command: mine\n  reply: 在这里\n", 1).replace(
            "  command: timeline\n", "  command: history\n", 1
        ),
        encoding="utf-8",
    )
    catalog, problems = load_catalog(pack)
    messages = sorted(p.message for p in problems)
    assert messages[0] == "a keyword rule with a 'command' takes no 'reply' or 'ref'"
    assert messages[1].startswith("field '[6].command' must be one of help, toc, mine")
    assert {r.command for r in catalog.commands} == {
        "help",
        "toc",
        "section_number",
        "unsubscribe",
        "subscribe",
        "therapy",
        "latest",
        "traditional",
        "simplified",
    }


def test_loader_refuses_a_number_rule_without_a_command(tmp_path: Path) -> None:
    pack = tmp_path / "content"
    shutil.copytree(default_content_dir(), pack)
    path = pack / "keywords.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "- match: number\n  command: section_number\n", "- match: number\n  reply: 数字\n"
        ),
        encoding="utf-8",
    )
    _, problems = load_catalog(pack)
    assert [p.message for p in problems] == ["match 'number' needs a 'command'"]
