"""The web app over HTTP/1.1 on one event loop per worker (`wxbot serve`): httptools parses, the loop does the rest.

No server threads: every connection's bytes are parsed on the worker's loop, a push is a task awaiting its store,
and its answer is written from that loop. Pushes that arrive on many connections in one turn of the loop join one
group commit, and no request pays a thread hand-off. Keep-alive, pipelined requests answered in order, and limits
on header size, body size and time. Routes, replies and failures are :class:`bot.app.WebApp`'s; this module only
reads requests and writes responses.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from email.utils import format_datetime
from typing import Any

import httptools

from bot.app import WebApp, parse_query, route_label
from bot.pipeline import PLAIN, Response, TooLarge
from posts.limits import CALLBACK_MAX_BODY_BYTES

log = logging.getLogger(__name__)

HEADER_MAX_BYTES = 16 * 1024
"""Request line and headers together; longer gets 431 and the connection is closed."""
REQUEST_SECONDS = 10.0
"""From a request's first byte to its last; a slower client is disconnected (WeChat sends a push at once)."""
IDLE_SECONDS = 75.0
"""A kept-alive connection with no request in this long is closed."""
PIPELINE_MAX = 16
"""Requests read ahead of their answers on one connection; beyond it the connection is read no further for now."""
LINGER_SECONDS = 2.0
"""After the answer that ends a connection, how long what the client still sends is read and dropped."""
SWEEP_SECONDS = 1.0

_REASONS = {
    100: b"Continue",
    200: b"OK",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    413: b"Payload Too Large",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


class _Request:
    __slots__ = ("body", "keep_alive", "method", "path", "query")

    def __init__(self, method: str, path: str, query: str, body: bytes | TooLarge, keep_alive: bool) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.keep_alive = keep_alive


class HttpServer:
    """The connections of one worker's listening socket, their timeouts, and a graceful stop."""

    def __init__(self, web: WebApp) -> None:
        self.web = web
        self.connections: set[HttpConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.date = _http_date(web)
        self.stopping = False
        """Stopping: the answers under way close their connections; no further request is started."""
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self, host: str, port: int, *, reuse_port: bool = False, backlog: int = 1024) -> int:
        """Listen on ``host:port`` (0: any free port); the port listened on."""
        loop = asyncio.get_running_loop()
        self._sweep()
        self._server = await loop.create_server(
            lambda: HttpConnection(self), host, port, reuse_port=reuse_port or None, backlog=backlog
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, grace: float = 10.0) -> None:
        """Accept no more connections, let the requests under way finish (at most ``grace`` s), close the rest."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close_when_idle()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=grace)
        for connection in list(self.connections):
            connection.abort()
        if self._sweeper is not None:
            self._sweeper.cancel()

    def _sweep(self) -> None:
        """Once a second: the Date header's value, and the connections whose time ran out are closed."""
        loop = asyncio.get_running_loop()
        self.date = _http_date(self.web)
        now = loop.time()
        for connection in [c for c in self.connections if c.deadline <= now]:
            connection.timed_out()
        self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)


class HttpConnection(asyncio.Protocol):
    """One client connection: parses its requests, answers them one at a time, in order."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.web = server.web
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.queue: deque[_Request] = deque()
        self.busy = False
        self.closing = False
        self.paused = False
        self.reading = False
        """A request is under way: its first byte came, its last has not (a timeout then is a 408)."""
        self.deadline = self.loop.time() + IDLE_SECONDS
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.head_bytes = 0
        self.head_chunks = 0
        self.in_head = False
        self.body: list[bytes] = []
        self.size = 0
        self.declared = -1
        self.expect_continue = False
        self.too_large = False
        self.discard = False

    # --- asyncio.Protocol ---

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.queue.clear()
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.in_head:  # a head still incomplete after its first chunk: bounded even if httptools buffers it
            self.head_chunks += len(data)
            if self.head_chunks > HEADER_MAX_BYTES:
                self._refuse(431, "request header fields too large")
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "upgrade not supported")
        except httptools.HttpParserError:
            if self.head_bytes > HEADER_MAX_BYTES:
                self._refuse(431, "request header fields too large")
            else:
                self._refuse(400, "malformed request")

    # --- httptools callbacks ---

    def on_message_begin(self) -> None:
        self._reset()
        self.in_head = True
        self.reading = True
        self.deadline = self.loop.time() + REQUEST_SECONDS

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._check_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._check_head(len(name) + len(value))
        name = name.lower()
        if name == b"content-length" and value.strip().isdigit():
            self.declared = int(value)
        elif name == b"expect" and value.strip().lower() == b"100-continue":
            self.expect_continue = True

    def on_headers_complete(self) -> None:
        self.in_head = False
        if self.declared > CALLBACK_MAX_BODY_BYTES:  # answered now, without reading the body
            self.too_large = True
            self._complete()
            self.discard = True
        elif self.expect_continue and not self.closing:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        if self.too_large:
            return
        self.size += len(body)
        if self.size > CALLBACK_MAX_BODY_BYTES:  # chunked, no length declared: answered once it is too long
            self.too_large = True
            self.body = []
            self._complete()
            self.discard = True
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.reading = False
        if not self.discard and not self.parser.should_upgrade():  # an upgrade: data_received answers 400
            self._complete()

    # --- requests and answers ---

    def _check_head(self, grew: int) -> None:
        self.head_bytes += grew
        if self.head_bytes > HEADER_MAX_BYTES:  # httptools raises it as a parser error: data_received answers 431
            raise ValueError("request head too large")

    def _complete(self) -> None:
        if self.closing:  # bytes parsed after the answer that closes the connection
            return
        parts = httptools.parse_url(self.url) if self.url else None
        path = parts.path.decode("utf-8", "replace") if parts and parts.path else "/"
        query = parts.query.decode("utf-8", "replace") if parts and parts.query else ""
        body: bytes | TooLarge = TooLarge() if self.too_large else b"".join(self.body)
        keep_alive = self.parser.should_keep_alive() and not self.too_large
        request = _Request(self.parser.get_method().decode("ascii", "replace"), path, query, body, keep_alive)
        self.deadline = self.loop.time() + IDLE_SECONDS
        if self.too_large:  # the rest of this body is never read: stop reading and close after the answer
            self.transport.pause_reading()
            self.paused = True
        if self.busy:
            self.queue.append(request)
            if len(self.queue) >= PIPELINE_MAX and not self.paused:
                self.transport.pause_reading()
                self.paused = True
        else:
            self._start(request)

    def _start(self, request: _Request) -> None:
        self.busy = True
        route = route_label(request.path)
        web = self.web
        if route == "wechat":
            task = self.loop.create_task(self._wechat(request))
            self.server.tasks.add(task)
            task.add_done_callback(self.server.tasks.discard)
            return
        try:
            if route == "healthz":  # a database round trip: off the loop
                done = self.loop.run_in_executor(None, web.respond, route, request.method, request.path)
                done.add_done_callback(lambda future: self._health(request, future))
                return
            response = web.respond(route, request.method, request.path, request.query)
            if route == "page" and web.views is not None and web.views.due():  # one INSERT, off the loop
                self.loop.run_in_executor(None, web.flush_views)
        except Exception:
            response = web.failure(route, request.method, request.path)
        self._answer(request, route, response)

    def _health(self, request: _Request, done: asyncio.Future[Response]) -> None:
        try:
            response = done.result()
        except Exception:
            response = self.web.failure("healthz", request.method, request.path)
        self._answer(request, "healthz", response)

    async def _wechat(self, request: _Request) -> None:
        pipeline = self.web.pipeline
        try:
            query = parse_query(request.query)
            response = pipeline.check(request.method, query)
            if response is None:
                response = await pipeline.handle_async(query, request.body)
        except Exception:
            response = self.web.failure("wechat", request.method, request.path)
        self._answer(request, "wechat", response)

    def _answer(self, request: _Request, route: str, response: Response) -> None:
        self.web.metrics.count_request(route, response.status)
        keep_alive = request.keep_alive and not self.server.stopping
        self._write(response, keep_alive, head_only=request.method == "HEAD")
        self.busy = False
        if not keep_alive:
            self._close()
            return
        if not self.reading:  # a request half-read behind this one keeps its own (shorter) deadline
            self.deadline = self.loop.time() + IDLE_SECONDS
        if self.queue:
            self._start(self.queue.popleft())
        elif self.paused and not self.closing:
            self.paused = False
            self.transport.resume_reading()

    def _write(self, response: Response, keep_alive: bool, *, head_only: bool = False) -> None:
        if self.closing:  # the client went away: the push was committed all the same
            return
        body = response.body
        head = b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\ndate: %s\r\n%s\r\n" % (
            response.status,
            _REASONS.get(response.status, b"Unknown"),
            response.content_type.encode("ascii"),
            len(body),
            self.server.date,
            b"" if keep_alive else b"connection: close\r\n",
        )
        self.transport.write(head if head_only else head + body)

    def _refuse(self, status: int, text: str) -> None:
        """A request that cannot be parsed or is too large to: answered if no answer is pending, then closed."""
        if not self.busy:
            self.web.metrics.count_request("other", status)
            self._write(Response(status, text, PLAIN), keep_alive=False)
        self._close()

    def _close(self) -> None:
        """Close after the answer: send FIN, then read and drop what the client still sends, for at most
        LINGER_SECONDS. Closing a socket with unread bytes (the rest of a body too large to read) sends a reset
        instead, and the client may lose the answer before it reads it."""
        if self.closing:
            return
        self.closing = True
        self.queue.clear()
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.deadline = self.loop.time() + LINGER_SECONDS
        if self.paused:
            self.paused = False
            self.transport.resume_reading()

    # --- called by the server ---

    def timed_out(self) -> None:
        if self.closing:  # lingered long enough
            self.transport.close()
            return
        if self.busy:  # the app answers within its own budget; the clock starts again after the answer
            return
        if self.reading:
            self._refuse(408, "request timeout")
        else:
            self._close()

    def close_when_idle(self) -> None:
        if not self.busy:
            self._close()
        else:
            self.queue.clear()

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()


def _http_date(web: WebApp) -> bytes:
    """The Date header's value, from the app's clock."""
    return format_datetime(web.clock(), usegmt=True).encode("ascii")
