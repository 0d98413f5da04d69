"""The planner and the stand-in agree on WeChat's customer-service windows, for every kind of interaction.

Each case is a follower's actions pushed by the stand-in's pusher to the real bot (same fake clock on both sides);
the planner then decides from what the bot recorded, and a real custom/send through the stand-in must be
accepted exactly when the planner thinks the window open (45015 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from posts.audience import Audience, recipients
from posts.catalog import Catalog
from posts.render import Renderer
from sandbox import FakeClock, Platform, Pusher
from scheduler import planner
from scheduler.wechat_api import WeChatError
from tests.bot.conftest import serve_with
from tests.scheduler.conftest import World

MENU = [
    {"type": "click", "name": "目录", "key": "TOC"},
    {"type": "view", "name": "网页", "url": "https://als.example.org/p/"},
    {
        "name": "更多",
        "sub_button": [
            {"type": "scancode_push", "name": "扫码", "key": "SCAN_PUSH"},
            {"type": "scancode_waitmsg", "name": "扫码等待", "key": "SCAN_WAIT"},
            {"type": "pic_sysphoto", "name": "拍照", "key": "PHOTO"},
            {"type": "location_select", "name": "位置", "key": "WHERE"},
        ],
    },
]


@dataclass
class Follower:
    pusher: Pusher
    clock: FakeClock
    openid: str

    def wait(self, seconds: float) -> Follower:
        self.clock.advance(seconds)
        return self


Action = Callable[[Follower], object]
MINUTE, HOURS_49 = 61, 49 * 3600


def _then(*steps: Action) -> Action:
    def run(f: Follower) -> None:
        for step in steps:
            step(f)

    return run


def _follow(f: Follower) -> object:
    return f.pusher.follow(f.openid)


def _text(f: Follower) -> object:
    return f.pusher.send_text(f.openid, "帮助")


def _click(key: str) -> Action:
    return lambda f: f.pusher.click(f.openid, key)


def _view(f: Follower) -> object:
    return f.pusher.view(f.openid, "https://als.example.org/p/")


def _wait(seconds: float) -> Action:
    return lambda f: f.wait(seconds)


CASES: dict[str, tuple[Action, bool]] = {
    "follow": (_follow, True),
    "follow, a minute later": (_then(_follow, _wait(MINUTE)), False),
    "QR scan by a follower": (_then(_follow, _wait(MINUTE), lambda f: f.pusher.scan(f.openid, "clinic")), True),
    "click": (_then(_follow, _wait(MINUTE), _click("TOC")), True),
    "scancode_push": (_then(_follow, _wait(MINUTE), _click("SCAN_PUSH")), True),
    "scancode_waitmsg": (_then(_follow, _wait(MINUTE), _click("SCAN_WAIT")), True),
    "pic_sysphoto": (_then(_follow, _wait(MINUTE), _click("PHOTO")), False),
    "location_select": (_then(_follow, _wait(MINUTE), _click("WHERE")), False),
    "view": (_then(_follow, _wait(MINUTE), _view), False),
    "LOCATION report": (_then(_follow, _wait(MINUTE), lambda f: f.pusher.push_event(f.openid, "LOCATION")), False),
    "text": (_then(_follow, _wait(MINUTE), _text), True),
    "image": (_then(_follow, _wait(MINUTE), lambda f: f.pusher.send_image(f.openid)), True),
    "text, 49 hours later": (_then(_follow, _text, _wait(HOURS_49)), False),
    "text, then a view tap": (_then(_follow, _text, _wait(MINUTE), _view), True),
    "text, then an unknown event": (
        _then(_follow, _text, _wait(MINUTE), lambda f: f.pusher.push_event(f.openid, "some_new_event")),
        True,
    ),
    "text, then a click whose minute is over": (_then(_follow, _text, _click("TOC"), _wait(MINUTE)), True),
    "text, unfollow, follow again, a minute later": (
        _then(_follow, _text, lambda f: f.pusher.unfollow(f.openid), _follow, _wait(MINUTE)),
        False,
    ),
}


@pytest.fixture
def pusher(world: World, catalog: Catalog, renderer: Renderer, platform: Platform) -> Iterator[Pusher]:
    cfg = platform.config
    wechat = {
        "app_id": cfg.app_id,
        "token": cfg.token,
        "encoding_aes_key": cfg.encoding_aes_key,
        "original_id": cfg.original_id,
    }
    platform.set_menu(MENU)
    world.api.call(
        "/cgi-bin/qrcode/create",
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "clinic"}}},
    )
    with serve_with(
        world.settings, world.sessions, catalog, cfg.message_mode, wechat=wechat, renderer=renderer, clock=world.now
    ) as bot:
        yield Pusher(platform, f"{bot.url}/wechat", register=False)


@pytest.mark.parametrize("case", list(CASES))
def test_the_planner_and_wechat_agree_on_the_window(case: str, world: World, pusher: Pusher, clock: FakeClock) -> None:
    actions, expected_open = CASES[case]
    follower = Follower(pusher, clock, f"oWindow{list(CASES).index(case):021d}")
    actions(follower)
    assert all(p.ok for p in pusher.history), [p.error or p.reply_kind for p in pusher.history]
    now = world.now()
    with world.sessions() as session:
        (recipient,) = recipients(session, Audience("test", follower.openid))
    thinks_open = recipient.subscribed and planner.window(recipient, now).is_open
    body = {"touser": follower.openid, "msgtype": "text", "text": {"content": "进展"}}
    try:
        world.api.call("/cgi-bin/message/custom/send", body)
        accepted = True
    except WeChatError as exc:
        assert exc.errcode == 45015, exc
        accepted = False
    assert (thinks_open, accepted) == (expected_open, expected_open), case
