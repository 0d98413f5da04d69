"""Each follower-facing word has one home: content and template files, rendered by the one Jinja environment."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "console", "posts", "scheduler", "wxbot")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # attribute docstrings
            found.add(id(node.value))
    return found


def cjk_literals(path: Path, root: Path = ROOT) -> list[str]:
    """Every string literal of ``path`` holding a Chinese character, docstrings aside (f-strings included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docs = _docstrings(tree)
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and CJK.search(node.value)
    ]


def test_no_follower_facing_string_literal_in_bot() -> None:
    found = [line for path in sorted((ROOT / "bot").rglob("*.py")) for line in cjk_literals(path)]
    assert found == []


def test_the_guard_sees_a_chinese_literal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Doc: 目录 is fine here."""\n\nTITLE = f"{1} 时间线"\n', encoding="utf-8")
    assert cjk_literals(sample, tmp_path) == ["sample.py:3: ' 时间线'"]


def test_one_jinja_environment() -> None:
    makers = [
        str(path.relative_to(ROOT))
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("Environment", "Template")
    ]
    assert makers == ["posts/render.py"]


def test_the_footer_is_added_in_one_place() -> None:
    """No template includes the footer: posts.render.Renderer.close adds it, so it is always last (and chosen by
    one rule, full or one-line)."""
    folder = ROOT / "posts" / "templates" / "text"
    including = [p.name for p in sorted(folder.rglob("*.txt.j2")) if "_footer" in p.read_text(encoding="utf-8")]
    assert including == []
    users = [
        str(path.relative_to(ROOT))
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "_footer.txt.j2" in path.read_text(encoding="utf-8")
    ]
    assert users == ["posts/render.py"]


def test_every_template_and_page_is_in_the_one_environment() -> None:
    """No page or template file lives outside the one environment's folders (posts/templates/, and the console's
    console/templates/ on the same loader), where code would have to read it itself (a 404 page read from a file,
    outside the one look and footer)."""
    stray = [
        str(path.relative_to(ROOT))
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*"))
        if path.suffix in (".html", ".htm", ".j2", ".jinja", ".jinja2")
        and not path.is_relative_to(ROOT / "posts" / "templates")
        and not path.is_relative_to(ROOT / "console" / "templates")
    ]
    assert stray == []
    assert not (ROOT / "bot" / "templates" / "_footer.txt.j2").exists()
