"""Quick end-to-end checks of the callback in every mode."""

from __future__ import annotations

from tests.bot.conftest import LiveBot
from tests.bot.wechat import text_push


def test_help_reply_in_every_mode(bot: LiveBot) -> None:
    reply = bot.wechat.push(text_push("帮助"))
    assert reply.msg_type == "text"
    assert reply.content == "HELP"
