"""`wxbot serve`'s processes: a supervisor forks the web workers, replaces one that dies, stops them all on a signal.

Each worker runs the HTTP/1.1 server (:mod:`bot.http1`) on its own event loop (uvloop where it is installed) and
its own listening socket, bound with SO_REUSEPORT so that the kernel spreads the connections over the workers. The
supervisor serves nothing: it waits for signals (SIGTERM or Ctrl-C: stop; a worker's exit: start another).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bot.app import WebApp
from bot.http1 import HttpServer

log = logging.getLogger("wxbot.serve")

GRACE_SECONDS = 10.0
"""On stop, how long a worker lets its requests under way finish; the supervisor kills it 5 s after that."""
QUICK_EXIT_SECONDS = 5.0
"""A worker that exits this soon after its start failed to start; five in a row and the supervisor gives up."""
QUICK_EXITS_MAX = 5


class PortUnavailable(RuntimeError):
    """The address cannot be listened on (in use by another program, or not this machine's)."""


def check_address(host: str, port: int) -> None:
    """Fail now, with the reason, if no worker could listen on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR (a port in TIME_WAIT is free) but not SO_REUSEPORT: a second `wxbot serve` on the same
        # port (its workers listen with SO_REUSEPORT) is refused here instead of silently sharing the connections.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def run_worker(load_app: Callable[[], WebApp], host: str, port: int, *, grace: float = GRACE_SECONDS) -> None:
    """One worker: load the app, serve until SIGTERM or SIGINT, let the requests under way finish, close the app."""
    web = load_app()

    async def main() -> None:
        server = HttpServer(web)
        await server.start(host, port, reuse_port=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await server.stop(grace)

    try:
        _run(main())
    finally:
        web.close()


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency wherever it installs
        asyncio.run(main)
        return
    uvloop.run(main)  # ~25 % more pushes/s than asyncio's own loop


def supervise(count: int, start: Callable[[], None]) -> int:
    """Run ``start`` in ``count`` forked workers until SIGTERM or SIGINT; replace a worker that exits. Exit code."""
    watched = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    workers: dict[int, float] = {}
    supervisor = os.getpid()

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            exit_with_parent(supervisor)
            code = 0
            try:
                start()
            except BaseException:  # a worker must never return into the supervisor's code
                log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        workers[pid] = time.monotonic()

    stop_deadline: float | None = None
    quick_exits = 0
    exit_code = 0
    try:
        for _ in range(count):
            spawn()
        while workers:
            info = signal.sigtimedwait(watched, 0.5)
            if info is not None and info.si_signo != signal.SIGCHLD and stop_deadline is None:
                stop_deadline = time.monotonic() + GRACE_SECONDS + 5
                _signal_all(workers, signal.SIGTERM)
            for pid in list(workers):
                done, status = os.waitpid(pid, os.WNOHANG)
                if not done:
                    continue
                started = workers.pop(pid)
                if stop_deadline is not None:
                    continue
                quick_exits = quick_exits + 1 if time.monotonic() - started < QUICK_EXIT_SECONDS else 0
                log.warning("worker %d exited (%s); starting another", pid, _describe(status))
                if quick_exits >= QUICK_EXITS_MAX:
                    message = f"error: the web workers exit at start ({QUICK_EXITS_MAX} in a row); stopping"
                    print(message, file=sys.stderr)
                    exit_code = 1
                    stop_deadline = time.monotonic() + GRACE_SECONDS + 5
                    _signal_all(workers, signal.SIGTERM)
                    break
                if quick_exits:
                    time.sleep(min(quick_exits, 3))  # a worker failing at start is not restarted in a hot loop
                spawn()
            if stop_deadline is not None and time.monotonic() > stop_deadline:
                _signal_all(workers, signal.SIGKILL)
    finally:
        _signal_all(workers, signal.SIGTERM)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return exit_code


def _signal_all(workers: dict[int, float], signum: int) -> None:
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def exit_with_parent(supervisor: int) -> None:
    """Linux: this child gets SIGTERM if the supervisor dies (even by SIGKILL), so no child outlives it.

    Called in a child just forked (a worker, or the embedded scheduler as Popen's ``preexec_fn``): it starts no
    program (``ctypes.util.find_library`` runs ldconfig) and loads no library, prctl is in the process already."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != supervisor:  # the supervisor died before prctl took effect
        os._exit(0)
