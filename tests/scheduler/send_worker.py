"""A sender in its own process, for the kill -9 test: `python -m tests.scheduler.send_worker DB API POST_ID`."""

from __future__ import annotations

import sys
import time

from posts import db
from posts.loader import default_content_dir, load_catalog
from posts.render import Renderer
from posts.settings import load_settings, replace
from sandbox import PlatformConfig
from scheduler.runner import Engine
from tests.scheduler.conftest import TEMPLATE_ID

LEASE_SECONDS = 1.5


def main(db_url: str, api_url: str, post_id: int) -> None:
    cfg = PlatformConfig()
    settings = replace(
        load_settings(env={}),
        database={"url": db_url},
        wechat={
            "app_id": cfg.app_id,
            "app_secret": cfg.app_secret,
            "token": cfg.token,
            "api_base_url": api_url,
            "templates": {"notice": {"template_id": TEMPLATE_ID, "thing1": "title", "time2": "time", "thing3": "text"}},
        },
    )
    sessions = db.session_factory(db.make_engine(db_url))
    catalog, _ = load_catalog(default_content_dir())
    renderer = Renderer(catalog, "https://als.example.org")
    engine = Engine(settings, sessions, catalog, renderer, lease_seconds=LEASE_SECONDS)
    while not engine.renew():  # a killed holder's lease must expire first
        time.sleep(0.1)
    engine.recover()  # what a restarted scheduler does first
    print(engine.sender.run(post_id), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
