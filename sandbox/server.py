"""Threaded wsgiref server for the sandbox: in-process (background thread) or standalone."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .app import SandboxApp
from .platform import Platform
from .pusher import Pusher


class _Handler(WSGIRequestHandler):
    """Quiet request handler that lets the app drop the connection (`environ["sandbox.drop"]`)."""

    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()
        env["sandbox.drop"] = self._drop
        return env

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        return


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per request, daemon threads, quick restarts."""

    daemon_threads = True
    allow_reuse_address = True


class SandboxServer:
    """Serves a Platform over HTTP; `start()` runs it in a background thread, `url` is its base URL."""

    def __init__(
        self, platform: Platform, host: str = "127.0.0.1", port: int = 0, pusher: Pusher | None = None
    ) -> None:
        self.platform = platform
        self.pusher = pusher or Pusher(platform)
        self.app = SandboxApp(platform, self.pusher)
        self._httpd = make_server(host, port, self.app, server_class=ThreadingWSGIServer, handler_class=_Handler)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """Bound host."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """Bound port (the ephemeral one when constructed with port=0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (API under /cgi-bin/, admin under /sandbox/)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-server", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the current thread (standalone process)."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
