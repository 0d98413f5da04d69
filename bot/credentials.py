"""The account's callback credentials: from settings, or the fixed demo ones when none are configured."""

from __future__ import annotations

from dataclasses import dataclass

from posts.settings import MessageMode, WeChatSettings


@dataclass(frozen=True)
class Credentials:
    token: str
    encoding_aes_key: str
    app_id: str
    original_id: str
    mode: MessageMode = "plain"


DEMO = Credentials(
    token="sandboxtoken",
    encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    app_id="wx0000sandbox0001",
    original_id="gh_5a4db0x00001",
)
"""The same values the built-in WeChat stand-in (sandbox/) signs and encrypts with."""


def credentials_for(wechat: WeChatSettings) -> Credentials:
    """The configured credentials; without a token, the demo credentials in the configured mode."""
    if not wechat.token:
        return Credentials(DEMO.token, DEMO.encoding_aes_key, DEMO.app_id, DEMO.original_id, wechat.message_mode)
    return Credentials(
        token=wechat.token,
        encoding_aes_key=wechat.encoding_aes_key,
        app_id=wechat.app_id,
        original_id=wechat.original_id,
        mode=wechat.message_mode,
    )
