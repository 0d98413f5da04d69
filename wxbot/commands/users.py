"""`wxbot users`: the console's staff accounts — add, list, disable, reset-password (passwords are prompted)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from posts import accounts
from posts.accounts import AccountError
from posts.operators import ROLES
from wxbot.context import app_context, console, fail

app = typer.Typer(help="Staff accounts of the operator console.", no_args_is_help=True)


def _password() -> str:
    """Prompted twice, never echoed and never taken from the command line."""
    first = typer.prompt("Password", hide_input=True)
    second = typer.prompt("Repeat the password", hide_input=True)
    if first != second:
        raise fail("the two passwords differ; nothing changed")
    return first


@app.command()
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Sign-in name: letters, digits, '.', '_' or '-'.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")],
    name: Annotated[str, typer.Option("--name", help="The person's name as the console shows it.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who adds the account (audit log).")] = "cli",
) -> None:
    """Add a staff account; the password is asked for (twice)."""
    if role not in ROLES:
        raise fail(f"unknown role {role!r}: use {', '.join(ROLES)}")
    sessions = app_context(ctx).database()
    password = _password()
    with sessions() as session:
        try:
            accounts.add_user(session, username, role, password, by=by, now=app_context(ctx).clock(), display_name=name)
        except AccountError as exc:
            raise fail(str(exc)) from None
        session.commit()
    console.print(f"user {username} added ({role})")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every account, its role and whether it is active or locked."""
    sessions = app_context(ctx).database()
    now = app_context(ctx).clock()
    table = Table("user", "name", "role", "state")
    with sessions() as session:
        for user in accounts.list_users(session):
            state = "disabled" if not user.active else "active"
            if user.active and user.locked_until and user.locked_until > now:
                state = "locked"
            table.add_row(user.username, user.display_name, user.role, state)
    console.print(table)


@app.command()
def disable(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="Who disables it (audit log).")] = "cli",
) -> None:
    """Disable an account; its open sessions end at once."""
    sessions = app_context(ctx).database()
    with sessions() as session:
        try:
            accounts.disable_user(session, username, by=by, now=app_context(ctx).clock())
        except AccountError as exc:
            raise fail(str(exc)) from None
        session.commit()
    console.print(f"user {username} disabled; their sessions ended")


@app.command("reset-password")
def reset_password(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="Who resets it (audit log).")] = "cli",
) -> None:
    """A new password (asked for twice); unlocks the account and ends its sessions."""
    sessions = app_context(ctx).database()
    with sessions() as session:
        if accounts.find_user(session, username) is None:
            raise fail(f"no user {username!r}")
    password = _password()
    with sessions() as session:
        try:
            accounts.reset_password(session, username, password, by=by, now=app_context(ctx).clock())
        except AccountError as exc:
            raise fail(str(exc)) from None
        session.commit()
    console.print(f"password of {username} changed; the account is unlocked")
