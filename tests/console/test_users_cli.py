"""`wxbot users`: add, list, disable, reset-password; the password is prompted, never an argument."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from posts import accounts, db
from posts.clock import system_clock
from posts.settings import load_settings
from wxbot.cli import app

GOOD = "a long enough password"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("WXBOT_CONFIG", raising=False)
    monkeypatch.setenv("WXBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def test_add_list_disable_reset(run: CliRunner, tmp_path: Path) -> None:
    added = run.invoke(
        app, ["users", "add", "wang", "--role", "reviewer", "--name", "王医生"], input=f"{GOOD}\n{GOOD}\n"
    )
    assert added.exit_code == 0, added.output
    assert GOOD not in added.output and "user wang added (reviewer)" in added.output
    listed = run.invoke(app, ["users", "list"])
    assert "wang" in listed.output and "王医生" in listed.output and "active" in listed.output
    differ = run.invoke(app, ["users", "add", "li", "--role", "editor"], input=f"{GOOD}\nsomething else\n")
    assert differ.exit_code == 2 and "differ" in differ.output
    short = run.invoke(app, ["users", "add", "li", "--role", "editor"], input="short\nshort\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    role = run.invoke(app, ["users", "add", "li", "--role", "boss"])
    assert role.exit_code == 2 and "unknown role" in role.output and "Traceback" not in role.output
    assert "--password" not in run.invoke(app, ["users", "add", "--help"]).output
    engine = db.make_engine(load_settings(env={"WXBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}).database.url)
    rules = load_settings(env={}).console
    sessions = db.session_factory(engine)
    with sessions() as session:
        for n in range(5):
            with pytest.raises(accounts.AccountError):
                accounts.sign_in(session, "wang", f"wrong {n}", "10.0.0.1", now=system_clock(), rules=rules)
        session.commit()
    assert "locked" in run.invoke(app, ["users", "list"]).output
    new = "another long password"
    reset = run.invoke(app, ["users", "reset-password", "wang"], input=f"{new}\n{new}\n")
    assert reset.exit_code == 0 and "unlocked" in reset.output
    with sessions() as session:
        assert (
            accounts.sign_in(session, "wang", new, "10.0.0.1", now=system_clock(), rules=rules).user.username == "wang"
        )
        session.commit()
    disabled = run.invoke(app, ["users", "disable", "wang"])
    assert disabled.exit_code == 0
    assert "disabled" in run.invoke(app, ["users", "list"]).output
    missing = run.invoke(app, ["users", "disable", "nobody"])
    assert missing.exit_code == 2 and "no user 'nobody'" in missing.output
    engine.dispose()
