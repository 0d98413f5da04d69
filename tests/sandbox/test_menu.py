"""Menu create/get/delete and WeChat's validation codes (byte limits, counts, types)."""

from __future__ import annotations

import pytest

from .conftest import Sandbox

GOOD = {
    "button": [
        {"type": "click", "name": "疗法速览", "key": "THERAPY"},
        {
            "name": "更多",
            "sub_button": [
                {"type": "view", "name": "官网", "url": "https://example.org/"},
                {"type": "scancode_push", "name": "扫一扫", "key": "SCAN"},
            ],
        },
    ]
}


def test_create_get_delete_roundtrip(sbx: Sandbox) -> None:
    assert sbx.api.get("menu/get")["errcode"] == 46003
    assert sbx.api.post("menu/create", GOOD)["errcode"] == 0
    got = sbx.api.get("menu/get")["menu"]
    assert got["menuid"] > 0
    assert got["button"][0] == {"type": "click", "name": "疗法速览", "key": "THERAPY", "sub_button": []}
    assert [b["name"] for b in got["button"][1]["sub_button"]] == ["官网", "扫一扫"]
    assert sbx.platform.menu() == got["button"]
    info = sbx.api.get("get_current_selfmenu_info")
    assert info["is_menu_open"] == 1
    assert info["selfmenu_info"]["button"][1]["sub_button"]["list"][0]["url"] == "https://example.org/"
    assert sbx.api.get("menu/delete")["errcode"] == 0
    assert sbx.api.get("menu/get")["errcode"] == 46003
    assert sbx.platform.menu() is None


def click(name: str = "A", key: str = "K") -> dict:
    return {"type": "click", "name": name, "key": key}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"button": []}, 40016),
        ({"button": [click()] * 4}, 40016),
        ({"button": [{"type": "bogus", "name": "A", "key": "K"}]}, 40017),
        ({"button": [click("一二三四五六")]}, 40018),  # 18 bytes > 16
        ({"button": [click("")]}, 40018),
        ({"button": [click(key="k" * 129)]}, 40019),
        ({"button": [{"type": "click", "name": "A"}]}, 40019),
        ({"button": [{"type": "view", "name": "A"}]}, 40020),
        ({"button": [{"type": "view", "name": "A", "url": "https://x/" + "a" * 1100}]}, 40020),
        ({"button": [{"name": "M", "sub_button": [click()] * 6}]}, 40023),
        ({"button": [{"name": "M", "sub_button": [{"type": "nope", "name": "A"}]}]}, 40024),
        ({"button": [{"name": "M", "sub_button": [click("长" * 21)]}]}, 40025),  # 63 bytes > 60
        ({"button": [{"name": "M", "sub_button": [click(key="k" * 129)]}]}, 40026),
        ({"button": [{"name": "M", "sub_button": [{"type": "view", "name": "A", "url": ""}]}]}, 40027),
    ],
)
def test_validation_codes(sbx: Sandbox, body: dict, code: int) -> None:
    answer = sbx.api.post("menu/create", body)
    assert answer["errcode"] == code, answer
    assert sbx.platform.menu() is None


def test_limits_are_inclusive(sbx: Sandbox) -> None:
    five_chinese = "一二三四五"  # 15 bytes
    subs = [click("长" * 20, f"K{i}") for i in range(5)]  # 60 bytes each
    body = {"button": [click(five_chinese, "k" * 128), {"name": "M", "sub_button": subs}, click("C", "C")]}
    assert sbx.api.post("menu/create", body)["errcode"] == 0


def test_menu_requires_post(sbx: Sandbox) -> None:
    assert sbx.api.get("menu/create")["errcode"] == 43002
