"""The one inbound path: a push's bytes to the HTTP answer, called the same way by both server faces.

    query, body → signature → size → parse (strict XML, decrypt) → route, [content-only reply] (bot.dispatch)
    → store: dedupe, [handler], bookkeeping rows + reply, commit (bot.store) → seal (encrypt) → metrics → Response

:func:`Pipeline.handle` walks it in a thread (WSGI); :func:`Pipeline.handle_async` walks the same steps and awaits
the one that waits for the database (bot.http1). The faces only read the request and write the response.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from bot.callback import Callback, Rejected
from bot.dispatch import Dispatcher
from bot.message import Inbound
from bot.metrics import Metrics
from bot.store import Answer

log = logging.getLogger(__name__)

XML = "application/xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"
_REJECTED = {"forbidden": 403, "bad_request": 400}


class TooLarge(Exception):
    """The body is longer than CALLBACK_MAX_BODY_BYTES."""


class Response:
    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, body: bytes | str = b"", content_type: str = PLAIN) -> None:
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type


class Pipeline:
    """/wechat, from query and body to the answer: the WeChat protocol (:class:`Callback`), then the dispatcher."""

    def __init__(self, callback: Callback, dispatcher: Dispatcher, metrics: Metrics) -> None:
        self.callback = callback
        self.dispatcher = dispatcher
        self.metrics = metrics

    def check(self, method: str, query: Mapping[str, str]) -> Response | None:
        """Before the body is read: GET (URL verification), a wrong method or a bad signature end here."""
        started = time.perf_counter()
        try:
            if method == "POST":
                self.callback.check_origin(query)  # before a single byte of the body is read
                return None
            if method == "GET":
                response = Response(200, self.callback.verify_url(query))
            else:
                response = Response(405, "method not allowed")
        except Rejected as exc:
            response = rejected(exc)
        self.metrics.observe(time.perf_counter() - started)
        return response

    def handle(self, query: Mapping[str, str], body: bytes | TooLarge) -> Response:
        """The answer to a POST whose signature :meth:`check` accepted (``body``: what the face read)."""
        started = time.perf_counter()
        message = self._parse(query, body, started)
        if isinstance(message, Response):
            return message
        try:
            answer = self.dispatcher(message)
        except BaseException:
            self.metrics.observe(time.perf_counter() - started)
            raise
        return self._seal(query, answer, started)

    async def handle_async(self, query: Mapping[str, str], body: bytes | TooLarge) -> Response:
        """:meth:`handle` for a coroutine: the store's step is awaited (group commit or a pool thread)."""
        started = time.perf_counter()
        message = self._parse(query, body, started)
        if isinstance(message, Response):
            return message
        try:
            answer = await self.dispatcher.submit(message)
        except BaseException:
            self.metrics.observe(time.perf_counter() - started)
            raise
        return self._seal(query, answer, started)

    def _parse(self, query: Mapping[str, str], body: bytes | TooLarge, started: float) -> Inbound | Response:
        """The push in ``body``, or the 413/400/403 answer to a bad one."""
        try:
            if isinstance(body, TooLarge):
                response = Response(413, "payload too large")
            else:
                return self.callback.parse(query, body)
        except Rejected as exc:
            response = rejected(exc)
        self.metrics.observe(time.perf_counter() - started)
        return response

    def _seal(self, query: Mapping[str, str], answer: Answer, started: float) -> Response:
        """The committed answer as WeChat receives it (encrypted in compat/safe), counted in the metrics."""
        result = self.callback.seal(query, answer)
        self.metrics.push(time.perf_counter() - started, result.kind, result.duplicate)
        return Response(200, result.body, XML if result.body else PLAIN)

    def close(self) -> None:
        self.dispatcher.close()


def rejected(exc: Rejected) -> Response:
    log.info("rejected push: %s", exc)
    return Response(_REJECTED[exc.status], exc.status.replace("_", " "))
