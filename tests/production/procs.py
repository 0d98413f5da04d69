"""Real processes for the production tests: the stand-in, `wxbot serve`, `wxbot scheduler run`, config files."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
WXBOT = str(Path(sys.executable).with_name("wxbot"))
TEMPLATE_ID = "tmpl_als_notice_0000000000000000000000000001"
"""The service-notice template of deploy/config.production.toml (wechat.templates.event_notice)."""
CONFIG = ROOT / "deploy" / "config.production.toml"
SECRETS = {
    "WXBOT_WECHAT_APP_SECRET": "sandbox-secret-0000000000000001",
    "WXBOT_WECHAT_TOKEN": "sandboxtoken",
    "WXBOT_WECHAT_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}
APP_ID = "wx0000sandbox0001"
ORIGINAL_ID = "gh_5a4db0x00001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    """A child process with its output in a log file; stopped by its own pid, never by name."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        with contextlib.suppress(ProcessLookupError):  # workers left behind by a SIGKILLed parent
            os.killpg(self.popen.pid, signal.SIGKILL)


def spawn(name: str, args: list[str], tmp: Path, env: dict[str, str] | None = None) -> Proc:
    """Start ``args`` in its own process group (so stop() reaches the web workers too)."""
    log = tmp / f"{name}.log"
    full_env = {**os.environ, **SECRETS, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("WXBOT_CONFIG", None)
    handle = log.open("wb")
    popen = subprocess.Popen(
        args, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=full_env, start_new_session=True
    )
    handle.close()
    return Proc(name, popen, log)


def wait_for(predicate: Any, timeout: float, what: str, proc: Proc | None = None) -> None:
    """Poll ``predicate`` until it is true; fail with ``what`` (and the process's output) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        if proc is not None and not proc.alive():
            raise AssertionError(f"{proc.name} exited while waiting for {what}:\n{proc.output()[-4000:]}")
        time.sleep(0.1)
    tail = f":\n{proc.output()[-4000:]}" if proc is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")


def http_ok(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


def start_sandbox(tmp: Path, callback_url: str, followers: int = 0, extra: tuple[str, ...] = ()) -> Proc:
    """`python -m sandbox` on a free port, safe mode, with the test template; its JSON line lands in ``info``."""
    port = free_port()
    args = [sys.executable, "-m", "sandbox", "--port", str(port), "--callback-url", callback_url, "--mode", "safe"]
    args += ["--template", TEMPLATE_ID, "--followers", str(followers), *extra]
    proc = spawn("sandbox", args, tmp)
    wait_for(lambda: proc.output().strip().startswith("{"), 20, "the stand-in's JSON line", proc)
    proc.info = json.loads(proc.output().splitlines()[0])
    wait_for(lambda: http_ok(proc.info["url"] + "/sandbox/faults"), 20, "the stand-in", proc)
    return proc


def production_env(db_url: str, *, port: int, api_url: str, redis_url: str = "", workers: int = 2) -> dict[str, str]:
    """deploy/config.production.toml's overrides for this machine (as docs/deploy.md gives them)."""
    return {
        "WXBOT_DATABASE_URL": db_url,
        "WXBOT_SERVER_HOST": "127.0.0.1",
        "WXBOT_SERVER_PORT": str(port),
        "WXBOT_SERVER_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WXBOT_SERVER_WORKERS": str(workers),
        "WXBOT_WECHAT_API_BASE_URL": api_url,
        "WXBOT_REDIS_URL": redis_url,
        "WXBOT_SCHEDULER_QUIET_HOURS_START": "00:00",  # equal start and end: no quiet hours in tests
        "WXBOT_SCHEDULER_QUIET_HOURS_END": "00:00",
    }


def wxbot(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run one `wxbot --config deploy/config.production.toml <args>` to completion; its output, or an assertion."""
    full_env = {**os.environ, **SECRETS, **env}
    full_env.pop("WXBOT_CONFIG", None)
    done = subprocess.run(
        [WXBOT, "--config", str(CONFIG), *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"wxbot {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def start_serve(tmp: Path, env: dict[str, str], name: str = "serve") -> Proc:
    """`wxbot serve` with the production config; returns once /healthz answers."""
    proc = spawn(name, [WXBOT, "--config", str(CONFIG), "serve"], tmp, env)
    port = env["WXBOT_SERVER_PORT"]
    wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 60, "wxbot serve /healthz", proc)
    return proc


def start_scheduler(tmp: Path, env: dict[str, str], name: str) -> Proc:
    return spawn(name, [WXBOT, "--config", str(CONFIG), "scheduler", "run"], tmp, env)


def children(pid: int) -> list[int]:
    """Direct child pids of ``pid`` (`wxbot serve`'s workers)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes, summed (from /proc/<pid>/status)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def pid_of_local_port(port: int, candidates: list[int]) -> int | None:
    """Which of ``candidates`` owns the TCP socket whose local port is ``port`` (from /proc/net/tcp*)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    for pid in candidates:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return pid
    return None
