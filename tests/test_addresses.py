"""posts/addresses.py is the one home of CLICK keys, section groups and page paths."""

from __future__ import annotations

from bot.routes import build_routes
from posts import addresses
from posts.addresses import Click, Page, clicks, parse_page
from posts.loader import default_content_dir, load_catalog
from posts.menu import load_menu, menu_path
from wxbot.commands.menu import FIXED

CATALOG = load_catalog(default_content_dir())[0]


def test_the_routes_answer_exactly_the_keys_it_names() -> None:
    assert build_routes(CATALOG).click_keys == frozenset(clicks(CATALOG))


def test_every_click_of_the_shipped_menu_is_a_named_key() -> None:
    named = clicks(CATALOG)
    menu = load_menu(menu_path(default_content_dir()))
    assert [b.key for b in menu.leaves() if b.kind == "click" and b.key not in named] == []


def test_keys_of_sections_groups_and_therapies() -> None:
    named = clicks(CATALOG)
    assert named["TOC"] == Click("static", "toc")
    assert named["GROUP_GUIDE"] == Click("group", "group", "guide") and "GROUP_COST" not in named
    assert named["SECTION_COST_AND_ACCESS"] == Click("section", "section", "cost-and-access")
    assert named["THERAPY_NEURONATA_R_TIMELINE"] == Click("therapy", "timeline", "neuronata-r")
    groups = {addresses.section_group(s.key, s.part) for s in CATALOG.sections}
    assert groups == {s.group for s in CATALOG.sections} and addresses.GUIDE_PART in groups
    assert addresses.section_group("cost-and-access", addresses.GUIDE_PART) == addresses.GUIDE_PART
    assert {c.target for c in named.values() if c.kind == "group"} == groups
    assert set(FIXED) == set(addresses.STATIC_CLICKS.values())  # `wxbot menu show` describes every fixed key


def test_page_paths_read_back() -> None:
    assert parse_page(addresses.INDEX_PATH) == Page("index")
    assert parse_page(addresses.section_path("outlook")) == Page("section", ("outlook",))
    assert parse_page(addresses.group_path("research")) == Page("group", ("research",))
    assert parse_page(addresses.therapy_path("xs228")) == Page("therapy", ("xs228",))
    assert parse_page(addresses.update_path("nurown", "2025-04-10-ind")) == Page("update", ("nurown", "2025-04-10-ind"))
    assert parse_page("/p/x/1") is None and parse_page("/p/t/a/b/c") is None
