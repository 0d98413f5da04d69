"""Import rules: posts/ is the core; bot/, scheduler/ and console/ are edges that never import each other."""

from __future__ import annotations

import ast
import re
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


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:`` (annotations only: no import at run time)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            out.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return out


def local_imports(path: Path, package: str) -> set[str]:
    """The modules of ``package`` that ``path`` imports at run time, anywhere in it (a deferred import counts)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(package + "."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == package:
                found.update(f"{package}.{alias.name}" for alias in node.names)
            elif node.module.startswith(package + "."):
                found.add(node.module)
    return found


def import_cycles(root: Path, package: str) -> list[list[str]]:
    """Every cycle of run-time imports between the modules of ``package`` under ``root`` (depth-first search)."""
    modules = {
        ".".join(path.relative_to(root).with_suffix("").parts): path
        for path in (root / package).rglob("*.py")
        if "versions" not in path.parts
    }
    graph = {name: sorted(local_imports(path, package) & set(modules)) for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return cycles


def test_posts_has_no_import_cycle() -> None:
    """No module of posts/ imports back from a module that imports it (posts.schema gathers the tables)."""
    assert import_cycles(ROOT, "posts") == []


def test_the_cycle_finder_sees_deferred_imports_and_ignores_type_checking_ones(tmp_path: Path) -> None:
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyc.b import x\n")
    (pkg / "b.py").write_text("def x():\n    from cyc import a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyc.d import y\n")
    (pkg / "d.py").write_text("import cyc.c\ny = 1\n")
    assert import_cycles(tmp_path, "cyc") == [["cyc.a", "cyc.b", "cyc.a"]]


def test_only_the_wechat_client_spells_api_paths_or_makes_raw_calls() -> None:
    """scheduler/wechat_api.py owns every /cgi-bin path and payload; the rest use its typed calls."""
    problems = []
    owner = ROOT / "scheduler" / "wechat_api.py"
    for package in ("scheduler", "wxbot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == owner:
                continue
            source = path.read_text(encoding="utf-8")
            if "/cgi-bin" in source:
                problems.append(f"{path.relative_to(ROOT)} spells a /cgi-bin path")
            if "api.call(" in source or "._request(" in source:
                problems.append(f"{path.relative_to(ROOT)} makes a raw API call")
    assert problems == []


def test_console_never_calls_wechat_api() -> None:
    """console/ turns what staff ask for into rows of posts/: no WeChat API client, no HTTP client."""
    problems = []
    for path in sorted((ROOT / "console").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for needle in ("WeChatClient", "import requests", "import httpx", "urllib.request", "api_base_url"):
            if needle in source:
                problems.append(f"{path.relative_to(ROOT)} uses {needle}")
    assert problems == []


SQL_WORDS = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|PRAGMA)\b")
DIALECT_NAMES = {"dialect", "get_backend_name", "driver_connection", "exec_driver_sql", "sqlite_writer_engine"}
RAW_MODULES = {"sqlite3", "psycopg", "psycopg2"}


def raw_database_uses(path: Path, root: Path = ROOT) -> list[str]:
    """Raw SQL, dialect sniffing or a DB-API driver in ``path``: SQL string literals, sqlalchemy's ``text``,
    ``dialect``/``get_backend_name``/``driver_connection``/``exec_driver_sql``, and imports of a driver."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(root)
    found = [f"{where} imports {sorted(imports_of(path) & RAW_MODULES)}"] if imports_of(path) & RAW_MODULES else []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_WORDS.match(node.value):
            found.append(f"{where}:{node.lineno}: SQL {node.value[:30]!r}")
        elif isinstance(node, ast.Attribute) and node.attr in DIALECT_NAMES:
            found.append(f"{where}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            found += [f"{where}:{node.lineno}: sqlalchemy.text" for alias in node.names if alias.name == "text"]
    return found


def test_only_the_store_seam_knows_sql_and_dialects() -> None:
    """bot/ persists through bot/store/ (the store the composition root chose): no raw SQL, dialect or driver
    anywhere else in bot/."""
    found = [
        line
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if "store" not in path.relative_to(ROOT / "bot").parts[:1]
        for line in raw_database_uses(path)
    ]
    assert found == []


def test_the_store_guard_sees_raw_sql_and_dialect_sniffing(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""A module that talks to its database directly."""\n'
        "import sqlite3\n"
        "from sqlalchemy import select, text\n"
        "SQL = 'INSERT INTO seen_message VALUES (?)'\n"
        "def f(engine):\n"
        "    return engine.dialect.name, engine.url.get_backend_name()\n",
        encoding="utf-8",
    )
    assert raw_database_uses(sample, tmp_path) == [
        "sample.py imports ['sqlite3']",
        "sample.py:3: sqlalchemy.text",
        "sample.py:4: SQL 'INSERT INTO seen_message VALUE'",
        "sample.py:6: .dialect",
        "sample.py:6: .get_backend_name",
    ]
