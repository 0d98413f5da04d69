"""`wxbot account check` / `show`: what the account may do (the capability profile) and how the product degrades."""

from __future__ import annotations

import typer
from rich.table import Table

from posts import alerts, capabilities
from posts.timing import BEIJING
from scheduler import account_check
from scheduler.wechat_api import make_api
from wxbot import runtime
from wxbot.context import app_context, console, fail

app = typer.Typer(help="The account: what WeChat lets it do, checked against the real account.", no_args_is_help=True)


@app.command()
def check(ctx: typer.Context) -> None:
    """Probe the account (token, callback and API addresses, each API the product uses, daily quotas) and store
    the capability profile the menu, welcome and planner follow."""
    app_ctx = app_context(ctx)
    rt = runtime.attach(app_ctx.settings, clock=app_ctx.clock)
    try:
        api = make_api(rt.settings, rt.sessions, rt.clock)
    except RuntimeError as exc:
        rt.close()
        raise fail(str(exc)) from None
    try:
        with console.status("checking the account…") as status:
            found = account_check.check(
                api, rt.settings.wechat.account_type, progress=lambda step: status.update(f"checking {step}…")
            )
        with rt.sessions() as session:
            account_check.store(session, found, rt.clock)
            session.commit()
            _report(found, [a.message for a in alerts.open_alerts(session)])
    finally:
        api.close()
        rt.close()
    if not found.token_ok:
        raise fail(f"the access token was refused ({found.token_error}); nothing else could be checked")


@app.command()
def show(ctx: typer.Context) -> None:
    """The stored capability profile (the last `wxbot account check`), without calling WeChat."""
    app_ctx = app_context(ctx)
    rt = runtime.attach(app_ctx.settings, clock=app_ctx.clock)
    try:
        with rt.sessions() as session:
            profile = capabilities.current(session)
            if profile.checked_at is None:
                console.print("never checked: run `wxbot account check` (until then every capability is assumed)")
                return
            console.print(f"checked {profile.checked_at.astimezone(BEIJING):%Y-%m-%d %H:%M} (Asia/Shanghai)")
            _capabilities(profile.states)
            _degradations(profile)
            for detail in (a.message for a in alerts.open_alerts(session)):
                console.print(f"alert: {detail}", soft_wrap=True, markup=False)
    finally:
        rt.close()


def _report(found: account_check.Check, open_alerts: list[str]) -> None:
    console.print(f"account type (configured): {found.account_type}")
    console.print(f"access token: {'ok' if found.token_ok else 'refused: ' + found.token_error}", markup=False)
    if found.egress_ip:
        console.print(
            f"IP whitelist (40164): WeChat saw this server as {found.egress_ip}; add that address in the MP console "
            "(设置与开发 → 基本配置 → IP白名单). Do not whitelist 0.0.0.0/0.",
            soft_wrap=True,
            markup=False,
        )
    if found.callback_ips:
        console.print(f"WeChat pushes from {len(found.callback_ips)} addresses (getcallbackip)")
    if found.api_ips:
        console.print(f"api.weixin.qq.com answers from {len(found.api_ips)} addresses (get_api_domain_ip)")
    _capabilities(found.states)
    if found.quotas:
        table = Table("API", "daily limit", "used", "left", title="daily quotas (openapi/quota/get)")
        for path, quota in found.quotas.items():
            if "error" in quota:
                table.add_row(path, quota["error"], "", "")
            else:
                table.add_row(path, str(quota["daily_limit"]), str(quota["used"]), str(quota["remain"]))
        console.print(table)
    _degradations(found.profile)
    for detail in open_alerts:
        console.print(f"alert: {detail}", soft_wrap=True, markup=False)


def _capabilities(states: dict[str, dict[str, object]] | object) -> None:
    table = Table("capability", "state", "detail", title="what the account may do")
    for name, state in dict(states).items():  # type: ignore[call-overload]
        word = {
            capabilities.AVAILABLE: "available",
            capabilities.UNAUTHORIZED: "unavailable (48001)",
            capabilities.IP_BLOCKED: "blocked (40164 IP whitelist)",
        }.get(state["state"], f"unknown ({state.get('errcode')})")
        table.add_row(capabilities.NAMES.get(name, name), word, "" if word == "available" else str(state["detail"]))
    console.print(table)


def _degradations(profile: capabilities.Profile) -> None:
    lines = profile.degradations()
    if not lines:
        console.print("everything the product uses is available")
        return
    console.print("how the product degrades:")
    for line in lines:
        console.print(f"  - {line}", soft_wrap=True, markup=False)
