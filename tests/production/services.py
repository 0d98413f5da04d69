"""Start, stop and wait for this machine's PostgreSQL and Redis (the commands .ci/run uses)."""

from __future__ import annotations

import os
import subprocess
import time

PG_HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _cluster() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def _pg(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", _cluster(), "main", action],
        check=False,
        capture_output=True,
        timeout=60,
    )


def postgres_up() -> bool:
    done = subprocess.run(["pg_isready", "-h", PG_HOST, "-p", "5432", "-q"], check=False, timeout=10)
    return done.returncode == 0


def redis_up() -> bool:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"], check=False, capture_output=True, timeout=10
    )
    return done.returncode == 0 and b"PONG" in done.stdout


def _wait(check: object, up: bool, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check() == up:  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} still {'down' if up else 'up'} after {timeout:.0f}s")


def stop_postgres() -> None:
    _pg("stop")
    _wait(postgres_up, False, "PostgreSQL")


def start_postgres() -> None:
    _pg("start")
    _wait(postgres_up, True, "PostgreSQL")


def ensure_postgres() -> None:
    """PostgreSQL up (fails the test if it cannot be started: CI must have it)."""
    if not postgres_up():
        start_postgres()


def stop_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], check=False, timeout=10)
    _wait(redis_up, False, "Redis")


def start_redis() -> None:
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    args = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379"]
    args += ["--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"]
    subprocess.run(args, check=False, capture_output=True, timeout=30)
    _wait(redis_up, True, "Redis")


def ensure_redis() -> None:
    """Redis up (fails the test if it cannot be started)."""
    if not redis_up():
        start_redis()
