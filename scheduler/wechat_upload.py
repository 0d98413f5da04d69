"""Multipart uploads (media/uploadimg, material/add_material) next to the JSON client, with its token and errors."""

from __future__ import annotations

from typing import Any

import requests

from scheduler.errors import TOKEN_ERRORS, TransportError, WeChatError
from scheduler.wechat_api import ADD_MATERIAL, UPLOAD_IMAGE, WeChatApi


def upload(
    api: WeChatApi, path: str, filename: str, data: bytes, content_type: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST ``data`` as the multipart field ``media``; a refused token is refreshed once, as ``api.call`` does."""
    if api.broker is None:
        raise RuntimeError("WeChatApi has no token broker; build it with make_api()")
    token = api.broker.token()
    try:
        return _post(api, path, filename, data, content_type, {**(params or {}), "access_token": token})
    except WeChatError as exc:
        if exc.errcode not in TOKEN_ERRORS:
            raise
    token = api.broker.refused(token)
    return _post(api, path, filename, data, content_type, {**(params or {}), "access_token": token})


def _post(
    api: WeChatApi, path: str, filename: str, data: bytes, content_type: str, params: dict[str, Any]
) -> dict[str, Any]:
    try:
        response = api.http.post(
            api.base_url + path, params=params, files={"media": (filename, data, content_type)}, timeout=api.timeout
        )
        response.raise_for_status()
        result = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}", sent=True) from None
    with api._usage_lock:
        api.usage[path] += 1
    if not isinstance(result, dict):
        raise TransportError("answer is not a JSON object", sent=True)
    code = result.get("errcode", 0)
    if code:
        raise WeChatError(int(code), str(result.get("errmsg", "")), result)
    return result


def upload_image(api: WeChatApi, filename: str, data: bytes, content_type: str = "image/png") -> str:
    """An image for article HTML (media/uploadimg): the URL to put in the HTML."""
    return str(upload(api, UPLOAD_IMAGE, filename, data, content_type)["url"])


def add_image_material(api: WeChatApi, filename: str, data: bytes, content_type: str = "image/png") -> str:
    """Permanent image material (an article's cover, thumb_media_id): its media_id."""
    return str(upload(api, ADD_MATERIAL, filename, data, content_type, {"type": "image"})["media_id"])
