"""The `wxbot` command: one Typer app, one subcommand group per module in wxbot/commands/."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from posts.settings import SettingsError
from wxbot.commands import (
    account,
    alerts,
    chat,
    console_cmd,
    content,
    db,
    demo,
    followers,
    menu,
    post,
    publish,
    qr,
    scheduler,
    serve,
    stats,
    users,
    wechat,
)
from wxbot.context import AppContext, fail

app = typer.Typer(
    name="wxbot",
    help="Backend of the WeChat Official Account on stem-cell therapies for ALS (渐冻症).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(content.app, name="content")
app.command(name="demo")(demo.demo)
app.command(name="chat")(chat.chat)
app.command(name="serve")(serve.serve)
app.command(name="console")(console_cmd.serve_console)
app.add_typer(users.app, name="users")
app.add_typer(menu.app, name="menu")
app.add_typer(qr.app, name="qr")
app.add_typer(post.app, name="post")
app.add_typer(followers.app, name="followers")
app.add_typer(account.app, name="account")
app.command(name="publish")(publish.publish)
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(alerts.app, name="alerts")
app.command(name="stats")(stats.stats)
menu.app.command(name="push")(wechat.menu_push)
qr.app.command(name="create")(wechat.qr_create)
app.add_typer(wechat.tags_app, name="tags")


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="TOML settings file (default: $WXBOT_CONFIG, else embedded defaults)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        for noisy in ("alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    # urllib3's DEBUG lines carry request URLs, i.e. ?access_token=...: never logged, even with --verbose.
    logging.getLogger("urllib3").setLevel(logging.INFO)
    if isinstance(ctx.obj, AppContext):  # given by a caller (tests pass their clock)
        ctx.obj.config_path = config
    else:
        ctx.obj = AppContext(config_path=config)


def main() -> None:
    """Entry point: run the app; expected problems end as one line and exit code 2, never a traceback."""
    try:
        app()
    except SettingsError as exc:
        raise SystemExit(_one_line(fail(str(exc)))) from None
    except OperationalError as exc:
        raise SystemExit(_one_line(fail(f"database unavailable: {str(exc.orig).splitlines()[0]}"))) from None


def _one_line(exit_: typer.Exit) -> int:
    return exit_.exit_code
