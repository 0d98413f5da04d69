"""WeChat API handlers; importing this package registers every route in `ROUTES`."""

from . import account, auth, content, mass, menu, messages, misc, notices, qrcode, tags, users
from .base import ROUTES, RawResponse, Request, Route

__all__ = [
    "ROUTES",
    "RawResponse",
    "Request",
    "Route",
    "account",
    "auth",
    "content",
    "mass",
    "menu",
    "messages",
    "misc",
    "notices",
    "qrcode",
    "tags",
    "users",
]
