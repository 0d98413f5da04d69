"""`wxbot demo`: the bot, the scheduler and the WeChat stand-in on one machine, with a phone-like page."""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated

import typer

from posts.timing import in_quiet_hours
from wxbot.context import app_context, console


def demo(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", "-p", help="Port of the phone page and the stand-in.")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    mode: Annotated[str, typer.Option("--mode", help="Callback encryption: plain, compat or safe.")] = "safe",
    unverified: Annotated[
        bool, typer.Option("--unverified", help="The stand-in plays an unverified account (see `wxbot account check`).")
    ] = False,
    console_port: Annotated[int, typer.Option("--console-port", help="Port of the operator console (0: any).")] = 8090,
) -> None:
    """Run the whole product on embedded defaults and open a phone-like chat page in the browser."""
    if mode not in ("plain", "compat", "safe"):
        raise typer.BadParameter("must be plain, compat or safe", param_hint="--mode")
    from wxbot.demo import Demo  # imports every part of the product: only when a demo is asked for

    started = time.monotonic()
    with console.status("starting the stand-in, the bot, the scheduler and the operator console…"):
        running = Demo(
            app_context(ctx).settings,
            host=host,
            port=port,
            mode=mode,
            clock=app_context(ctx).clock,
            verified=not unverified,
            console=True,
            console_port=console_port,
        ).start()
    console.print(f"[bold green]demo ready[/] in {time.monotonic() - started:.1f} s")
    console.print(f"  phone page   {running.phone_url}   ← open this in a browser")
    console.print(f"  bot          {running.bot_url}/wechat (callback), {running.bot_url}/p/ (content pages)")
    console.print(f"  terminal     wxbot chat --url {running.phone_url.rstrip('/')}")
    console.print(f"  console      {running.console_url}/   ← staff: compose, preview, approve, queue, reports")
    for name, password in running.staff.items():  # demo accounts only: a real console's passwords are never shown
        console.print(f"               sign in as {name:<9} password {password}   (this run only)")
    console.print(f"  scripts      wxbot --config {running.config_file} post add …   (see docs/operators.md)")
    if in_quiet_hours(running.clock(), running.settings.scheduler):
        quiet = running.settings.scheduler
        console.print(
            f"  note: it is quiet hours now ({quiet.quiet_hours_start}–{quiet.quiet_hours_end} "
            f"{quiet.timezone}): queued posts wait until they end; --config a file with equal start and end "
            "to switch them off"
        )
    console.print("  Ctrl-C stops it.")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        with console.status("stopping…"):
            running.stop()
        console.print("demo stopped")
