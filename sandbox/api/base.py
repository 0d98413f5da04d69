"""Request/response types and the route registry shared by the API handler modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from ..errors import ApiError

if TYPE_CHECKING:
    from ..platform import Platform


@dataclass
class UploadedFile:
    """One part of a multipart/form-data body."""

    name: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Request:
    """What a handler sees: method, path, query, raw body."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    content_type: str = ""
    remote_addr: str = ""
    """The caller's address (REMOTE_ADDR), checked against the IP whitelist."""
    _json: Any = field(default=None, repr=False)

    def json(self) -> dict[str, Any]:
        """The JSON body (wechatpy sends it without Content-Type): 44002 empty, 47001 malformed."""
        if self._json is None:
            if not self.body.strip():
                raise ApiError(44002)
            try:
                value = json.loads(self.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise ApiError(47001) from exc
            if not isinstance(value, dict):
                raise ApiError(47001)
            self._json = value
        return self._json

    def form(self) -> dict[str, UploadedFile]:
        """multipart/form-data parts by field name (empty dict when not multipart)."""
        if "multipart/form-data" not in self.content_type:
            return {}
        head = f"Content-Type: {self.content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        parts: dict[str, UploadedFile] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename() or ""
            parts[name] = UploadedFile(name, filename, part.get_content_type(), data)
        return parts


@dataclass
class RawResponse:
    """A non-JSON answer (e.g. a PNG image)."""

    body: bytes
    content_type: str
    status: str = "200 OK"


Result = dict[str, Any] | RawResponse
Handler = Callable[["Platform", Request], Result]


@dataclass(frozen=True)
class Route:
    """One API endpoint: handler, allowed method, whether it needs an access_token."""

    handler: Handler
    method: str
    auth: bool = True


ROUTES: dict[str, Route] = {}


def route(path: str, method: str = "POST", auth: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler for a WeChat path such as `/cgi-bin/menu/create`."""

    def register(func: Handler) -> Handler:
        ROUTES[path] = Route(func, method, auth)
        return func

    return register


def ok(**extra: Any) -> dict[str, Any]:
    """The usual success body."""
    return {"errcode": 0, "errmsg": "ok", **extra}


def need(data: dict[str, Any], key: str, errcode: int = 47001) -> Any:
    """A required body field, raising `errcode` when missing."""
    if key not in data or data[key] is None:
        raise ApiError(errcode, f"missing {key}")
    return data[key]
