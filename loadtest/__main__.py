"""`python -m loadtest --rate 200 --duration 120 --url http://127.0.0.1:8080/wechat [--pid SERVER_PID]`."""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from urllib.parse import urlsplit

from loadtest import pushes, report, runner
from sandbox.config import PlatformConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = PlatformConfig()
    ap = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__)
    ap.add_argument("--url", default="http://127.0.0.1:8080/wechat", help="the callback, on loopback only")
    ap.add_argument("--rate", type=float, default=50.0, help="requests per second (fixed, open loop)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds; rate × duration requests in all")
    ap.add_argument("--threads", type=int, default=32, help="client threads (keep-alive connections)")
    ap.add_argument("--followers", type=int, default=500, help="distinct openids sending")
    ap.add_argument("--pid", type=int, default=None, help="the server's pid: its RSS (with workers) is reported")
    ap.add_argument("--mode", choices=["plain", "safe"], default=d.message_mode)
    ap.add_argument("--token", default=d.token)
    ap.add_argument("--app-id", default=d.app_id)
    ap.add_argument("--original-id", default=d.original_id)
    ap.add_argument("--aes-key", default=d.encoding_aes_key)
    return ap.parse_args(argv)


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = urlsplit(args.url)
    if url.scheme != "http" or not url.hostname or not loopback(url.hostname):
        print("loadtest: --url must be http:// on a loopback address", file=sys.stderr)
        return 2
    count = int(args.rate * args.duration)
    if count < 1 or args.rate <= 0:
        print("loadtest: --rate and --duration must give at least one request", file=sys.stderr)
        return 2
    account = pushes.Account(args.token, args.app_id, args.original_id, args.aes_key, args.mode)
    built = pushes.build(account, url.path or "/wechat", count, args.followers)
    rss_start = report.rss_mib(args.pid)
    outcome = runner.run(url.hostname, url.port or 80, built, args.rate, args.threads)
    result = report.summary(outcome, args.rate, rss_start, report.rss_mib(args.pid))
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
