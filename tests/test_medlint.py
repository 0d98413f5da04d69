"""`wxbot content check` lints medical content: one fixture pack per rule, each breaking only that rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posts.loader import default_content_dir
from wxbot.cli import app

REAL = default_content_dir()
TODAY = "2026-12-01"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("WXBOT_CONFIG", raising=False)
    monkeypatch.setenv("WXBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def pack_with(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(REAL, pack)
    path = pack / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return pack


def check(run: CliRunner, pack: Path, *extra: str) -> tuple[int, list[str]]:
    result = run.invoke(app, ["content", "check", "--path", str(pack), "--today", TODAY, *extra])
    return result.exit_code, result.output.splitlines()


CLOSING = "review/11-closing.md"
LINE = "我们会继续跟进这些研究，用平实的语言告诉您新的进展——好消息会说，不好的消息也会说。"


def test_the_shipped_pack_passes_the_linter(run: CliRunner) -> None:
    result = run.invoke(app, ["content", "check", "--today", TODAY, "--strict"])
    assert result.exit_code == 0, result.output
    assert "content pack OK" in result.output and "[" not in result.output.splitlines()[-1].split(";")[0]


@pytest.mark.parametrize(
    ("claim", "rule"),
    [
        ("本疗法保证治愈渐冻症。", "banned-claim/cure-guarantee"),
        ("临床总有效率95%。", "banned-claim/cure-rate"),
        ("我用了以后第二天就能走路了。", "banned-claim/testimonial"),
        ("干细胞一针见效。", "banned-claim/instant-effect"),
        ("这种疗法绝对安全。", "banned-claim/safety-guarantee"),
        ("包治百病。", "banned-claim/cure-guarantee"),
        ("输注后无副作用。", "banned-claim/safety-guarantee"),
    ],
)
def test_a_banned_claim_fails_the_check(run: CliRunner, tmp_path: Path, claim: str, rule: str) -> None:
    pack = pack_with(tmp_path, CLOSING, LINE, LINE + claim)
    code, lines = check(run, pack)
    assert code == 1
    assert any(line.startswith(f"{CLOSING}:") and f"[{rule}]" in line for line in lines), lines


@pytest.mark.parametrize(
    "warning",
    [
        "请警惕宣称一针见效的机构。",
        "凡是号称有效率95%的广告都不可信。",
        "没有任何细胞疗法能保证治愈。",
        "“包治百病”“绝对安全”都是骗局的常见说法。",
    ],
)
def test_a_sentence_that_warns_against_a_claim_passes(run: CliRunner, tmp_path: Path, warning: str) -> None:
    pack = pack_with(tmp_path, CLOSING, LINE, LINE + warning)
    code, lines = check(run, pack)
    assert code == 0, lines


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("咨询请拨13912345678。", "contact/phone"),
        ("预约电话见下方。", "contact/booking"),
        ("门诊在北京市海淀区学院路38号。", "contact/address"),
        ("在线登记：https://example.com/booking/als", "contact/booking"),
    ],
)
def test_contact_details_on_a_science_page_fail(run: CliRunner, tmp_path: Path, text: str, rule: str) -> None:
    pack = pack_with(tmp_path, CLOSING, LINE, LINE + text)
    code, lines = check(run, pack)
    assert code == 1
    assert any(line.startswith(f"{CLOSING}:") and f"[{rule}]" in line for line in lines), lines


def test_a_fact_paragraph_without_a_citation_fails(run: CliRunner, tmp_path: Path) -> None:
    rel = "review/08-clinical-str03.md"
    pack = pack_with(tmp_path, rel, "需要注意两点", "2026年3月，该试验已入组80人。\n\n需要注意两点")
    code, lines = check(run, pack)
    assert code == 1
    assert any(line.startswith(f"{rel}:") and "[unsourced-fact]" in line for line in lines), lines


@pytest.mark.parametrize(
    ("rel", "old", "new", "rule"),
    [
        (
            "guide/16-scams.md",
            "看到下面这些危险信号",
            "2026年3月起，某机构已为300人注射。\n\n看到下面这些危险信号",
            "unsourced-fact",
        ),
        (
            "guide/15-cost-and-access.md",
            "先说结论",
            "这家医院的干细胞治疗一针见效。\n\n先说结论",
            "banned-claim/instant-effect",
        ),
        ("guide/19-about-us.md", "**我们不做什么**", "预约电话：13812345678。\n\n**我们不做什么**", "contact/phone"),
    ],
)
def test_the_family_guide_is_linted_like_the_review(
    run: CliRunner, tmp_path: Path, rel: str, old: str, new: str, rule: str
) -> None:
    code, lines = check(run, pack_with(tmp_path, rel, old, new))
    assert code == 1
    assert any(line.startswith(f"{rel}:") and f"[{rule}]" in line for line in lines), lines


def test_the_no_news_finding_needs_no_citation(run: CliRunner, tmp_path: Path) -> None:
    """ "截至<date>（本号）未查到新的公开进展" is the check's own finding, not a fact taken from a source."""
    rel = "guide/16-scams.md"
    for finding in ("截至 2026-12-01 未查到新的公开进展。", "截至 2026-12-01 本号未查到新的公开进展。"):
        pack = pack_with(tmp_path / finding[-12:], rel, "看到下面这些危险信号", f"{finding}\n\n看到下面这些危险信号")
        assert check(run, pack)[0] == 0, finding


def test_a_weak_source_fails_unless_marked_secondary(run: CliRunner, tmp_path: Path) -> None:
    url = "https://finance.yahoo.com/news/neuronata-r-phase-3-results-022800888.html"
    marked = f'  url: "{url}"\n  secondary: true'
    pack = pack_with(tmp_path, "references.yaml", marked, f'  url: "{url}"')
    code, lines = check(run, pack)
    assert code == 1
    assert any(line.startswith("references.yaml:") and "[weak-source]" in line for line in lines), lines
    rel = "therapies/nurown.md"  # a milestone's own mark counts, not that of a reference with the same URL [9]
    veeva = '    source: "https://ctv.veeva.com/study/efficacy-and-safety-of-msc-ntf-nurown-in-participants-with'
    marked = f'{veeva}-early-symptomatic-als-and-moderate-dise"\n    secondary: true\n'
    pack2 = pack_with(tmp_path / "b", rel, marked, marked.replace("    secondary: true\n", ""))
    code, lines = check(run, pack2)
    assert code == 1
    assert any(line.startswith(f"{rel}:") and "[weak-source]" in line for line in lines), lines


def test_an_item_past_its_review_date_warns_from_the_given_clock(run: CliRunner, tmp_path: Path) -> None:
    rel = "therapies/str03.md"
    reviewed = "reviewed_on: 2026-12-01\nnext_review: 2027-03-01"
    pack = pack_with(tmp_path, rel, reviewed, "reviewed_on: 2026-06-01\nnext_review: 2026-11-30")
    code, lines = check(run, pack)
    assert code == 0
    assert any(line.startswith(f"{rel}:") and "warning [review-overdue]" in line for line in lines), lines
    code, lines = check(run, pack, "--strict")
    assert code == 1
    early = run.invoke(app, ["content", "check", "--path", str(pack), "--today", "2026-11-29", "--strict"])
    assert early.exit_code == 0, early.output


def test_review_metadata_is_required(run: CliRunner, tmp_path: Path) -> None:
    rel = "welcome/default.md"
    pack = pack_with(tmp_path, rel, "next_review: 2027-06-01\n", "")
    code, lines = check(run, pack)
    assert code == 1
    assert any(line.startswith(f"{rel}:") and "missing required field 'next_review'" in line for line in lines)


def test_a_bad_today_is_a_clear_error(run: CliRunner) -> None:
    result = run.invoke(app, ["content", "check", "--today", "tomorrow"])
    assert result.exit_code == 2 and "Traceback" not in result.output
