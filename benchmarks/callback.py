"""`python -m benchmarks.callback`: /wechat throughput and latency of wxbot (granian) vs WeRoBot 1.13 (gunicorn).

Both servers answer the same pushes with the same replies, in the same run, with the same number of worker
processes: a keyword text and a menu click, in plaintext and in safe (AES) mode, at concurrency 16 and 64.
wrk replays pre-signed pushes with unique MsgIds (and unique event keys), so dedupe never short-circuits.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from urllib.parse import urlencode

from bot.crypto import MessageCrypto, signature
from bot.replies import cdata
from posts.loader import default_content_dir, load_catalog
from posts.render import Renderer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN, AES_KEY, APP_ID, GH = (
    "benchtoken",
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "wxbench0000000001",
    "gh_bench000001",
)
TIMESTAMP, NONCE = "1700000000", "1234567"
KEYWORD, CLICK_KEY = "你好", "TOC"
_ids = itertools.count(int(time.time()) * 1000)


@dataclass(frozen=True)
class Result:
    server: str
    mode: str
    scenario: str
    concurrency: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _push(scenario: str, n: int) -> str:
    openid = f"oBench{n % 5000:022d}"
    head = f"<ToUserName>{cdata(GH)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
    if scenario == "keyword":
        return (
            f"<xml>{head}<CreateTime>{n}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{cdata(KEYWORD)}</Content><MsgId>{n}</MsgId></xml>"
        )
    return (
        f"<xml>{head}<CreateTime>{n}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[CLICK]]></Event><EventKey>{cdata(CLICK_KEY)}</EventKey></xml>"
    )


def write_requests(path: Path, mode: str, scenario: str, count: int) -> None:
    """``count`` signed pushes, one per line (path TAB body), each with its own MsgId/CreateTime."""
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    base = {"signature": signature(TOKEN, TIMESTAMP, NONCE), "timestamp": TIMESTAMP, "nonce": NONCE}
    with path.open("w", encoding="utf-8") as out:
        for _ in range(count):
            body = _push(scenario, next(_ids))
            query = dict(base, openid="o")
            if mode == "aes":
                encrypted = crypto.encrypt(body)
                query |= {"encrypt_type": "aes", "msg_signature": signature(TOKEN, TIMESTAMP, NONCE, encrypted)}
                body = f"<xml><ToUserName>{cdata(GH)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
            out.write(f"/wechat?{urlencode(query)}\t{body}\n")


def ensure_werobot_venv(venv: Path) -> Path:
    """A separate venv with WeRoBot 1.13.1 and gunicorn (never the project's dependencies)."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "gunicorn").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "werobot==1.13.1", "gunicorn", "cryptography"], check=True
        )
    return venv


def wait_ready(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def check_reply(port: int, mode: str, scenario: str, expected: str) -> None:
    """One push by hand: the server must answer with ``expected`` (decrypted in AES mode)."""
    with tempfile.NamedTemporaryFile("r+", suffix=".txt") as f:
        write_requests(Path(f.name), mode, scenario, 1)
        path, body = Path(f.name).read_text(encoding="utf-8").rstrip("\n").split("\t")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", path, body.encode(), {"Content-Type": "text/xml"})
    reply = conn.getresponse().read().decode()
    if mode == "aes":
        reply = MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", reply)[1])
    if expected.strip()[:40] not in reply:
        raise RuntimeError(f"port {port} {mode}/{scenario}: unexpected reply {reply[:200]!r}")


def run_wrk(
    port: int, requests: Path, concurrency: int, duration: int, threads: int, distinct: int
) -> tuple[int, float, float, float, int]:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(HERE / "wrk_requests.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        str(requests),
        str(threads),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)", done.stderr)
    if not match:
        raise RuntimeError(f"wrk said: {done.stdout}{done.stderr}")
    reqs, micros, p50, p99, errors = (int(x) for x in match.groups())
    if reqs > distinct:
        print(
            f"  warning: {reqs} requests but only {distinct} distinct pushes (some were redeliveries)", file=sys.stderr
        )
    return reqs, micros / 1e6, p50 / 1000, p99 / 1000, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes for both servers (1: wxbot's default, server.workers)"
    )
    parser.add_argument(
        "--threads", type=int, default=32, help="wxbot's server.threads (PostgreSQL transactions per worker)"
    )
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--concurrency", default="16,64")
    parser.add_argument("--modes", default="plain,aes")
    parser.add_argument("--scenarios", default="keyword,click")
    parser.add_argument("--servers", default="wxbot,werobot")
    parser.add_argument("--werobot-venv", default="/tmp/werobot-venv")
    parser.add_argument("--per-run", type=int, default=100000, help="distinct pre-signed pushes per measurement")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measurements per cell and server, taken in turn; the table shows medians"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("benchmarks: needs wrk (apt-get install -y wrk)")
    servers = args.servers.split(",")
    venv = ensure_werobot_venv(Path(args.werobot_venv)) if "werobot" in servers else None

    catalog, _ = load_catalog(default_content_dir())
    rule = catalog.match_keyword(KEYWORD)
    keyword_reply = rule.reply if rule and rule.reply else ""
    click_reply = Renderer(catalog, "http://127.0.0.1").toc().text
    expected = {"keyword": keyword_reply, "click": click_reply}
    work = Path(tempfile.mkdtemp(prefix="wxbot-bench-"))
    results: list[Result] = []
    try:
        for mode in args.modes.split(","):
            procs = _start(servers, mode, work, args, venv, keyword_reply, click_reply)
            try:
                for scenario in args.scenarios.split(","):
                    for port in procs.values():
                        check_reply(port, mode, scenario, expected[scenario])
                    cells = [int(c) for c in args.concurrency.split(",") for _ in range(args.repeat)]
                    for conc in cells:
                        for name, port in procs.items():
                            file = work / f"req-{name}-{mode}-{scenario}-{conc}.txt"
                            write_requests(file, mode, scenario, args.per_run)
                            reqs, secs, p50, p99, errors = run_wrk(
                                port, file, conc, args.duration, args.wrk_threads, args.per_run
                            )
                            file.unlink()
                            results.append(Result(name, mode, scenario, conc, reqs, secs, p50, p99, errors))
                            r = results[-1]
                            print(
                                f"  {name:8} {mode:5} {scenario:7} c={conc:<3} {r.rps:8.0f} req/s  "
                                f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {errors}",
                                file=sys.stderr,
                            )
            finally:
                for proc in _running:
                    proc.terminate()
                for proc in _running:
                    proc.wait(10)
                _running.clear()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(results, args)


_running: list[subprocess.Popen[bytes]] = []


def _start(
    servers: list[str],
    mode: str,
    work: Path,
    args: argparse.Namespace,
    venv: Path | None,
    keyword_reply: str,
    click_reply: str,
) -> dict[str, int]:
    ports: dict[str, int] = {}
    if "wxbot" in servers:
        port = 18080
        config = work / f"wxbot-{mode}.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{work}/wxbot-{mode}.db"\n'
            f'[server]\nhost = "127.0.0.1"\nport = {port}\nworkers = {args.workers}\nthreads = {args.threads}\n'
            f'[wechat]\napp_id = "{APP_ID}"\napp_secret = "benchsecret"\ntoken = "{TOKEN}"\n'
            f'encoding_aes_key = "{AES_KEY}"\noriginal_id = "{GH}"\n'
            f'message_mode = "{"safe" if mode == "aes" else "plain"}"\n'
            "[scheduler]\nembedded = false\n",
            encoding="utf-8",
        )
        log = (work / f"wxbot-{mode}.log").open("wb")
        cmd = [sys.executable, "-m", "wxbot", "--config", str(config), "serve"]
        _running.append(subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        wait_ready(port, "/healthz")
        ports["wxbot"] = port
    if "werobot" in servers and venv is not None:
        port = 18081
        config = work / "werobot.json"
        werobot = {
            "token": TOKEN,
            "keyword": KEYWORD,
            "keyword_reply": keyword_reply,
            "click_key": CLICK_KEY,
            "click_reply": click_reply,
            "encoding_aes_key": AES_KEY,
            "app_id": APP_ID,
        }
        config.write_text(json.dumps(werobot, ensure_ascii=False), encoding="utf-8")
        env = dict(os.environ, BENCH_WEROBOT_CONFIG=str(config), PYTHONPATH=str(HERE))
        cmd = [
            str(venv / "bin" / "gunicorn"),
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "werobot_app:app",
        ]
        _running.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_ready(port, "/")
        ports["werobot"] = port
    return ports


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    """One row per cell; with ``--repeat`` the medians of its measurements, and each measurement's ratio."""
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{args.workers} worker process(es) each; wrk -t{args.wrk_threads}, {args.duration} s per run"
        + (f", {args.repeat} measurements per cell and server (medians)" if args.repeat > 1 else "")
    )
    repeated = args.repeat > 1
    print(
        "| mode | reply | c | wxbot req/s | wxbot p50 / p99 ms | WeRoBot req/s | WeRoBot p50 / p99 ms | ratio |"
        + (" ratios |" if repeated else "")
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if repeated else ""))
    keys = sorted({(r.mode, r.scenario, r.concurrency) for r in results}, key=lambda k: (k[0] != "plain", k[1], k[2]))
    for mode, scenario, conc in keys:
        cell = [r for r in results if (r.mode, r.scenario, r.concurrency) == (mode, scenario, conc)]
        ours = [r for r in cell if r.server == "wxbot"]
        theirs = [r for r in cell if r.server == "werobot"]
        cells = [mode, scenario, str(conc)]
        for runs in (ours, theirs):
            cells += (
                [
                    f"{median(r.rps for r in runs):.0f}",
                    f"{median(r.p50_ms for r in runs):.1f} / {median(r.p99_ms for r in runs):.1f}",
                ]
                if runs
                else ["-", "-"]
            )
        both = ours and theirs
        cells.append(f"{median(r.rps for r in ours) / median(r.rps for r in theirs):.2f}×" if both else "-")
        if repeated:
            cells.append(", ".join(f"{a.rps / b.rps:.2f}" for a, b in zip(ours, theirs, strict=False)) or "-")
        errors = sum(r.errors for r in cell)
        print("| " + " | ".join(cells) + " |" + (f" ({errors} errors)" if errors else ""))


if __name__ == "__main__":
    main()
