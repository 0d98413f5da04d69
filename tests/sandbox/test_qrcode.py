"""Parametric QR codes: scene rules, expiry, permanent quota, and the PNG served by showqrcode."""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace

import png
import requests

from sandbox import Limits

from .conftest import Sandbox


def create(sbx: Sandbox, action: str, scene: dict, **extra: object) -> dict:
    return sbx.api.post("qrcode/create", {"action_name": action, "action_info": {"scene": scene}, **extra})


def test_temporary_qr_and_png(sbx: Sandbox) -> None:
    answer = create(sbx, "QR_STR_SCENE", {"scene_str": "als-2025"}, expire_seconds=600)
    assert answer["expire_seconds"] == 600 and answer["url"].startswith("http://weixin.qq.com/q/")
    resp = requests.get(sbx.url + "/cgi-bin/showqrcode", params={"ticket": answer["ticket"]}, timeout=5)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/png"
    body = resp.content
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", body[16:24])
    assert width == height and width >= 21 * 8
    reader = png.Reader(bytes=body)
    w, h, rows, _ = reader.read()
    pixels = [list(r) for r in rows]
    assert (w, h) == (width, height) and len(pixels) == h
    flat = [p for row in pixels for p in row]
    assert 0 in flat and max(flat) > 0  # both dark and light modules
    assert zlib.crc32(body) != 0
    # expires: image gone, scanning impossible
    sbx.clock.advance(600)
    gone = requests.get(sbx.url + "/cgi-bin/showqrcode", params={"ticket": answer["ticket"]}, timeout=5)
    assert gone.status_code == 404 and gone.json()["errcode"] == 40053


def test_defaults_and_caps(sbx: Sandbox) -> None:
    assert create(sbx, "QR_SCENE", {"scene_id": 123})["expire_seconds"] == 60
    assert create(sbx, "QR_SCENE", {"scene_id": 1}, expire_seconds=9_999_999)["expire_seconds"] == 2_592_000
    permanent = create(sbx, "QR_LIMIT_SCENE", {"scene_id": 100_000})
    assert "expire_seconds" not in permanent and permanent["ticket"]
    ticket = sbx.platform.ticket(permanent["ticket"])
    assert ticket.permanent and ticket.scene == "100000"


def test_scene_validation(sbx: Sandbox) -> None:
    assert create(sbx, "QR_LIMIT_SCENE", {"scene_id": 100_001})["errcode"] == 40053
    assert create(sbx, "QR_LIMIT_SCENE", {"scene_id": 0})["errcode"] == 40053
    assert create(sbx, "QR_LIMIT_STR_SCENE", {"scene_str": "x" * 65})["errcode"] == 40053
    assert create(sbx, "QR_STR_SCENE", {"scene_str": ""})["errcode"] == 40053
    assert create(sbx, "QR_SCENE", {"scene_str": "abc"})["errcode"] == 40053
    assert create(sbx, "QR_BOGUS", {"scene_id": 1})["errcode"] == 40052
    assert create(sbx, "QR_LIMIT_STR_SCENE", {"scene_str": "x" * 64})["ticket"]


def test_permanent_quota(make_sandbox) -> None:
    sbx = make_sandbox(limits=replace(Limits(), qr_permanent_quota=2))
    assert create(sbx, "QR_LIMIT_SCENE", {"scene_id": 1})["ticket"]
    assert create(sbx, "QR_LIMIT_STR_SCENE", {"scene_str": "b"})["ticket"]
    assert create(sbx, "QR_LIMIT_SCENE", {"scene_id": 3})["errcode"] == 45029
    assert create(sbx, "QR_SCENE", {"scene_id": 3})["ticket"]  # temporary codes are unlimited


def test_showqrcode_needs_no_token_but_a_ticket(sbx: Sandbox) -> None:
    resp = requests.get(sbx.url + "/cgi-bin/showqrcode", params={"ticket": "nope"}, timeout=5)
    assert resp.json()["errcode"] == 40053
