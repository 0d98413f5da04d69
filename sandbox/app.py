"""The WSGI application: fault injection, token/quota checks, routing, WeChat-style JSON answers."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .admin import AdminApi
from .api import ROUTES, RawResponse, Request
from .errors import ApiError
from .faults import AFTER_SERVING
from .limits import MINUTE_GROUPS, MINUTE_QUOTAS

if TYPE_CHECKING:
    from .platform import Platform
    from .pusher import Pusher

StartResponse = Callable[..., Any]
MAX_BODY = 32 << 20
PHONE_PATHS = ("/", "/sandbox/phone")


def phone_page() -> bytes:
    """The phone-like chat page (a follower's WeChat window) shipped in sandbox/static/."""
    return (resources.files("sandbox") / "static" / "phone.html").read_bytes()


def rid() -> str:
    """A WeChat-looking request id."""
    return "-".join(secrets.token_hex(4) for _ in range(3))


def error_body(exc: ApiError) -> tuple[str, dict[str, Any]]:
    """(HTTP status, JSON body) for an ApiError."""
    extra = dict(exc.extra)
    status = str(extra.pop("http_status", "200 OK"))
    return status, {"errcode": exc.errcode, "errmsg": f"{exc.errmsg} rid: {rid()}", **extra}


def read_request(environ: dict[str, Any]) -> Request:
    """Build a Request from a WSGI environ."""
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(min(length, MAX_BODY)) if length > 0 else b""
    return Request(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=environ.get("PATH_INFO", "/"),
        query=query,
        body=body,
        content_type=environ.get("CONTENT_TYPE", ""),
        remote_addr=environ.get("REMOTE_ADDR", ""),
    )


def _drop(environ: dict[str, Any]) -> None:
    """Close the client's connection without an answer."""
    drop = environ.get("sandbox.drop")
    if drop is not None:
        drop()
    raise ConnectionAbortedError("sandbox fault: connection dropped")


class SandboxApp:
    """WSGI callable serving WeChat's `/cgi-bin/...` paths plus `/sandbox/...` admin endpoints."""

    def __init__(self, platform: Platform, pusher: Pusher | None = None) -> None:
        self.platform = platform
        self.admin = AdminApi(platform, pusher)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        req = read_request(environ)
        if req.path in PHONE_PATHS and req.method == "GET":
            return self._send(start_response, "200 OK", RawResponse(phone_page(), "text/html; charset=utf-8"))
        if req.path.startswith("/sandbox/") or req.path == "/sandbox":
            status, result = self.admin.handle(req)
            return self._send(start_response, status, result)
        faults = self.platform.faults.take(req.path)
        for fault in faults:
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "drop":
                _drop(environ)
            elif fault.kind not in AFTER_SERVING:
                status, body = error_body(ApiError(fault.errcode, "(sandbox fault)"))
                return self._send(start_response, status, body)
        status, result = self.dispatch(req)
        for fault in faults:
            if fault.kind == "late":
                time.sleep(fault.delay)
            elif fault.kind == "drop_answer":
                _drop(environ)
        return self._send(start_response, status, result)

    def dispatch(self, req: Request) -> tuple[str, dict[str, Any] | RawResponse]:
        """Run the route for `req` under the platform lock; ApiError becomes an error body."""
        route = ROUTES.get(req.path)
        try:
            if route is None:
                raise ApiError(48001, f"(sandbox does not model {req.path})", http_status="404 Not Found")
            if route.method == "POST" and req.method != "POST":
                raise ApiError(43002)
            with self.platform.lock:
                self.platform.check_caller(req.remote_addr)
                if route.auth:
                    self.platform.tokens.check(req.query.get("access_token"))
                    self.platform.check_capability(req.path)
                    self.platform.quotas.count(req.path)
                group = MINUTE_GROUPS.get(req.path, req.path)
                if group in MINUTE_QUOTAS:
                    self.platform.quotas.count_minute(group, MINUTE_QUOTAS[group])
                return "200 OK", route.handler(self.platform, req)
        except ApiError as exc:
            return error_body(exc)

    @staticmethod
    def _send(start_response: StartResponse, status: str, result: dict[str, Any] | RawResponse) -> list[bytes]:
        if isinstance(result, RawResponse):
            body, ctype, status = result.body, result.content_type, result.status
        else:
            body = json.dumps(result, ensure_ascii=False).encode("utf-8")
            ctype = "application/json; encoding=utf-8"
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]
