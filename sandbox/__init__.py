"""WeChat Official Account platform stand-in: API server, platform state and simulated followers."""

from .clock import FakeClock
from .config import PlatformConfig
from .errors import ApiError, SandboxError
from .limits import Limits
from .models import InboxRecord
from .platform import Platform, make_openid
from .pusher import Pusher, PushResult, VerifyResult
from .replies import Reply
from .server import SandboxServer

__all__ = [
    "ApiError",
    "FakeClock",
    "InboxRecord",
    "Limits",
    "Platform",
    "PlatformConfig",
    "PushResult",
    "Pusher",
    "Reply",
    "SandboxError",
    "SandboxServer",
    "VerifyResult",
    "make_openid",
]
