"""The content loader: every kind of bad file is reported with path and line, and skipped; the real pack is valid."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from posts.catalog import Catalog
from posts.loader import Problem, default_content_dir, load_catalog
from posts.textchecks import CURE_WORDS, cure_promises

REAL = default_content_dir()
SECTION_KEYS = [
    "opening",
    "research-protection",
    "research-models",
    "research-precision",
    "clinical-nurown",
    "clinical-neuronata-r",
    "clinical-xs228",
    "clinical-str03",
    "clinical-summary",
    "outlook",
    "closing",
    "references",
    "disclaimer",
]
GUIDE_KEYS = ["trials", "cost-and-access", "scams", "care-now", "glossary", "about-us", "procedure-risks"]
"""The family guide (guide/), numbered after the review."""
ALL_SECTION_KEYS = [*SECTION_KEYS, *GUIDE_KEYS]
THERAPY_KEYS = {"nurown", "neuronata-r", "xs228", "str03"}
REFERENCE_IDS = list(range(1, 23))


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(REAL, root)
    return root


def edit(pack: Path, rel: str, old: str, new: str) -> int:
    """Replace ``old`` (exactly once) in a pack file; return the 1-based line where it was."""
    path = pack / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def load(pack: Path) -> tuple[Catalog, list[Problem]]:
    return load_catalog(pack)


def only(problems: list[Problem], path: str | None = None) -> Problem:
    """The one problem (about ``path`` when given; other files may report knock-on problems)."""
    problems = [p for p in problems if path is None or p.path == path]
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def assert_rest_loaded(catalog: Catalog, sections: int = len(ALL_SECTION_KEYS), therapies: int = 4) -> None:
    assert len(catalog.sections) == sections
    assert len(catalog.therapies) == therapies
    assert len(catalog.references) == len(REFERENCE_IDS)
    assert catalog.help is not None and catalog.disclaimer is not None
    assert "default" in catalog.welcomes


# ----- the real pack ------------------------------------------------------------------------------------------


def test_real_pack_loads_without_problems() -> None:
    catalog, problems = load_catalog(REAL)
    assert [str(p) for p in problems if p.path.startswith("guide/")] == []
    assert [s.key for s in catalog.sections] == ALL_SECTION_KEYS
    assert [s.order for s in catalog.sections] == list(range(1, len(ALL_SECTION_KEYS) + 1))
    assert [s.key for s in catalog.guide] == GUIDE_KEYS and all(s.path.startswith("guide/") for s in catalog.guide)
    assert set(catalog.therapies) == THERAPY_KEYS


def test_real_pack_references_have_urls() -> None:
    catalog, _ = load_catalog(REAL)
    assert sorted(catalog.references) == REFERENCE_IDS
    assert all(r.url.startswith(("http://", "https://")) for r in catalog.references.values())


def test_real_pack_nurown_record() -> None:
    catalog, _ = load_catalog(REAL)
    nurown = catalog.therapy("nurown")
    assert nurown is not None
    assert nurown.developer == "BrainStorm Cell Therapeutics"
    assert any(m.date == "2025-04-10" for m in nurown.milestones)
    assert "200" in nurown.enrolment
    assert "24周" in nurown.design and "双盲" in nurown.design and "安慰剂" in nurown.design
    assert "三剂" in nurown.design and "开放标签" in nurown.design
    assert "A部分" in nurown.design and "B部分" in nurown.design
    assert any("ALSFRS-R" in e and "主要终点" in e for e in nurown.endpoints)
    assert nurown.section == "clinical-nurown"


def test_real_pack_other_therapies() -> None:
    catalog, _ = load_catalog(REAL)
    neuronata = catalog.therapies["neuronata-r"]
    assert "骨髓" in neuronata.cell_source and "自体" in neuronata.cell_source
    assert "间充质" in neuronata.cell_type
    assert "115" in neuronata.enrolment
    assert "ALSUMMIT" in neuronata.design + neuronata.body + neuronata.enrolment
    assert "106" in catalog.therapies["str03"].enrolment
    xs228 = catalog.therapies["xs228"]
    assert any(m.date.startswith("2025-09") and "首例" in m.event for m in xs228.milestones)
    assert xs228.latest is not None and xs228.latest.date == date(2025, 9, 15)


def test_real_pack_updates_newest_first() -> None:
    catalog, _ = load_catalog(REAL)
    for therapy in catalog.therapies.values():
        assert therapy.updates, therapy.key
        dates = [u.date for u in therapy.updates]
        assert dates == sorted(dates, reverse=True)


def test_real_pack_scenes_keywords_and_welcomes() -> None:
    catalog, _ = load_catalog(REAL)
    assert {"default", "clinic-poster", "article-link", *THERAPY_KEYS} <= set(catalog.welcomes)
    assert all(s.welcome in catalog.welcomes for s in catalog.scenes.values())
    assert catalog.keywords
    rule = catalog.match_keyword("目录")
    assert rule is not None and rule.ref == "toc"


def follower_texts(catalog: Catalog) -> list[tuple[str, str]]:
    """Every text a follower can read (keyword patterns are what followers type, not what we say)."""
    out: list[tuple[str, str]] = []
    for s in catalog.sections:
        out += [(s.path, s.title), (s.path, s.summary), (s.path, s.body)]
    for t in catalog.therapies.values():
        fields = [t.name, t.phase, t.design, t.enrolment, t.status, t.body, *t.endpoints]
        out += [(t.path, f) for f in fields] + [(t.path, m.event) for m in t.milestones]
        out += [(u.path, text) for u in t.updates for text in (u.title, u.body)]
    for text in [*catalog.welcomes.values(), catalog.help, catalog.disclaimer]:
        assert text is not None
        out += [(text.path, text.title), (text.path, text.body)]
    out += [("keywords.yaml", r.reply) for r in catalog.keywords if r.reply]
    out += [("scenes.yaml", s.purpose) for s in catalog.scenes.values()]
    return out


def test_real_pack_never_promises_a_cure() -> None:
    catalog, problems = load_catalog(REAL)
    assert not [p for p in problems if "promises a cure" in p.message]
    offending = [(path, sentence) for path, text in follower_texts(catalog) for _, sentence in cure_promises(text)]
    assert offending == []


def test_cure_rule_accepts_negated_sentences_only() -> None:
    assert list(cure_promises("干细胞目前不能治愈渐冻症。")) == []
    assert list(cure_promises("尚未有疗法根治。并非痊愈。")) == []
    for word in CURE_WORDS:
        assert [s for _, s in cure_promises(f"好消息！干细胞可以{word}渐冻症。")] == [f"干细胞可以{word}渐冻症"]


# ----- one bad file at a time -----------------------------------------------------------------------------


def test_unparseable_front_matter(pack: Path) -> None:
    line = edit(pack, "therapies/str03.md", "country: ", 'country: "unterminated\nx: [')
    catalog, problems = load(pack)
    problem = next(p for p in problems if p.path == "therapies/str03.md")
    assert "not valid YAML" in problem.message
    assert problem.line >= line
    assert "str03" not in catalog.therapies
    assert {"nurown", "neuronata-r", "xs228"} <= set(catalog.therapies)


def test_unparseable_yaml_file(pack: Path) -> None:
    (pack / "scenes.yaml").write_text("- key: a\n  purpose: [unclosed\n", encoding="utf-8")
    catalog, problems = load(pack)
    problem = only(problems)
    assert (problem.path, problem.line) == ("scenes.yaml", 3)
    assert "not valid YAML" in problem.message
    assert catalog.scenes == {}
    assert_rest_loaded(catalog)


def test_missing_front_matter(pack: Path) -> None:
    (pack / "welcome/clinic-poster.md").write_text("just text\n", encoding="utf-8")
    catalog, problems = load(pack)
    problems = [p for p in problems if p.path == "welcome/clinic-poster.md"]
    assert str(only(problems)).startswith("welcome/clinic-poster.md:1: missing front matter")
    assert "clinic-poster" not in catalog.welcomes and "default" in catalog.welcomes


def test_missing_required_field(pack: Path) -> None:
    edit(pack, "review/03-research-models.md", 'summary: "芯片模型', 'x_summary: "芯片模型')
    catalog, problems = load(pack)
    messages = {(p.path, p.line, p.message) for p in problems}
    assert ("review/03-research-models.md", 1, "missing required field 'summary'") in messages
    assert catalog.section("research-models") is None
    assert_rest_loaded(catalog, sections=len(ALL_SECTION_KEYS) - 1)


def test_unknown_field(pack: Path) -> None:
    line = edit(pack, "review/04-research-precision.md", "updated: ", "upated: ")
    catalog, problems = load(pack)
    first = problems[0]
    assert first.path == "review/04-research-precision.md"
    assert any(p.line == line and p.message.startswith("unknown field 'upated'") for p in problems)
    assert catalog.section("research-precision") is None
    assert_rest_loaded(catalog, sections=len(ALL_SECTION_KEYS) - 1)


def test_wrong_type(pack: Path) -> None:
    line = edit(pack, "review/10-outlook.md", "order: 10", "order: ten")
    catalog, problems = load(pack)
    assert str(only(problems)) == f"review/10-outlook.md:{line}: field 'order' must be an integer, got str"
    assert catalog.section("outlook") is None
    assert_rest_loaded(catalog, sections=len(ALL_SECTION_KEYS) - 1)


def test_wrong_type_in_list(pack: Path) -> None:
    line = edit(pack, "therapies/nurown.md", "sources: [4, 8, 9]", 'sources: ["four", 8, 9]')
    _, problems = load(pack)
    assert only(problems, "therapies/nurown.md").line == line
    assert "reference ids" in only(problems, "therapies/nurown.md").message
    # what pointed at the skipped therapy is reported too, never silently dropped
    assert any(p.path == "review/05-clinical-nurown.md" and "unknown therapy" in p.message for p in problems)


def test_bad_date_unquoted(pack: Path) -> None:
    line = edit(pack, "updates/xs228/2025-09-15-first-dosing.md", "date: 2025-09-15", "date: 2025-13-45")
    catalog, problems = load(pack)
    assert str(only(problems)) == f"updates/xs228/2025-09-15-first-dosing.md:{line}: bad date '2025-13-45'"
    assert [u.key for u in catalog.therapies["xs228"].updates] == ["2025-06-04-trial-clearances"]
    assert_rest_loaded(catalog)


def test_bad_date_string(pack: Path) -> None:
    line = edit(pack, "references.yaml", 'date: "2025-04-10"', 'date: "April 2025"')
    catalog, problems = load(pack)
    assert any(p.path == "references.yaml" and p.line == line and "not a valid date" in p.message for p in problems)
    assert 4 not in catalog.references and len(catalog.references) == len(REFERENCE_IDS) - 1


def test_malformed_url(pack: Path) -> None:
    line = edit(pack, "references.yaml", 'url: "https://www.nature.com/', 'url: "htps//www.nature.com/')
    catalog, problems = load(pack)
    ref_problem = next(p for p in problems if p.path == "references.yaml")
    assert ref_problem.line == line
    assert "not a valid http(s) URL" in ref_problem.message
    assert 3 not in catalog.references
    # the sections citing [3] are now dangling and skipped; everything else loads
    assert catalog.section("opening") is not None


def test_malformed_milestone_url(pack: Path) -> None:
    text = (pack / "therapies/nurown.md").read_text(encoding="utf-8")
    url = "https://practicalneurology.com/news/fda-to-hold-advisory-committee-meeting-to-discuss-potential-stem-cell-therapy-for-als/2470210/"
    assert url in text
    line = edit(pack, "therapies/nurown.md", f'source: "{url}"', 'source: "practicalneurology.com/news"')
    catalog, problems = load(pack)
    problem = next(p for p in problems if p.path == "therapies/nurown.md")
    assert problem.line == line
    assert "milestones.[0].source" in problem.message or "source" in problem.message
    assert "nurown" not in catalog.therapies


def test_unknown_therapy_in_update(pack: Path) -> None:
    folder = pack / "updates/ghost"
    folder.mkdir()
    shutil.copy(pack / "updates/str03/2025-07-24-phase2-news.md", folder / "2025-07-24-phase2-news.md")
    line = edit(pack, "updates/ghost/2025-07-24-phase2-news.md", "therapy: str03", "therapy: ghost")
    catalog, problems = load(pack)
    assert str(only(problems)) == f"updates/ghost/2025-07-24-phase2-news.md:{line}: unknown therapy 'ghost'"
    assert len(catalog.therapies["str03"].updates) == 1


def test_update_therapy_not_matching_folder(pack: Path) -> None:
    line = edit(pack, "updates/str03/2025-07-24-phase2-news.md", "therapy: str03", "therapy: nurown")
    catalog, problems = load(pack)
    assert (only(problems).line, "does not match its folder" in only(problems).message) == (line, True)
    assert catalog.therapies["str03"].updates == ()


def test_unknown_therapy_in_scene(pack: Path) -> None:
    line = edit(pack, "scenes.yaml", "  therapy: str03", "  therapy: str04")
    catalog, problems = load(pack)
    assert str(only(problems)) == f"scenes.yaml:{line}: unknown therapy 'str04'"
    assert "therapy-str03" not in catalog.scenes and "therapy-xs228" in catalog.scenes


def test_unknown_therapy_in_section(pack: Path) -> None:
    line = edit(pack, "review/08-clinical-str03.md", "therapy: str03", "therapy: str3")
    catalog, problems = load(pack)
    assert f"review/08-clinical-str03.md:{line}: unknown therapy 'str3'" in [str(p) for p in problems]
    assert catalog.section("clinical-str03") is None
    # the therapy has lost its menu entry: reported on the therapy card
    assert any(p.path == "therapies/str03.md" and "menu-less therapy" in p.message for p in problems)


def test_unknown_therapy_in_keyword_ref(pack: Path) -> None:
    line = edit(pack, "keywords.yaml", "ref: therapy:str03", "ref: therapy:str33")
    catalog, problems = load(pack)
    assert str(only(problems)) == f"keywords.yaml:{line}: unknown therapy 'str33' in keyword ref"
    assert len(catalog.keywords) == len(load_catalog(REAL)[0].keywords) - 1


def test_keyword_ref_to_missing_section(pack: Path) -> None:
    line = edit(pack, "keywords.yaml", "ref: section:references", "ref: section:sources")
    catalog, problems = load(pack)
    assert str(only(problems)) == f"keywords.yaml:{line}: keyword ref to a missing section 'sources'"
    assert len(catalog.keywords) == len(load_catalog(REAL)[0].keywords) - 1


def test_keyword_with_reply_and_ref(pack: Path) -> None:
    line = edit(pack, "keywords.yaml", "  ref: toc\n", "  ref: toc\n  reply: 目录在此\n")
    _, problems = load(pack)
    assert (only(problems).line, only(problems).message) == (
        line - 2,
        "a keyword rule needs exactly one of 'reply' or 'ref'",
    )


def test_title_over_byte_limit(pack: Path) -> None:
    long_title = "很长的标题" * 5  # 75 bytes
    line = edit(
        pack, "review/02-research-protection.md", 'title: "基础研究①：从“替换”到“保护”"', f"title: {long_title}"
    )
    catalog, problems = load(pack)
    assert str(only(problems)) == (
        f"review/02-research-protection.md:{line}: field 'title' is 75 UTF-8 bytes, over the limit of 64"
    )
    assert_rest_loaded(catalog, sections=len(ALL_SECTION_KEYS) - 1)


def test_summary_over_byte_limit(pack: Path) -> None:
    line = edit(pack, "review/11-closing.md", "summary: ", "summary: 很长很长很长很长很长很长很长很长很长很长很长很长")
    _, problems = load(pack)
    assert only(problems).line == line
    assert "field 'summary' is" in only(problems).message and "limit of 120" in only(problems).message


def test_update_title_over_byte_limit(pack: Path) -> None:
    line = edit(pack, "updates/nurown/2025-04-10-ind-amendment.md", "title: ", "title: 非常非常非常非常非常长的")
    _, problems = load(pack)
    assert only(problems).line == line and "limit of 64" in only(problems).message


def test_cited_reference_not_in_references(pack: Path) -> None:
    text = (pack / "review/02-research-protection.md").read_text(encoding="utf-8")
    body_line = text.split("\n").index("目前的证据（主要来自动物模型和细胞实验）指向三条途径[1]：") + 1
    edit(pack, "review/02-research-protection.md", "指向三条途径[1]", "指向三条途径[99]")
    catalog, problems = load(pack)
    assert (
        str(only(problems))
        == f"review/02-research-protection.md:{body_line}: cites [99], which is not in references.yaml"
    )
    assert catalog.section("research-protection") is None
    assert_rest_loaded(catalog, sections=len(ALL_SECTION_KEYS) - 1)


def test_sources_id_not_in_references(pack: Path) -> None:
    line = edit(pack, "updates/str03/2025-07-24-phase2-news.md", "sources: [7]", "sources: [7, 99]")
    _, problems = load(pack)
    assert str(only(problems)) == (
        f"updates/str03/2025-07-24-phase2-news.md:{line}: sources lists [99], which is not in references.yaml"
    )


def test_cited_but_not_listed_in_sources(pack: Path) -> None:
    edit(pack, "review/03-research-models.md", "sources: [2, 3]", "sources: [2]")
    _, problems = load(pack)
    assert problems
    assert all(p.path == "review/03-research-models.md" for p in problems)
    assert all(p.message == "cites [3] but 'sources' does not list it" for p in problems)
    assert all(p.line > 8 for p in problems)  # lines in the body


def test_listed_but_never_cited_in_a_section(pack: Path) -> None:
    line = edit(pack, "review/04-research-precision.md", "sources: [3]", "sources: [3, 5]")
    _, problems = load(pack)
    assert (
        str(only(problems)) == f"review/04-research-precision.md:{line}: sources lists [5] but the body never cites it"
    )


def test_listed_but_never_cited_in_a_therapy_card(pack: Path) -> None:
    line = edit(pack, "therapies/str03.md", "sources: [7]", "sources: [6, 7]")
    catalog, problems = load(pack)
    assert (
        str(only(problems, "therapies/str03.md"))
        == f"therapies/str03.md:{line}: sources lists [6] but the body never cites it"
    )
    assert "str03" not in catalog.therapies


def test_duplicate_section_order(pack: Path) -> None:
    shutil.move(pack / "review/10-outlook.md", pack / "review/09-outlook.md")
    edit(pack, "review/09-outlook.md", "order: 10", "order: 9")
    catalog, problems = load(pack)
    problem = only(problems)
    assert (problem.path, problem.line) == ("review/09-outlook.md", 1)
    assert problem.message.startswith("duplicate section order 9")
    assert catalog.section("outlook") is None and catalog.section("clinical-summary") is not None


def test_duplicate_section_key(pack: Path) -> None:
    shutil.copy(pack / "review/11-closing.md", pack / "review/14-closing.md")
    edit(pack, "review/14-closing.md", "order: 11", "order: 14")
    catalog, problems = load(pack)
    assert str(only(problems)).startswith("review/14-closing.md:1: duplicate section key 'closing'")
    assert len(catalog.sections) == len(ALL_SECTION_KEYS)


def test_duplicate_reference_id(pack: Path) -> None:
    line = edit(pack, "references.yaml", "- id: 7", "- id: 6")
    catalog, problems = load(pack)
    assert any(str(p) == f"references.yaml:{line}: duplicate reference id 6" for p in problems)
    assert 7 not in catalog.references


def test_duplicate_scene_key(pack: Path) -> None:
    line = edit(pack, "scenes.yaml", "- key: article-link", "- key: clinic-poster")
    catalog, problems = load(pack)
    assert str(only(problems)) == f"scenes.yaml:{line}: duplicate scene key 'clinic-poster'"
    assert len(catalog.scenes) == len(load(default_content_dir())[0].scenes) - 1


def test_scene_pointing_to_missing_welcome(pack: Path) -> None:
    line = edit(pack, "scenes.yaml", "  welcome: article-link", "  welcome: article")
    catalog, problems = load(pack)
    assert str(only(problems)) == f"scenes.yaml:{line}: scene points to a missing welcome 'article'"
    assert "article-link" not in catalog.scenes and "clinic-poster" in catalog.scenes


def test_menu_less_therapy_section(pack: Path) -> None:
    line = edit(pack, "therapies/xs228.md", "section: clinical-xs228", "section: clinical-xs")
    catalog, problems = load(pack)
    problem = only(problems, "therapies/xs228.md")
    assert str(problem) == f"therapies/xs228.md:{line}: menu-less therapy: section 'clinical-xs' does not exist"
    assert "therapy 'xs228' names section 'clinical-xs'" in only(problems, "review/07-clinical-xs228.md").message
    assert "xs228" in catalog.therapies


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("welcome/default.md", "welcome/default.md:1: missing required text: the default welcome"),
        ("help.md", "help.md:1: missing required text: help.md"),
        ("disclaimer.md", "disclaimer.md:1: missing required text: disclaimer.md"),
    ],
)
def test_missing_required_text(pack: Path, rel: str, expected: str) -> None:
    (pack / rel).unlink()
    catalog, problems = load(pack)
    assert str(only(problems)) == expected
    assert len(catalog.sections) == len(ALL_SECTION_KEYS) and len(catalog.therapies) == 4


def test_cure_promise_is_a_problem(pack: Path) -> None:
    line = edit(pack, "welcome/nurown.md", "有经过核实的新消息时", "NurOwn有望治愈渐冻症！有经过核实的新消息时")
    catalog, problems = load(pack)
    assert only(problems, "welcome/nurown.md").line == line
    assert only(problems, "welcome/nurown.md").message.startswith("promises a cure")
    assert "nurown" not in catalog.welcomes and "default" in catalog.welcomes


def test_cure_promise_in_yaml_reply(pack: Path) -> None:
    line = edit(pack, "keywords.yaml", 'reply: "您好，我在。', 'reply: "您好，干细胞能根治渐冻症。')
    _, problems = load(pack)
    assert (only(problems).path, only(problems).line) == ("keywords.yaml", line)
    assert "promises a cure" in only(problems).message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary", "not valid UTF-8"),
        (b"", "missing front matter"),
        (b"---\n---\nbody\n", "front matter is empty"),
        (b"---\nkey: x\n", "front matter is not closed"),
        (b"---\n- a\n- b\n---\nbody\n", "front matter must be a mapping"),
        (b"---\na: &x [1]\nb: *x\n---\n", "YAML aliases"),
        (b"---\nkey: " + b"[" * 5000 + b"\n---\n", ""),
        (b"---\n!!python/object:os.system\n---\n", "not valid YAML"),
    ],
)
def test_hostile_input_never_crashes(pack: Path, content: bytes, message: str) -> None:
    (pack / "therapies/str03.md").write_bytes(content)
    catalog, problems = load(pack)
    str03 = [p for p in problems if p.path == "therapies/str03.md"]
    assert str03 and message in str03[0].message
    assert {"nurown", "neuronata-r", "xs228"} <= set(catalog.therapies)


def test_a_directory_where_a_file_should_be(pack: Path) -> None:
    (pack / "welcome/odd.md").mkdir()
    catalog, problems = load(pack)
    assert only(problems).path == "welcome/odd.md" and "cannot be read" in only(problems).message
    assert_rest_loaded(catalog)


def test_missing_pack_folder(tmp_path: Path) -> None:
    catalog, problems = load_catalog(tmp_path / "nowhere")
    assert "content pack folder not found" in only(problems).message
    assert catalog.sections == ()


def test_problem_str_and_default_dir(tmp_path: Path) -> None:
    assert str(Problem("review/01-opening.md", 3, "bad")) == "review/01-opening.md:3: bad"
    assert default_content_dir() == REAL and REAL.name == "content"
    assert default_content_dir(str(tmp_path)) == tmp_path
    assert default_content_dir("") == REAL


# ----- the family guide: its own folder and part, numbered after the review -----------------------------------------


def test_a_guide_section_numbered_inside_the_review_is_refused(pack: Path) -> None:
    (pack / "guide/14-trials.md").rename(pack / "guide/05-trials.md")
    edit(pack, "guide/05-trials.md", "order: 14", "order: 5")
    catalog, problems = load(pack)
    messages = [str(p) for p in problems]
    assert "guide/05-trials.md:1: duplicate section order 5 (also in review/05-clinical-nurown.md)" in messages
    assert catalog.section("trials") is None and catalog.section("clinical-nurown") is not None


def test_a_guide_section_may_not_precede_the_review(pack: Path) -> None:
    (pack / "review/13-disclaimer.md").rename(pack / "review/21-disclaimer.md")
    edit(pack, "review/21-disclaimer.md", "order: 13", "order: 21")
    catalog, problems = load(pack)
    assert [str(p) for p in problems if p.path.startswith("guide/")] == [
        f"guide/{n}-{k}.md:3: order {n}: the guide sections come after 21"
        for n, k in zip(range(14, 21), GUIDE_KEYS, strict=True)
    ]
    assert catalog.guide == ()


def test_a_guide_section_takes_no_therapy(pack: Path) -> None:
    line = edit(pack, "guide/15-cost-and-access.md", "sources: [6, 18, 21]", "sources: [6, 18, 21]\ntherapy: xs228")
    catalog, problems = load(pack)
    message = (
        f"guide/15-cost-and-access.md:{line + 1}: a guide section takes no 'therapy' (only the review's sections do)"
    )
    assert str(only(problems, "guide/15-cost-and-access.md")) == message  # (and its keyword rules, knock-on)
    assert catalog.section("cost-and-access") is None
    assert_rest_loaded(catalog, sections=len(ALL_SECTION_KEYS) - 1)


def test_a_section_key_used_in_both_parts_is_a_duplicate(pack: Path) -> None:
    edit(pack, "guide/16-scams.md", "key: scams", "key: outlook")
    (pack / "guide/16-scams.md").rename(pack / "guide/16-outlook.md")
    catalog, problems = load(pack)
    message = "guide/16-outlook.md:1: duplicate section key 'outlook' (also in review/10-outlook.md)"
    assert str(only(problems, "guide/16-outlook.md")) == message  # (and the keyword rules of scams, knock-on)
    outlook = catalog.section("outlook")
    assert outlook is not None and outlook.part == "review"
    assert [s.key for s in catalog.guide] == [k for k in GUIDE_KEYS if k != "scams"]
