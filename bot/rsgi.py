"""The web app under granian's RSGI interface (`wxbot serve`): one event loop per worker, pushes awaited, not waited.

Under WSGI every request holds a thread until its push is committed, so a worker needs as many threads as pushes
in flight, and each of them must win the GIL back to answer. Here a push is a coroutine: it parses on the loop,
awaits its store (SQLite group commit: the batch itself runs on this loop; per push: a pool thread), and is answered
on the loop. Routes, replies and failures are :class:`bot.app.WebApp`'s; this module only reads
the request and writes the response.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.app import WebApp, parse_query, route_label
from bot.pipeline import Response, TooLarge
from posts.limits import CALLBACK_MAX_BODY_BYTES

log = logging.getLogger(__name__)


class RsgiApp:
    """An RSGI application (``__rsgi__``) around a :class:`WebApp`."""

    def __init__(self, web: WebApp) -> None:
        self.web = web

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":  # websockets are switched off in `wxbot serve`; refuse anything else
            return
        web = self.web
        path = scope.path or "/"
        method = scope.method
        route = route_label(path)
        try:
            if route == "wechat":
                response = await self._wechat(method, scope, protocol)
            elif route == "healthz":  # a database round trip: off the loop
                response = await asyncio.get_running_loop().run_in_executor(None, web.respond, route, method, path)
            else:
                response = web.respond(route, method, path, scope.query_string)
                if route == "page" and web.views is not None and web.views.due():  # one INSERT, off the loop
                    asyncio.get_running_loop().run_in_executor(None, web.flush_views)
        except Exception:
            response = web.failure(route, method, path)
        web.metrics.count_request(route, response.status)
        protocol.response_bytes(response.status, [("content-type", response.content_type)], response.body)

    def __rsgi_del__(self, loop: Any) -> None:
        """The worker stops: refuse further pushes (a batch already running ends first: it runs on this loop)."""
        self.web.close()

    async def _wechat(self, method: str, scope: Any, protocol: Any) -> Response:
        pipeline = self.web.pipeline
        query = parse_query(scope.query_string)
        early = pipeline.check(method, query)
        if early is not None:
            return early
        try:
            body: bytes | TooLarge = await read_body(scope, protocol, CALLBACK_MAX_BODY_BYTES)
        except TooLarge as exc:
            body = exc
        return await pipeline.handle_async(query, body)


async def read_body(scope: Any, protocol: Any, limit: int) -> bytes:
    """At most ``limit`` bytes of the body; :class:`TooLarge` if Content-Length or the body itself is longer."""
    declared = (scope.headers.get("content-length") or "").strip()
    if declared.isdigit():
        if int(declared) > limit:
            raise TooLarge
        return await protocol()  # granian stops at the declared length
    chunks: list[bytes] = []
    got = 0
    async for chunk in protocol:  # chunked: read only until it is too long
        got += len(chunk)
        if got > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
