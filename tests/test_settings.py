"""Settings: defaults, file, environment overrides, and one-line errors naming key and file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from posts.settings import SettingsError, load_settings, setting_keys

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_without_any_file() -> None:
    s = load_settings(env={})
    assert s.database.url == "sqlite:///var/wxbot.db"
    assert s.scheduler.timezone == "Asia/Shanghai"
    assert s.wechat.configured is False
    assert s.server.base_url == "http://127.0.0.1:8080"
    assert s.source == "<defaults>"


def test_file_from_env_variable_and_values(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = 9000\npublic_base_url = "https://als.example.org/"\n')
    s = load_settings(env={"WXBOT_CONFIG": str(path)})
    assert s.server.port == 9000
    assert s.server.base_url == "https://als.example.org"
    assert s.source == str(path)


def test_secrets_from_environment_override_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[wechat]\napp_id = "wx1234"\napp_secret = "from-file"\ntoken = "tok123"\n',
    )
    s = load_settings(path, env={"WXBOT_WECHAT_APP_SECRET": "from-env", "WXBOT_SERVER_PORT": "8181"})
    assert s.wechat.app_secret == "from-env"
    assert s.server.port == 8181


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[database]\nurll = 'x'\n", "unknown key 'database.urll'"),
        ("[nosuch]\na = 1\n", "unknown table or key 'nosuch'"),
        ("[server]\nport = 'eighty'\n", "'server.port': must be an integer"),
        ("[scheduler]\nembedded = 'yes'\n", "'scheduler.embedded': must be true or false"),
        ("[wechat]\nmessage_mode = 'secret'\n", "'wechat.message_mode': must be one of"),
        ("[wechat]\napp_id = 'wx1'\napp_secret = 's'\n", "missing required value 'wechat.token'"),
        (
            "[wechat]\napp_id = 'wx1'\napp_secret = 's'\ntoken = 'tok'\nmessage_mode = 'safe'\n",
            "'wechat.encoding_aes_key' must be 43 characters",
        ),
        ("[scheduler]\nquiet_hours_start = '25:00'\n", "'scheduler.quiet_hours_start' must be HH:MM"),
        ("[scheduler]\ntimezone = 'Mars/Olympus'\n", "'scheduler.timezone' is not a known timezone"),
        ("[scheduler]\ndedupe_keep_hours = 0\n", "'scheduler.dedupe_keep_hours' must be at least 1"),
        ("[wechat]\napi_timeout = 0\n", "'wechat.api_timeout': must be a positive number"),
        ("[wechat]\napi_timeout = 'soon'\n", "'wechat.api_timeout': must be a positive number"),
        ("server = 3\n", "'server' must be a table"),
        ("[wechat.templates.notice]\nthing1 = 'title'\n", "'wechat.templates.notice': needs template_id"),
        ("[wechat.templates.notice]\ntemplate_id = 'T'\n", "'wechat.templates.notice': needs at least one field"),
        (
            "[wechat.templates.notice]\ntemplate_id = 'T'\nthing1 = 'headline'\n",
            "field thing1 = 'headline': must be one of title, summary, text, time",
        ),
        ("[wechat]\ntemplates = 'T'\n", "'wechat.templates': must be a table of tables"),
        ("[server\n", "not valid TOML"),
        ("[server]\nstore = 'fastest'\n", "'server.store': must be one of 'auto', 'per_push', 'group_commit'"),
        (
            "[database]\nurl = 'sqlite://'\n[server]\nstore = 'group_commit'\n",
            "'server.store' = \"group_commit\" needs a SQLite file or PostgreSQL database",
        ),
    ],
)
def test_errors_name_the_key_and_the_file(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(SettingsError) as err:
        load_settings(path, env={})
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_template_purposes_with_their_field_mapping(tmp_path: Path) -> None:
    body = "[wechat.templates.event_notice]\ntemplate_id = 'T1'\nthing1 = 'title'\ntime2 = 'time'\n"
    s = load_settings(write(tmp_path, body), env={})
    assert s.wechat.templates == {"event_notice": {"template_id": "T1", "thing1": "title", "time2": "time"}}


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="WXBOT_SERVER_PORT: must be an integer"):
        load_settings(env={"WXBOT_SERVER_PORT": "lots"})
    with pytest.raises(SettingsError, match="WXBOT_WECHAT_API_TIMEOUT: must be a number"):
        load_settings(env={"WXBOT_WECHAT_API_TIMEOUT": "soon"})


def test_api_timeout_in_seconds_from_file_or_environment(tmp_path: Path) -> None:
    assert load_settings(env={}).wechat.api_timeout == 10.0
    assert load_settings(write(tmp_path, "[wechat]\napi_timeout = 3\n"), env={}).wechat.api_timeout == 3.0
    assert load_settings(env={"WXBOT_WECHAT_API_TIMEOUT": "0.5"}).wechat.api_timeout == 0.5


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="config file not found"):
        load_settings(tmp_path / "absent.toml", env={})


def test_cli_reports_bad_key_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    path = write(tmp_path, "[database]\nurll = 'x'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "wxbot", "--config", str(path), "db", "current"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"wxbot: {path}: unknown key 'database.urll'"
    assert "Traceback" not in proc.stderr + proc.stdout


def test_example_config_documents_every_setting() -> None:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    loaded = load_settings(ROOT / "config.example.toml", env={})
    assert loaded.database.url == "sqlite:///var/wxbot.db"
    lines = example.splitlines()
    for table, keys in setting_keys().items():
        start = lines.index(f"[{table}]")
        end = next(
            (i for i in range(start + 1, len(lines)) if re.match(r"^\[(?!" + table + r"\.)", lines[i])), len(lines)
        )
        block = lines[start:end]
        for key in keys:
            pattern = re.compile(rf"^{key} = |^\[{table}\.{key}\]")
            idx = next((i for i, line in enumerate(block) if pattern.match(line)), None)
            assert idx is not None, f"{table}.{key} missing from config.example.toml"
            assert block[idx - 1].startswith("#"), f"{table}.{key} has no comment above it"


NOTICE_HEAD = "[wechat.notices.therapy_update]\ntemplate_id = 'N1'\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[wechat.notices.u]\nthing1 = 'title'\n", "'wechat.notices.u': needs template_id"),
        (NOTICE_HEAD, "needs at least one field"),
        (NOTICE_HEAD + "keyword1 = 'title'\n", "field keyword1: not a notice keyword"),
        (NOTICE_HEAD + "thing1 = 'headline'\n", "must be one of title, summary, text, therapy, time"),
        (NOTICE_HEAD + "time2 = 'title'\n", 'time and date keywords take "time"'),
        (NOTICE_HEAD + "thing1 = 'time'\n", 'time and date keywords take "time"'),
        (NOTICE_HEAD + "phrase3 = '=六个字的短语'\n", "a phrase takes 1-5 characters"),
        (NOTICE_HEAD + "thing1 = 'title'\nserves = 'news'\n", "serves = 'news'"),
        (NOTICE_HEAD + "thing1 = 'title'\npage = 'pages/index'\n", "must be an http(s) address"),
        ("[wechat.notices]\nlong_term = 'yes'\n", "'wechat.notices.long_term': must be true or false"),
        ("[wechat]\nnotices = 3\n", "'wechat.notices': must be a table"),
    ],
)
def test_notice_errors_name_the_key_and_the_file(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(SettingsError) as err:
        load_settings(path, env={})
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_notice_purposes_long_term_and_which_post_each_announces(tmp_path: Path) -> None:
    body = (
        "[wechat.notices]\nlong_term = true\n"
        + NOTICE_HEAD
        + "thing1 = 'therapy'\nphrase2 = '=有新进展'\ntime3 = 'time'\n"
        + "[wechat.notices.review]\ntemplate_id = 'N2'\nserves = 'section, digest'\nthing1 = 'title'\n"
    )
    notices = load_settings(write(tmp_path, body), env={}).wechat.notices
    assert notices.long_term and notices.configured and notices.offered() == "N1"
    assert notices.purposes["therapy_update"]["phrase2"] == "=有新进展"
    assert notices.for_post("update:nurown/x") == ("therapy_update", notices.purposes["therapy_update"])
    assert notices.for_post("section:opening")[0] == "review"  # type: ignore[index]
    assert notices.for_post("text") is None
    assert notices.for_post("text", "review")[0] == "review"  # type: ignore[index]
    assert not load_settings(env={}).wechat.notices.configured
