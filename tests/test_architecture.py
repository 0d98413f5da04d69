"""Import rules: posts/ is the core; bot/, scheduler/ and console/ are edges that never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "posts": {"bot", "console", "scheduler", "sandbox", "wxbot", "wechatpy", "apscheduler"},
    "bot": {"console", "scheduler", "sandbox", "wxbot", "apscheduler"},
    "scheduler": {"bot", "console", "sandbox", "wxbot"},
    "sandbox": {"bot", "posts", "scheduler", "wxbot"},
    "console": {"bot", "scheduler", "sandbox", "wxbot", "wechatpy", "requests", "apscheduler"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_packages_respect_the_import_rules() -> None:
    problems = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = imports_of(path) & banned
            if bad:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert problems == []


def test_bot_never_calls_wechat_api() -> None:
    """bot/ answers pushes with database work only: no WeChat API client, no HTTP client."""
    problems = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for needle in ("WeChatClient", "import requests", "import httpx", "urllib.request"):
            if needle in source:
                problems.append(f"{path.relative_to(ROOT)} uses {needle}")
    assert problems == []


def test_every_module_has_a_docstring() -> None:
    missing = []
    for package in ("bot", "console", "posts", "scheduler", "sandbox", "wxbot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "versions" in path.parts or (path.name == "__init__.py" and not path.read_text().strip()):
                continue
            if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_console_never_calls_wechat_api() -> None:
    """console/ turns what staff ask for into rows of posts/: no WeChat API client, no HTTP client."""
    problems = []
    for path in sorted((ROOT / "console").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for needle in ("WeChatClient", "import requests", "import httpx", "urllib.request", "api_base_url"):
            if needle in source:
                problems.append(f"{path.relative_to(ROOT)} uses {needle}")
    assert problems == []
