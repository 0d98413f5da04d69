"""The menu file's rules (posts/menu.py) on hand-made menus."""

from __future__ import annotations

from pathlib import Path

import pytest

from posts.menu import Button, Menu, MenuError, load_menu, menu_body, validate


def _click(name: str, key: str = "TOC") -> Button:
    return Button(name, "click", key=key)


def test_wechat_rules() -> None:
    too_many = Menu(tuple(Button(f"t{i}", "parent", subs=(_click("a"),)) for i in range(4)))
    assert any("4 top buttons" in p for p in validate(too_many, {"TOC"}, "http://x"))
    six = Menu((Button("t", "parent", subs=tuple(_click(f"s{i}") for i in range(6))),))
    assert any("6 sub-buttons" in p for p in validate(six, {"TOC"}, "http://x"))
    long_top = Menu((Button("一二三四五六", "parent", subs=(_click("a"),)),))
    assert any("18 bytes" in p for p in validate(long_top, {"TOC"}, "http://x"))
    long_sub = Menu((Button("t", "parent", subs=(_click("字" * 21),)),))
    assert any("63 bytes" in p for p in validate(long_sub, {"TOC"}, "http://x"))
    long_key = Menu((Button("t", "parent", subs=(_click("a", "K" * 129),)),))
    assert any("key must be" in p for p in validate(long_key, {"K" * 129}, "http://x"))
    relative = Menu((Button("t", "parent", subs=(Button("v", "view", url="{base_url}/p/"),)),))
    assert any("not absolute" in p for p in validate(relative, set(), ""))
    assert validate(relative, set(), "https://example.org") == []


def test_body_substitutes_base_url_and_keeps_chinese(tmp_path: Path) -> None:
    path = tmp_path / "menu.yaml"
    path.write_text("buttons:\n  - name: 目录\n    click: TOC\n  - name: 网页\n    view: '{base_url}/p/'\n", "utf-8")
    body = menu_body(load_menu(path), "https://a.b/")
    assert body == {
        "button": [
            {"type": "click", "name": "目录", "key": "TOC"},
            {"type": "view", "name": "网页", "url": "https://a.b/p/"},
        ]
    }


@pytest.mark.parametrize(
    "text",
    ["buttons: 3\n", "buttons:\n  - name: a\n", "buttons:\n  - name: a\n    click: K\n    view: u\n", ":\n"],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "menu.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(MenuError, match=r"menu\.yaml"):
        load_menu(path)
