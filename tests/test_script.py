"""Simplified and Traditional (posts/script.py): input folded to Simplified, output converted with the pack's
overrides, pages in Traditional with their links, the overrides file loaded and synced with the pack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from posts.catalog import normalize
from posts.loader import default_content_dir, load_catalog
from posts.render import Renderer
from posts.script import (
    Converter,
    ScriptTerms,
    Term,
    converter,
    page_link,
    script_of,
    text_links,
    to_simplified,
)


@pytest.mark.parametrize(
    ("typed", "same_as"),
    [
        ("目錄", "目录"),
        ("幫助", "帮助"),
        ("訂閱 NurOwn", "订阅 NurOwn"),
        ("治癒", "治愈"),
        ("時間線 XS228", "时间线 XS228"),
    ],
)
def test_traditional_input_normalises_like_simplified(typed: str, same_as: str) -> None:
    assert normalize(typed) == normalize(same_as)


def test_simplified_input_is_left_as_it_is() -> None:
    text = "干细胞能治好渐冻症吗？订阅 NurOwn"
    assert to_simplified(text) == text


def test_overrides_keep_names_and_fix_terms() -> None:
    terms = ScriptTerms(
        keep=("士泽生物", "药物临床试验登记与信息公示平台"), terms=(Term("国家药监局", "中國國家藥監局"),)
    )
    found = Converter(terms).to_traditional("士泽生物的试验登记在药物临床试验登记与信息公示平台，由国家药监局审评。")
    assert found == "士泽生物的試驗登記在药物临床试验登记与信息公示平台，由中國國家藥監局審評。"
    assert Converter().to_traditional("士泽生物") == "士澤生物"  # without the override it would be converted
    assert (
        Converter(terms).in_script("干细胞", "s") == "干细胞" and Converter(terms).in_script("干细胞", "t") == "幹細胞"
    )


def test_a_longer_kept_name_wins_over_a_shorter_term() -> None:
    terms = ScriptTerms(keep=("国家药监局药品审评中心",), terms=(Term("国家药监局", "中國國家藥監局"),))
    assert Converter(terms).to_traditional("国家药监局药品审评中心") == "国家药监局药品审评中心"


def test_page_links_in_a_text() -> None:
    text = "1. 进展 https://x.org/p/t/nurown/2025-04-10-ind\n原文：https://other.org/p/a"
    assert text_links(text, "https://x.org", "t") == text.replace("2025-04-10-ind", "2025-04-10-ind?script=t")
    assert text_links(text, "https://x.org", "s") == text


def test_page_links_and_scripts() -> None:
    assert page_link("https://x.org/p/t/nurown", "t") == "https://x.org/p/t/nurown?script=t"
    assert page_link("https://x.org/p/?a=1", "t") == "https://x.org/p/?a=1&script=t"
    assert page_link("https://x.org/p/t/nurown", "s") == "https://x.org/p/t/nurown"
    assert (script_of("t"), script_of("s"), script_of(None), script_of("x")) == ("t", "s", "s", "s")


def test_a_page_in_traditional() -> None:
    catalog, problems = load_catalog(default_content_dir())
    assert problems == []
    html = converter(catalog.script).page(Renderer(catalog).therapy_page("xs228"))
    assert '<html lang="zh-Hant">' in html
    assert '<a href="/p/?script=t">目錄</a>' in html  # the way back keeps the script
    assert 'href="/p/s/clinical-xs228?script=t"' in html
    assert "幹細胞" in html and "干细胞" not in html
    assert all('href="/p/' not in part or "script=t" in part.split('"')[1] for part in html.split("<a ")[1:])


def test_the_pack_overrides_load_and_bad_ones_are_reported(tmp_path: Path) -> None:
    """(The database round trip of the whole catalog, overrides included: tests/test_live_content.py.)"""
    catalog, _ = load_catalog(default_content_dir())
    assert "药物临床试验登记与信息公示平台" in catalog.script.keep
    assert catalog.script.terms == (Term("国家药监局", "中國國家藥監局"),)
    pack = tmp_path / "content"
    shutil.copytree(default_content_dir(), pack)
    for broken, expected in (
        ("keep: [1]\n", "field 'keep' must be a list of non-empty strings"),
        ("terms:\n  - simplified: 干细胞\n", "missing required field 'terms[0].traditional'"),
    ):
        (pack / "script.yaml").write_text(broken, encoding="utf-8")
        found, problems = load_catalog(pack)
        assert [p.message for p in problems if p.path == "script.yaml"] == [expected]
        assert found.script == ScriptTerms() and len(found.sections) == len(catalog.sections)
    (pack / "script.yaml").unlink()  # the file is optional
    found, problems = load_catalog(pack)
    assert problems == [] and found.script == ScriptTerms()
