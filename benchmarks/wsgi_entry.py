"""The bot as a plain WSGI factory for other servers (gunicorn), used only to compare servers for docs/bot.md."""

from __future__ import annotations

from typing import Any


def app_from_env() -> Any:
    """Build the app from $WXBOT_CONFIG, as `wxbot serve` does in each worker (schema and content already synced)."""
    from posts import db
    from posts.loader import default_content_dir, load_catalog
    from posts.render import Renderer
    from posts.settings import load_settings
    from wxbot.runtime import bot_app

    settings = load_settings()
    catalog, _ = load_catalog(default_content_dir(settings.content.path or None))
    engine = db.make_engine(settings.database.url, settings.database.pool_size)
    return bot_app(settings, db.session_factory(engine), catalog, Renderer(catalog, settings.server.base_url))
