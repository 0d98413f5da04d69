"""`wxbot serve`'s HTTP/1.1 server (bot.http1) byte by byte over real sockets: keep-alive, pipelining, the size and
time limits, malformed input, HEAD, 100-continue, a client that leaves mid-push, and a graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

import bot.http1 as http1
import tests.bot.conftest as bot_conftest
from posts.limits import CALLBACK_MAX_BODY_BYTES
from posts.models import InboundEvent, SeenMessage, Subscription
from tests.bot.conftest import LiveBot
from tests.bot.test_groupcommit import Gate, _group
from tests.bot.wechat import Headers, Response, text_push

TIMESTAMP = "1700000000"  # any timestamp: the signature covers it, its age is not checked


@dataclass
class Answer:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes


class Client:
    """One raw connection: exactly the bytes given are sent, and answers are read off the wire as they come."""

    def __init__(self, bot: LiveBot, timeout: float = 5.0) -> None:
        host, port = bot.url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self, *, head: bool = False) -> Answer:
        """The next response: status line, headers (each once, lower case) and exactly content-length bytes of
        body (none for a 1xx, or when ``head``: the answer to a HEAD)."""
        line = self.reader.readline()
        assert line.endswith(b"\r\n"), f"no status line: {line!r}"
        version, status, reason = line[:-2].decode("latin-1").split(" ", 2)
        assert version == "HTTP/1.1"
        headers: dict[str, str] = {}
        while (line := self.reader.readline()) != b"\r\n":
            assert line.endswith(b"\r\n"), f"cut off in the headers: {line!r}"
            name, colon, value = line[:-2].decode("latin-1").partition(":")
            assert colon and name.lower() not in headers, line
            headers[name.lower()] = value.strip()
        code = int(status)
        if code < 200:
            return Answer(code, reason, headers, b"")
        length = int(headers["content-length"])
        body = b"" if head else self.reader.read(length)
        assert len(body) == (0 if head else length)
        return Answer(code, reason, headers, body)

    def rest(self) -> bytes:
        """Everything the server sends until it closes the connection (a timeout if it never does)."""
        return self.reader.read()

    def readable(self, seconds: float) -> bool:
        return bool(select.select([self.sock], [], [], seconds)[0])

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def connect() -> Iterator[Callable[[LiveBot], Client]]:
    clients: list[Client] = []

    def open_one(bot: LiveBot) -> Client:
        clients.append(Client(bot))
        return clients[-1]

    yield open_one
    for client in clients:
        client.close()


class RecordingServer(http1.HttpServer):
    """bot.http1.HttpServer that the test can reach: its connections, and its loop to stop it on."""

    made: ClassVar[list[RecordingServer]] = []

    async def start(self, host: str, port: int, **kwargs: Any) -> int:
        self.loop = asyncio.get_running_loop()
        RecordingServer.made.append(self)
        return await super().start(host, port, **kwargs)


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> list[RecordingServer]:
    """The HttpServer of every bot served after this fixture (tests.bot.conftest builds it by this name)."""
    made: list[RecordingServer] = []
    monkeypatch.setattr(RecordingServer, "made", made)
    monkeypatch.setattr(bot_conftest, "HttpServer", RecordingServer)
    return made


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def get(path: str, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: bot.test\r\n{extra}\r\n".encode()


def signed_push(bot: LiveBot, plaintext: str, extra: str = "") -> tuple[bytes, bytes]:
    """The request WeChat sends for ``plaintext`` (head, body): signed query, body in the bot's mode."""
    params = bot.wechat.query(timestamp=TIMESTAMP)
    body = bot.wechat.envelope(plaintext, params)
    head = (
        f"POST /wechat?{urlencode(params)} HTTP/1.1\r\nHost: bot.test\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode(), body


def assert_framed(answer: Answer, bot: LiveBot, *, keep_alive: bool = True) -> None:
    """Headers every answer carries: content-type, the Date (the app's clock), and connection: close only when
    the connection is closed after it."""
    assert answer.headers["content-type"]
    sent = parsedate_to_datetime(answer.headers["date"])
    assert abs((sent - bot.app.clock()).total_seconds()) < 5
    assert ("connection" not in answer.headers) if keep_alive else answer.headers["connection"] == "close"


def rows(bot: LiveBot, model: Any) -> int:
    with bot.sessions() as s:
        return s.scalar(sql_select(func.count()).select_from(model)) or 0


def seen(bot: LiveBot) -> set[str]:
    with bot.sessions() as s:
        return set(s.scalars(sql_select(SeenMessage.dedup_key)))


# --- keep-alive and pipelining -------------------------------------------------------------------------------


def test_keep_alive_answers_each_request_on_one_connection(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    client.send(get("/p/"))
    page = client.answer()
    assert (page.status, page.reason, page.body) == (200, "OK", b"<html>INDEX</html>")
    assert page.headers["content-length"] == "18" and page.headers["content-type"] == "text/html; charset=utf-8"
    assert_framed(page, bot)
    client.send(get("/healthz"))
    health = client.answer()
    assert health.status == 200 and json.loads(health.body)["status"] == "ok"  # the whole body: its length is right
    assert_framed(health, bot)
    head, body = signed_push(bot, text_push("帮助", msg_id=101))
    client.send(head + body)
    push = client.answer()
    assert push.status == 200 and b"<Content><![CDATA[HELP]]></Content>" in push.body
    assert push.headers["content-type"] == "application/xml; charset=utf-8"
    assert_framed(push, bot)
    client.send(get("/nope"))
    missing = client.answer()
    assert (missing.status, missing.reason) == (404, "Not Found")
    assert missing.body.startswith(b"<!DOCTYPE html>") and missing.body.rstrip().endswith(b"</html>")
    client.send(get("/p/", extra="Connection: close\r\n"))  # the client's last request: answered, then closed
    last = client.answer()
    assert last.body == b"<html>INDEX</html>"
    assert_framed(last, bot, keep_alive=False)
    assert client.rest() == b""


def test_http_1_0_without_keep_alive_is_closed_after_its_answer(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    client.send(b"GET /p/ HTTP/1.0\r\n\r\n")
    answer = client.answer()
    assert answer.status == 200 and answer.body == b"<html>INDEX</html>"
    assert_framed(answer, bot, keep_alive=False)
    assert client.rest() == b""


def test_pipelined_requests_are_answered_in_order(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    """/healthz (a pool thread), a push (awaited on the loop), a 404 and pages (answered at once): sent in one write,
    answered in the order they came, whichever is ready first."""
    bot = serve("plain")
    client = connect(bot)
    head, body = signed_push(bot, text_push("目录", msg_id=102))
    client.send(get("/healthz") + head + body + get("/nope") + get("/healthz") + get("/p/", "HEAD") + get("/p/"))
    health = client.answer()
    assert health.status == 200 and b'"database": "ok"' in health.body
    push = client.answer()
    assert push.status == 200 and b"<Content><![CDATA[TOC]]></Content>" in push.body
    assert client.answer().status == 404
    assert client.answer().status == 200
    headed = client.answer(head=True)
    assert headed.status == 200 and headed.headers["content-length"] == "18"
    assert client.answer().body == b"<html>INDEX</html>"
    assert not client.readable(0.05)  # nothing more: each request answered once


def test_more_pipelined_requests_than_are_read_ahead_are_all_answered(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    """Past PIPELINE_MAX requests waiting, the server stops reading the connection, and reads on once answered."""
    bot = serve("plain")
    client = connect(bot)
    paths = [f"/p/s/{'opening' if n % 3 else 'nope'}" if n % 2 else "/healthz" for n in range(3 * http1.PIPELINE_MAX)]
    client.send(b"".join(get(path) for path in paths))
    statuses = [client.answer().status for _ in paths]
    assert statuses == [200 if path != "/p/s/nope" else 404 for path in paths]
    client.send(get("/p/"))
    assert client.answer().body == b"<html>INDEX</html>"


# --- size limits ---------------------------------------------------------------------------------------------


def test_a_declared_length_over_the_cap_is_413_without_reading_the_body(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    head, _ = signed_push(bot, text_push("帮助"))
    too_long = head.split(b"Content-Length: ")[0] + f"Content-Length: {CALLBACK_MAX_BODY_BYTES + 1}\r\n\r\n".encode()
    client.send(too_long)  # the head only: the answer comes before a byte of the body is sent
    answer = client.answer()
    assert (answer.status, answer.reason, answer.body) == (413, "Payload Too Large", b"payload too large")
    assert_framed(answer, bot, keep_alive=False)
    assert client.rest() == b""
    assert rows(bot, SeenMessage) + rows(bot, InboundEvent) == 0


def test_a_body_over_the_cap_sent_whole_still_gets_its_413_not_a_reset(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    """The client sends head and body at once, as most do: the server answers 413 without reading the body, then
    reads and drops the rest before it closes; closing with those bytes unread would reset the connection."""
    bot = serve("plain")
    client = connect(bot)
    head, _ = signed_push(bot, text_push("帮助"))
    size = 4 * CALLBACK_MAX_BODY_BYTES
    start = head.split(b"Content-Length: ")[0] + f"Content-Length: {size}\r\n\r\n".encode()
    sender = threading.Thread(target=lambda: _send_quietly(client, start + b"x" * size), daemon=True)
    sender.start()
    answer = client.answer()  # a reset would raise ConnectionResetError here
    assert (answer.status, answer.body) == (413, b"payload too large")
    assert_framed(answer, bot, keep_alive=False)
    assert client.rest() == b""
    sender.join(5)
    assert rows(bot, SeenMessage) + rows(bot, InboundEvent) == 0


def _send_quietly(client: Client, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server may close before the last bytes: the answer is what is read
        client.send(data)


def test_a_declared_length_over_the_cap_gets_no_100_continue(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    head, _ = signed_push(bot, text_push("帮助"))
    start = head.split(b"Content-Length: ")[0]
    client.send(start + f"Content-Length: {10 * CALLBACK_MAX_BODY_BYTES}\r\nExpect: 100-continue\r\n\r\n".encode())
    answer = client.answer()
    assert answer.status == 413
    assert client.rest() == b""


def test_a_chunked_body_growing_past_the_cap_is_413_and_closed(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    head, _ = signed_push(bot, text_push("帮助"))
    start = head.split(b"Content-Length: ")[0]
    piece = b"x" * 8192
    chunks = b"".join(b"%X\r\n%s\r\n" % (len(piece), piece) for _ in range(CALLBACK_MAX_BODY_BYTES // len(piece)))
    client.send(start + b"Transfer-Encoding: chunked\r\n\r\n" + chunks)  # exactly the cap: still read
    assert not client.readable(0.05)
    client.send(b"1\r\nx\r\n")  # one byte past it, in a write of its own: answered, nothing left unread
    answer = client.answer()
    assert (answer.status, answer.body) == (413, b"payload too large")
    assert_framed(answer, bot, keep_alive=False)
    assert client.rest() == b""
    assert rows(bot, SeenMessage) + rows(bot, InboundEvent) == 0


def test_a_head_over_the_limit_sent_at_once_is_431_and_closed(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    client.send(get("/p/", extra=f"X-Padding: {'a' * http1.HEADER_MAX_BYTES}\r\n"))
    answer = client.answer()
    assert (answer.status, answer.reason) == (431, "Request Header Fields Too Large")
    assert_framed(answer, bot, keep_alive=False)
    assert client.rest() == b""
    long_url = connect(bot)
    long_url.send(get("/p/?q=" + "b" * http1.HEADER_MAX_BYTES))
    assert long_url.answer().status == 431
    assert long_url.rest() == b""
    many = connect(bot)
    many.send(get("/p/", extra="".join(f"X-H{n}: {'c' * 100}\r\n" for n in range(http1.HEADER_MAX_BYTES // 100))))
    assert many.answer().status == 431
    assert many.rest() == b""


def test_a_head_over_the_limit_trickled_in_is_431_and_closed(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    """A head that never ends, a piece at a time: refused once what came after its first piece passes the limit,
    before its end (httptools would buffer an unfinished header without a callback)."""
    bot = serve("plain")
    client = connect(bot)
    client.send(b"GET /p/ HTTP/1.1\r\nHost: bot.test\r\nX-Padding: ")
    sent = 0
    while not client.readable(0.1):
        assert sent <= 2 * http1.HEADER_MAX_BYTES, "the head was never refused"
        client.send(b"a" * 4096)
        sent += 4096
    assert sent > http1.HEADER_MAX_BYTES
    answer = client.answer()
    assert (answer.status, answer.body) == (431, b"request header fields too large")
    assert client.rest() == b""


def test_a_head_under_the_limit_in_several_pieces_is_answered(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    request = get("/p/", extra=f"X-Padding: {'a' * (http1.HEADER_MAX_BYTES // 2)}\r\n")
    for start in range(0, len(request), 1000):
        client.send(request[start : start + 1000])
        time.sleep(0.002)
    assert client.answer().body == b"<html>INDEX</html>"


# --- malformed requests --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /p/ HTTP/9.9\r\n\r\n",
        b"GET /p/ HTTP/1.1\r\nHost: bot.test\r\nContent-Length: ten\r\n\r\n",
        b"GET /p/ HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
    ids=["garbage", "version", "length", "header"],
)
def test_malformed_bytes_are_400_and_closed(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client], request_bytes: bytes
) -> None:
    bot = serve("plain")
    client = connect(bot)
    client.send(request_bytes)
    answer = client.answer()
    assert (answer.status, answer.reason, answer.body) == (400, "Bad Request", b"malformed request")
    assert_framed(answer, bot, keep_alive=False)
    assert client.rest() == b""


def test_garbage_after_a_good_request_answers_it_then_400(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    client.send(get("/p/") + b"GARBAGE\r\n\r\n")
    assert client.answer().body == b"<html>INDEX</html>"
    assert client.answer().status == 400
    assert client.rest() == b""


@pytest.mark.parametrize("path", ["/p/", "/healthz", "/nope"])
def test_an_upgrade_is_400_and_closed_never_routed(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client], path: str
) -> None:
    bot = serve("plain")
    client = connect(bot)
    client.send(get(path, extra="Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"))
    answer = client.answer()
    assert (answer.status, answer.body) == (400, b"upgrade not supported")
    assert_framed(answer, bot, keep_alive=False)
    assert client.rest() == b""  # one answer, the 400: the request itself was not answered


# --- HEAD and 100-continue -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/p/", "/healthz", "/nope"])
def test_head_sends_the_headers_of_get_without_a_body(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client], path: str
) -> None:
    bot = serve("plain")
    client = connect(bot)
    client.send(get(path))
    full = client.answer()
    client.send(get(path, "HEAD") + get("/p/"))
    headed = client.answer(head=True)
    assert (headed.status, headed.headers["content-type"]) == (full.status, full.headers["content-type"])
    assert headed.headers["content-length"] == str(len(full.body)) != "0"
    assert_framed(headed, bot)
    after = client.answer()  # the very next bytes are the next answer: the HEAD sent no body
    assert after.body == b"<html>INDEX</html>"


def test_expect_100_continue_is_answered_before_the_body_is_sent(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    client = connect(bot)
    head, body = signed_push(bot, text_push("帮助", msg_id=103), extra="Expect: 100-continue\r\n")
    client.send(head)
    interim = client.answer()
    assert (interim.status, interim.reason, interim.headers) == (100, "Continue", {})
    client.send(body)
    final = client.answer()
    assert final.status == 200 and b"<Content><![CDATA[HELP]]></Content>" in final.body
    assert_framed(final, bot)
    assert seen(bot) == {"msg:103"}


# --- timeouts --------------------------------------------------------------------------------------------------


def test_a_slow_request_is_408_and_an_idle_connection_is_closed(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    """REQUEST_SECONDS from a request's first byte, IDLE_SECONDS between requests, checked every SWEEP_SECONDS
    (all read where used; SWEEP_SECONDS before the server starts, its first sweep is scheduled then)."""
    monkeypatch.setattr(http1, "REQUEST_SECONDS", 0.3)
    monkeypatch.setattr(http1, "IDLE_SECONDS", 0.3)
    monkeypatch.setattr(http1, "SWEEP_SECONDS", 0.02)
    bot = serve("plain")
    push_head, push_body = signed_push(bot, text_push("帮助", msg_id=104))
    half_head, half_body, no_body, idle_get, idle_post, silent = (connect(bot) for _ in range(6))
    started = time.monotonic()
    half_head.send(b"POST /wechat HTTP/1.1\r\nHost: bot.test\r\nContent-")
    half_body.send(push_head + push_body[:20])
    no_body.send(push_head)
    idle_get.send(get("/p/"))
    idle_post.send(push_head + push_body)
    assert idle_get.answer().status == 200
    assert b"HELP" in idle_post.answer().body
    for slow in (half_head, half_body, no_body):
        answer = slow.answer()
        assert (answer.status, answer.reason, answer.body) == (408, "Request Timeout", b"request timeout")
        assert_framed(answer, bot, keep_alive=False)
        assert slow.rest() == b""
    for idle in (idle_get, idle_post, silent):
        assert idle.rest() == b""  # closed without a word: no request was under way
    assert 0.3 <= time.monotonic() - started < 3
    assert seen(bot) == {"msg:104"}


def test_a_connection_answering_is_not_timed_out(
    serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The time limits are the client's: a push waiting longer than them for its commit is still answered."""
    monkeypatch.setattr(http1, "REQUEST_SECONDS", 0.1)
    monkeypatch.setattr(http1, "IDLE_SECONDS", 0.1)
    monkeypatch.setattr(http1, "SWEEP_SECONDS", 0.02)
    bot = serve("plain")
    gate = Gate(_group(bot))
    client = connect(bot)
    head, body = signed_push(bot, text_push("帮助", msg_id=105))
    client.send(head + body)
    assert gate.entered.wait(5)
    time.sleep(0.3)
    gate.opened.set()
    assert b"HELP" in client.answer().body
    assert client.rest() == b""  # then idle, and closed


# --- a client that leaves, a graceful stop --------------------------------------------------------------------


def test_a_push_whose_client_left_is_committed_and_its_retry_gets_the_stored_reply(
    servers: list[RecordingServer], serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    server = servers[0]
    gate = Gate(_group(bot))
    push = text_push("订阅 NurOwn", msg_id=106)
    head, body = signed_push(bot, push)
    client = connect(bot)
    client.send(head + body)
    assert gate.entered.wait(5)  # the push is with the store, waiting for the write lock
    client.close()
    wait_for(lambda: not server.connections, "the server did not see the client leave")
    gate.opened.set()
    wait_for(lambda: "msg:106" in seen(bot), "the push was not committed")
    assert (rows(bot, InboundEvent), rows(bot, Subscription)) == (1, 1)
    retry = connect(bot)  # WeChat got no answer: it sends the same push again
    retry.send(head + body)
    answer = retry.answer()
    reply = bot.wechat.open(Response(answer.status, answer.body, Headers(list(answer.headers.items()))))
    assert reply.status == 200 and "已订阅 NurOwn" in reply.content  # the first reply, not "already subscribed"
    assert (rows(bot, InboundEvent), rows(bot, Subscription)) == (1, 1)
    retry.send(get("/metrics"))
    assert b"wxbot_duplicates_dropped_total 1.0" in retry.answer().body


def test_a_graceful_stop_finishes_the_push_under_way_and_closes_idle_connections(
    servers: list[RecordingServer], serve: Callable[..., LiveBot], connect: Callable[[LiveBot], Client]
) -> None:
    bot = serve("plain")
    server = servers[0]
    gate = Gate(_group(bot))
    pushing, kept, silent = connect(bot), connect(bot), connect(bot)
    kept.send(get("/healthz"))
    assert kept.answer().status == 200
    head, body = signed_push(bot, text_push("帮助", msg_id=107))
    pushing.send(head + body)
    assert gate.entered.wait(5)
    wait_for(lambda: len(server.connections) == 3, "not every connection was accepted")
    stopping = asyncio.run_coroutine_threadsafe(server.stop(5), server.loop)
    assert kept.rest() == b"" and silent.rest() == b""  # idle: closed at once
    with pytest.raises(ConnectionRefusedError):
        Client(bot)  # no longer listening
    assert not stopping.done()  # waiting for the push
    gate.opened.set()
    answer = pushing.answer()
    assert answer.status == 200 and b"<Content><![CDATA[HELP]]></Content>" in answer.body
    assert answer.headers.get("connection") == "close"  # the client learns the connection ends with this answer
    stopping.result(5)
    assert pushing.rest() == b""
    assert not server.connections and not server.tasks
    assert seen(bot) == {"msg:107"}
