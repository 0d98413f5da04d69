"""`python -m benchmarks.callback`: /wechat throughput, latency and server CPU of wxbot against its peers at their best.

Every server answers the same pushes with the same replies, in the same run, side by side: a keyword text and a
menu click, in plaintext and in safe (AES) mode, at concurrency 16 and 64. wxbot runs with everything on (dedupe row
with the stored reply, inbound log, follower update) on SQLite (group commit, the default) and on PostgreSQL
(``server.store = "group_commit"``, the production recommendation); the peers, which do no database work, run in
their best configuration on this machine: gunicorn gthread, 2 workers x 4 threads, ``reuse_port`` (WeRoBot 1.13 and
wechatpy 1.8 + Flask, from a separate venv). wrk replays pre-signed pushes with unique MsgIds (and unique event
keys), so dedupe never short-circuits. wrk runs on the same two cores as the server and its own threads take CPU
from it, so every server is measured with one wrk thread and with two, and each gets its better count per cell. Each
measurement also reads the CPU time of the server's whole process tree (all workers and threads), given per push.
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
from uuid import uuid4

from benchmarks.scratchdb import create_database, drop_databases
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
PEER_PACKAGES = ("werobot==1.13.1", "wechatpy[cryptography]==1.8.18", "flask>=3,<4", "gunicorn==23.0.0", "cryptography")
"""gunicorn 23.0 is pinned: WeRoBot answered up to 14 % more pushes under it than under 27.0 (docs/benchmarks.md)."""
PEERS = {"werobot": ("WeRoBot", "werobot_app:app"), "wechatpy": ("wechatpy+Flask", "wechatpy_app:app")}
"""The peers: the name in the table and the gunicorn app."""
DATABASES = ("sqlite", "postgres")
PG_ADMIN_URL = os.environ.get("WXBOT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
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
    cpu_seconds: float = 0.0
    """CPU time (user + system) of the server's process tree during the measurement."""
    database_cpu_seconds: float | None = None
    """CPU time of the PostgreSQL backends serving the server's database (wxbot on PostgreSQL), else None."""
    wrk_threads: int = 1
    """wrk's threads in this measurement."""

    @property
    def cpu_us_per_push(self) -> float:
        return self.cpu_seconds / self.requests * 1e6 if self.requests else 0.0

    @property
    def database_us_per_push(self) -> float | None:
        if self.database_cpu_seconds is None or not self.requests:
            return None
        return self.database_cpu_seconds / self.requests * 1e6

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


PEER_IMPORTS = "import werobot, wechatpy, flask, gunicorn"


def ensure_werobot_venv(venv: Path) -> Path:
    """A separate venv with the peers and gunicorn (never the project's dependencies)."""
    python = venv / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", PEER_IMPORTS], capture_output=True).returncode:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)  # the pinned versions
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
    """One push by hand: the server must answer with exactly ``expected`` as its text (decrypted in AES mode)."""
    with tempfile.NamedTemporaryFile("r+", suffix=".txt") as f:
        write_requests(Path(f.name), mode, scenario, 1)
        path, body = Path(f.name).read_text(encoding="utf-8").rstrip("\n").split("\t")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", path, body.encode(), {"Content-Type": "text/xml"})
    reply = conn.getresponse().read().decode()
    if mode == "aes":
        reply = MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", reply)[1])
    content = re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", reply, re.S)
    if content is None or content[1].strip() != expected.strip():
        raise RuntimeError(f"port {port} {mode}/{scenario}: not the very reply expected: {reply[:300]!r}")


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


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) of ``pid`` and its descendants so far (Linux /proc)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    tree, total, grew = {pid}, 0.0, True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    for member in tree:
        total += stats.get(member, (0, 0.0))[1]
    return total


def database_cpu(database: str | None) -> float | None:
    """CPU seconds so far of the PostgreSQL backends connected to ``database`` (their process titles name it), or
    None without one. PostgreSQL's shared processes (WAL writer, checkpointer) are not in it."""
    if database is None:
        return None
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


@dataclass
class Running:
    """One server under test: its name in the table, how it runs, its port and process, its PostgreSQL database."""

    name: str
    config: str
    port: int
    process: subprocess.Popen[bytes]
    database: str | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument("--databases", default="sqlite,postgres", help="wxbot's databases: sqlite, postgres or both")
    parser.add_argument(
        "--sqlite-workers", type=int, default=SQLITE_WORKERS, help="wxbot's server.workers on SQLite (its default)"
    )
    parser.add_argument(
        "--postgres-workers",
        type=int,
        default=POSTGRES_WORKERS,
        help="wxbot's server.workers on PostgreSQL (deploy/config.production.toml)",
    )
    parser.add_argument("--postgres-store", default="group_commit", help="wxbot's server.store on PostgreSQL")
    parser.add_argument(
        "--postgres-writers", type=int, default=POSTGRES_WRITERS, help="wxbot's server.writers on PostgreSQL"
    )
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL, help="a PostgreSQL database to create the bench's in")
    parser.add_argument(
        "--threads", type=int, default=8, help="wxbot's server.threads (per-push transactions at once per worker)"
    )
    parser.add_argument("--peer-workers", type=int, default=2, help="gunicorn workers of each peer")
    parser.add_argument("--peer-threads", type=int, default=4, help="gunicorn gthread threads per peer worker")
    parser.add_argument(
        "--peer-worker-class", default="gthread", help="gunicorn worker class of the peers (gthread, sync)"
    )
    parser.add_argument(
        "--wrk-threads",
        default="1,2",
        help="wrk's threads; with several (1,2), every server is measured with each and gets its better one per cell",
    )
    parser.add_argument("--concurrency", default="16,64")
    parser.add_argument("--modes", default="plain,aes", help="plain and/or aes (safe mode)")
    parser.add_argument("--scenarios", default="keyword,click")
    parser.add_argument("--servers", default="wxbot,werobot,wechatpy", help="wxbot, werobot, wechatpy")
    parser.add_argument("--werobot-venv", default="/tmp/werobot-venv", help="the peers' venv (created on first use)")
    parser.add_argument("--per-run", type=int, default=100000, help="distinct pre-signed pushes per measurement")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measurements per cell and server, taken in turn; the table shows medians"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("benchmarks: needs wrk (apt-get install -y wrk)")
    servers = args.servers.split(",")
    databases = [d for d in args.databases.split(",") if d]
    unknown = [s for s in servers if s != "wxbot" and s not in PEERS] + [d for d in databases if d not in DATABASES]
    if unknown:
        raise SystemExit(f"benchmarks: unknown server or database {', '.join(unknown)}")
    try:
        wrk_threads = [int(t) for t in args.wrk_threads.split(",")]
    except ValueError:
        raise SystemExit(f"benchmarks: --wrk-threads wants numbers like 1,2, not {args.wrk_threads!r}") from None
    venv = ensure_werobot_venv(Path(args.werobot_venv)) if any(s in PEERS for s in servers) else None

    catalog, _ = load_catalog(default_content_dir())
    rule = catalog.match_keyword(KEYWORD)
    renderer = Renderer(catalog, "http://127.0.0.1")
    # The very texts wxbot sends, disclaimer included: every server answers with the same bytes.
    keyword_reply = renderer.close(rule.reply) if rule and rule.reply else ""
    click_reply = renderer.toc().text
    expected = {"keyword": keyword_reply, "click": click_reply}
    work = Path(tempfile.mkdtemp(prefix="wxbot-bench-"))
    results: list[Result] = []
    configs: dict[str, str] = {}
    pg_databases: list[str] = []
    try:
        for mode in args.modes.split(","):
            running = _start(servers, databases, mode, work, args, venv, keyword_reply, click_reply, pg_databases)
            configs.update({r.name: r.config for r in running})
            try:
                for scenario in args.scenarios.split(","):
                    for server in running:
                        check_reply(server.port, mode, scenario, expected[scenario])
                    cells = [int(c) for c in args.concurrency.split(",") for _ in range(args.repeat)]
                    for conc, threads in itertools.product(cells, wrk_threads):
                        for server in running:
                            file = work / f"req-{server.name}-{mode}-{scenario}-{conc}.txt"
                            write_requests(file, mode, scenario, args.per_run)
                            cpu_before = tree_cpu(server.process.pid)
                            db_before = database_cpu(server.database)
                            reqs, secs, p50, p99, errors = run_wrk(
                                server.port, file, conc, args.duration, threads, args.per_run
                            )
                            cpu = tree_cpu(server.process.pid) - cpu_before
                            db_after = database_cpu(server.database)
                            db_cpu = None if db_after is None or db_before is None else db_after - db_before
                            file.unlink()
                            r = Result(
                                server.name, mode, scenario, conc, reqs, secs, p50, p99, errors, cpu, db_cpu, threads
                            )
                            results.append(r)
                            print(
                                f"  {server.name:14} {mode:5} {scenario:7} c={conc:<3} -t{threads} {r.rps:8.0f} req/s  "
                                f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  CPU {r.cpu_us_per_push:5.0f} µs/push "
                                f"({cpu / secs * 100:3.0f} %)"
                                + (f" + PostgreSQL {r.database_us_per_push:4.0f} µs/push" if db_cpu is not None else "")
                                + f"  errors {errors}",
                                file=sys.stderr,
                            )
            finally:
                _stop(running)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        drop_databases(args.pg_admin_url, pg_databases)
    print_table(results, configs, args)


SQLITE_WORKERS = 2
"""wxbot's default server.workers (posts.settings.ServerSettings)."""
POSTGRES_WORKERS = 2
"""server.workers in deploy/config.production.toml."""
POSTGRES_WRITERS = 1
"""server.writers, its default."""


def _wxbot_config(database: str, url: str, mode: str, port: int, args: argparse.Namespace) -> str:
    workers = args.sqlite_workers if database == "sqlite" else args.postgres_workers
    store = "auto" if database == "sqlite" else args.postgres_store
    return (
        f'[database]\nurl = "{url}"\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nworkers = {workers}\nthreads = {args.threads}\n'
        f'store = "{store}"\nwriters = {args.postgres_writers}\n'
        f'[wechat]\napp_id = "{APP_ID}"\napp_secret = "benchsecret"\ntoken = "{TOKEN}"\n'
        f'encoding_aes_key = "{AES_KEY}"\noriginal_id = "{GH}"\n'
        f'message_mode = "{"safe" if mode == "aes" else "plain"}"\n'
        "[scheduler]\nembedded = false\n"
    )


def _start(
    servers: list[str],
    databases: list[str],
    mode: str,
    work: Path,
    args: argparse.Namespace,
    venv: Path | None,
    keyword_reply: str,
    click_reply: str,
    pg_databases: list[str],
) -> list[Running]:
    running: list[Running] = []
    try:
        if "wxbot" in servers:
            for number, database in enumerate(databases):
                port = 18080 + 2 * number
                pg_name = None
                if database == "sqlite":
                    url = f"sqlite:///{work}/wxbot-{mode}.db"
                    workers, store = args.sqlite_workers, "group commit"
                else:
                    pg_name = f"wxbot_bench_{mode}_{uuid4().hex[:8]}"
                    url = _create_database(args.pg_admin_url, pg_name, pg_databases)
                    workers = args.postgres_workers
                    store = f"{args.postgres_store.replace('_', ' ')}, {args.postgres_writers} writer(s) per worker"
                config = work / f"wxbot-{database}-{mode}.toml"
                config.write_text(_wxbot_config(database, url, mode, port, args), encoding="utf-8")
                log = (work / f"wxbot-{database}-{mode}.log").open("wb")
                cmd = [sys.executable, "-m", "wxbot", "--config", str(config), "serve"]
                process = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
                config_line = f"bot.http1, {workers} worker(s), {store}"
                running.append(Running(f"wxbot-{database}", config_line, port, process, pg_name))
                wait_ready(port, "/healthz")
        peer_config = work / "peers.json"
        peer_config.write_text(
            json.dumps(
                {
                    "token": TOKEN,
                    "keyword": KEYWORD,
                    "keyword_reply": keyword_reply,
                    "click_key": CLICK_KEY,
                    "click_reply": click_reply,
                    "encoding_aes_key": AES_KEY,
                    "app_id": APP_ID,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        for number, name in enumerate(p for p in PEERS if p in servers):
            assert venv is not None
            port = 18081 + 2 * number
            env = dict(os.environ, BENCH_WEROBOT_CONFIG=str(peer_config), PYTHONPATH=str(HERE))
            cmd = [
                str(venv / "bin" / "gunicorn"),
                "-w",
                str(args.peer_workers),
                "-k",
                args.peer_worker_class,
                *(["--threads", str(args.peer_threads)] if args.peer_worker_class == "gthread" else []),
                "--reuse-port",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                PEERS[name][1],
            ]
            process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            threads = f" x {args.peer_threads} threads" if args.peer_worker_class == "gthread" else ""
            config = f"gunicorn {args.peer_worker_class}, {args.peer_workers} workers{threads}, reuse_port"
            running.append(Running(name, config, port, process))
            wait_ready(port, "/wechat")
    except BaseException:
        _stop(running)
        raise
    return running


def _stop(running: list[Running]) -> None:
    for server in running:
        server.process.terminate()
    for server in running:
        server.process.wait(15)


def _create_database(admin_url: str, name: str, created: list[str]) -> str:
    url = create_database(admin_url, name)
    created.append(name)
    return url


def print_table(results: list[Result], configs: dict[str, str], args: argparse.Namespace) -> None:
    """One table per wxbot database; one row per cell: medians of its measurements (``--repeat``), server CPU per
    push, the ratio to the fastest peer (each back-to-back pair's ratio too when repeated) and the ratio to the best
    single peer measurement (:func:`ratio_to_best_single`). With several wrk
    thread counts, each server's cell shows its better one (:func:`best_of_threads`), named beside its req/s."""
    several = len({r.wrk_threads for r in results}) > 1
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        + (
            f"wrk -t{args.wrk_threads.replace(',', ' and -t')} (each server's better one per cell, named)"
            if several
            else f"wrk -t{args.wrk_threads}"
        )
        + f", {args.duration} s per measurement"
        + (f", {args.repeat} measurements per cell and server, in turn (medians)" if args.repeat > 1 else "")
    )
    for name, config in configs.items():
        print(f"- {name}: {config}")
    peers = [p for p in PEERS if any(r.server == p for r in results)]
    ours_names = [n for n in dict.fromkeys(r.server for r in results) if n.startswith("wxbot")] or [None]
    keys = sorted({(r.mode, r.scenario, r.concurrency) for r in results}, key=lambda k: (k[0] != "plain", k[1], k[2]))
    repeated = args.repeat > 1
    for ours_name in ours_names:
        columns = ["mode", "reply", "c"]
        with_db = any(r.database_cpu_seconds is not None for r in results if r.server == ours_name)
        if ours_name:
            columns += [f"{ours_name} req/s", "p50 / p99 ms", "CPU µs/push"]
            columns += ["PostgreSQL CPU µs/push"] if with_db else []
        for peer in peers:
            columns += [f"{PEERS[peer][0]} req/s", "p99 ms", "CPU µs/push"]
        if ours_name and peers:
            columns += ["ratio to best peer"] + (["ratios"] if repeated else []) + ["to the best single peer run"]
        print(f"\n{ours_name or 'peers'}:\n| " + " | ".join(columns) + " |")
        print("|" + " --- |" * len(columns))
        for mode, scenario, conc in keys:
            cell = [r for r in results if (r.mode, r.scenario, r.concurrency) == (mode, scenario, conc)]
            ours = best_of_threads([r for r in cell if r.server == ours_name])
            row = [mode, scenario, str(conc)]
            if ours_name:
                row += _cells(ours, with_p50=True, name_threads=several)
                if with_db:
                    spent = [r.database_us_per_push for r in ours if r.database_us_per_push is not None]
                    row.append(f"{median(spent):.0f}" if spent else "-")
            best: list[Result] = []
            for peer in peers:
                theirs = best_of_threads([r for r in cell if r.server == peer])
                row += _cells(theirs, with_p50=False, name_threads=several)
                if theirs and (not best or median(r.rps for r in theirs) > median(r.rps for r in best)):
                    best = theirs
            if ours_name and peers:
                ratio = median(r.rps for r in ours) / median(r.rps for r in best) if ours and best else None
                row.append(f"{ratio:.2f}×" if ratio is not None else "-")
                if repeated:
                    row.append(", ".join(f"{a.rps / b.rps:.2f}" for a, b in zip(ours, best, strict=False)) or "-")
                strict = ratio_to_best_single(ours, [r for r in cell if r.server in peers])
                row.append(f"{strict:.2f}×" if strict is not None else "-")
            errors = sum(r.errors for r in cell if r.server in (ours_name, *peers))  # every measurement's
            print("| " + " | ".join(row) + " |" + (f" ({errors} errors)" if errors else ""))


def ratio_to_best_single(ours: list[Result], peers: list[Result]) -> float | None:
    """The stricter ratio: wxbot's median (at its better wrk count) to the single best measurement of any peer at
    any wrk count, so that a measurement in which a peer's gunicorn left a worker idle cannot lower the peer."""
    if not ours or not peers:
        return None
    return median(r.rps for r in ours) / max(r.rps for r in peers)


def best_of_threads(runs: list[Result]) -> list[Result]:
    """One server's measurements of one cell, taken with the wrk thread count under which its median req/s is
    highest (the measurements with the other counts are left out)."""
    by_threads: dict[int, list[Result]] = {}
    for r in runs:
        by_threads.setdefault(r.wrk_threads, []).append(r)
    return max(by_threads.values(), key=lambda group: median(r.rps for r in group), default=[])


def _cells(runs: list[Result], with_p50: bool, name_threads: bool = False) -> list[str]:
    if not runs:
        return ["-", "-", "-"]
    p99 = f"{median(r.p99_ms for r in runs):.1f}"
    latency = f"{median(r.p50_ms for r in runs):.1f} / {p99}" if with_p50 else p99
    rps = f"{median(r.rps for r in runs):.0f}" + (f" (-t{runs[0].wrk_threads})" if name_threads else "")
    return [rps, latency, f"{median(r.cpu_us_per_push for r in runs):.0f}"]


if __name__ == "__main__":
    main()
