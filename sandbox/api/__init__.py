"""WeChat API handlers; importing this package registers every route in `ROUTES`."""

from . import auth, content, mass, menu, messages, misc, notices, qrcode, tags, users
from .base import ROUTES, RawResponse, Request, Route

__all__ = [
    "ROUTES",
    "RawResponse",
    "Request",
    "Route",
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
