"""deploy/compose.yaml, read as Docker Compose would (YAML with its anchors): every service runs a real `wxbot`
command on the one image, config and database; the console is one of them, published on the host's loopback
only (the operators' proxy or VPN in front), on the port its settings give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from posts.settings import load_settings
from wxbot.cli import app

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))["services"]


def _subcommands() -> set[str]:
    import typer.main

    group = typer.main.get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


def test_every_wxbot_service_runs_a_real_command_on_the_same_config_and_database() -> None:
    services = _services()
    wxbot = {name: s for name, s in services.items() if s.get("image") == "wxbot:latest" and "entrypoint" not in s}
    assert set(wxbot) == {"migrate", "web", "console", "scheduler-a", "scheduler-b"}
    known = _subcommands()
    envs = {name: s["environment"] for name, s in wxbot.items()}
    for name, service in wxbot.items():
        assert service["command"][0] in known, name
        assert envs[name]["WXBOT_CONFIG"] == "/etc/wxbot/config.toml", name
        assert envs[name]["WXBOT_DATABASE_URL"] == envs["web"]["WXBOT_DATABASE_URL"], name
        assert service["volumes"] == services["web"]["volumes"], name


def test_the_console_is_published_on_the_hosts_loopback_only_at_its_configured_port() -> None:
    console = _services()["console"]
    assert console["command"] == ["console"]
    assert console["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    secrets = {"WXBOT_WECHAT_APP_SECRET": "s", "WXBOT_WECHAT_TOKEN": "tok1", "WXBOT_WECHAT_ENCODING_AES_KEY": "k" * 43}
    settings = load_settings(DEPLOY / "config.production.toml", env=secrets)  # compose gives them from .env
    assert settings.console.https and settings.console.host == "0.0.0.0"
    assert console["ports"] == [f"127.0.0.1:{settings.console.port}:{settings.console.port}"]
    published = [port for service in _services().values() for port in service.get("ports", [])]
    assert all(port.startswith("127.0.0.1:") for port in published)  # nothing listens on the host's other addresses
