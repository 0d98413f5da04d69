"""Run the sandbox as a standalone process: `python -m sandbox --port 8765 --callback-url ...`."""

from __future__ import annotations

import argparse
import json
import sys

from .config import PlatformConfig
from .platform import Platform
from .server import SandboxServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    d = PlatformConfig()
    ap = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--app-id", default=d.app_id)
    ap.add_argument("--app-secret", default=d.app_secret)
    ap.add_argument("--token", default=d.token, help="callback Token")
    ap.add_argument("--aes-key", default=d.encoding_aes_key, help="EncodingAESKey (43 chars)")
    ap.add_argument("--original-id", default=d.original_id)
    ap.add_argument("--account-type", choices=["service", "subscription"], default=d.account_type)
    ap.add_argument("--unverified", action="store_true", help="an unverified account (48001 on most APIs)")
    ap.add_argument("--ip-whitelist", action="append", default=[], help="allowed caller address (repeatable)")
    ap.add_argument("--mode", choices=["plain", "compat", "safe"], default=d.message_mode)
    ap.add_argument("--callback-url", default=None)
    ap.add_argument("--followers", type=int, default=0, help="pre-create N followers")
    ap.add_argument("--template", action="append", default=[], help="register a template id (repeatable)")
    ap.add_argument(
        "--notice-template", action="append", default=[], help="register a subscribe-notice template id (repeatable)"
    )
    ap.add_argument("--no-notices", action="store_true", help="an account without subscribe notices (48001)")
    ap.add_argument("--notice-long-term", action="store_true", help="long-term notices: a send keeps the consent")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the platform from options and serve until interrupted."""
    args = parse_args(argv)
    config = PlatformConfig(
        app_id=args.app_id,
        app_secret=args.app_secret,
        token=args.token,
        encoding_aes_key=args.aes_key,
        original_id=args.original_id,
        account_type=args.account_type,
        verified=not args.unverified,
        ip_whitelist=tuple(args.ip_whitelist),
        message_mode=args.mode,
        callback_url=args.callback_url,
        notices_enabled=not args.no_notices,
        notice_long_term=args.notice_long_term,
    )
    platform = Platform(config)
    if args.followers:
        platform.add_followers(args.followers)
    for template_id in args.template:
        platform.add_template(template_id)
    for template_id in args.notice_template:
        platform.add_notice_template(template_id)
    server = SandboxServer(platform, args.host, args.port)
    info = {
        "url": server.url,
        "app_id": config.app_id,
        "app_secret": config.app_secret,
        "token": config.token,
        "encoding_aes_key": config.encoding_aes_key,
        "original_id": config.original_id,
    }
    print(json.dumps(info), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
