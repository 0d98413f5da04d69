"""The WeRoBot 1.13 baseline: the same two replies, served by gunicorn from a separate venv (no project imports)."""

import json
import os

from werobot import WeRoBot


def build():
    with open(os.environ["BENCH_WEROBOT_CONFIG"], encoding="utf-8") as file:
        config = json.load(file)
    robot = WeRoBot(
        token=config["token"],
        encoding_aes_key=config.get("encoding_aes_key"),
        app_id=config.get("app_id"),
        enable_session=False,
    )

    @robot.filter(config["keyword"])
    def keyword(message):
        return config["keyword_reply"]

    @robot.key_click(config["click_key"])
    def click(message):
        return config["click_reply"]

    return robot.wsgi


app = build()
